"""Versioned releases: run records + cards + data -> ``releases/<suite>/<version>/``.

Release reads run records only through the L0 schema (``benchkit.contracts.run_records``); it never imports train,
execute or search (running, then releasing, is the CLI's job). One job per module:

* ``collect``            read the run records of a suite and refuse mixtures (card versions, data hashes, duplicates)
* ``scores``             aggregate seeds per (model, method), suite score with a bootstrap CI over seeds and examples
* ``drops``              evaluation-only records (AdvGLUE): each entry's drop from its source runs' scores, with a CI
* ``searches``           the searches behind the entries' recipes: named in the texts, their reports copied in
* ``results``            one row per run -> ``results.parquet`` and ``results.jsonl``
* ``leaderboard``        ``leaderboard.html`` (self-contained: sortable table, plot) and ``leaderboard.md``
* ``datasheet``          ``datasheet.md``: per task description, licence, citation, split sizes, labels, data hashes
* ``templating``         the jinja2 environments of the release templates (escaping by output format)
* ``submission_writers`` official test-submission archives (``SUBMISSION_WRITERS``, keyed like
  ``benchkit.submission_formats.SUBMISSION_FORMATS``)
* ``submission_readers`` those archives read back (``SUBMISSION_READERS``, the same keys)
* ``manifest``           ``manifest.json``: versions and hashes of everything the release was built from
* ``build``              the orchestration: build in a temporary folder, then rename (immutable versions)
* ``verify``             recompute every hash of a release and report what changed
* ``hosted``             a hosted leaderboard: submission archives scored on private test labels, versioned
* ``publish``            a release as a Hugging Face Hub dataset repository
* ``prepare``            a task's validated canonical splits as parquet (the DVC ``prepare`` stage)
* ``dvc_pipeline``       ``dvc.yaml`` + ``params.yaml`` generated from the cards
"""
