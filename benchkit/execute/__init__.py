"""Executing run plans (L5): the plan (suite x models x methods x seeds), run claims, executors (local, packed,
Slurm), progress, and evaluation-only suites. Releasing the runs is the CLI's step (``cli.run``)."""
