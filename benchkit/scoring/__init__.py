"""L1 scoring: from metric values to task scores, suite scores and their confidence intervals. Nothing here reads a
task's data or imports a card: what is needed of a card or a suite is a Protocol that ``TaskCard`` and ``Suite``
meet, so the engine stays below the cards that use it. (The one file it reads: the ``score:`` blocks of the built-in
suite cards, which define the named rules ``glue``, ``superglue``, ``klej``, ...)

One job per module, lowest first (each imports only those above it in this list):

* ``rules``      suite score rules as data (``ScoreRule``, the ``score:`` block of a suite card) and the registry of
                 named rules (``SCORE_RULES``: the rules the built-in suite cards state, plus ``mean``)
* ``scores``     a task's score from its metrics, a suite's score by its rule, seed statistics
* ``task``       a card's metrics on one split (options the card implies, groups, resampling units)
* ``bootstrap``  the one resampling engine: every CI (splits, suites, drops, paired and unpaired differences), with
                 the resampling unit (example, group, pair) as a parameter, from the metrics' additive statistics
* ``split``      one split evaluated: every metric, the task score and its CI (``benchkit score``, runs)
"""
