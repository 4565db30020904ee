"""Versioned releases: run records + cards + data -> ``releases/<suite>/<version>/``.

One job per module:

* ``collect``      read the run records of a suite and refuse mixtures (card versions, data hashes, duplicates)
* ``scores``       aggregate seeds per (model, method), suite score with a bootstrap CI over seeds and examples
* ``drops``        evaluation-only records (AdvGLUE): each entry's drop from its source runs' scores, with a CI
* ``results``      one row per run -> ``results.parquet`` and ``results.jsonl``
* ``leaderboard``  ``leaderboard.html`` (self-contained: sortable table, plot) and ``leaderboard.md``
* ``datasheet``    ``datasheet.md``: per task description, licence, citation, split sizes, labels, data hashes
* ``submissions``  official test-submission archives (SUBMISSION_WRITERS, keyed like ``SUBMISSION_FORMATS``)
* ``manifest``     ``manifest.json``: versions and hashes of everything the release was built from
* ``build``        the orchestration: build in a temporary folder, then rename (immutable versions)
* ``verify``       recompute every hash of a release and report what changed
* ``prepare``      a task's validated canonical splits as parquet (the DVC ``prepare`` stage)
* ``dvc_pipeline`` ``dvc.yaml`` + ``params.yaml`` generated from the cards
"""
