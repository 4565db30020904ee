"""Hyperparameter search: spaces as data, strategies (grid, random, optuna), median pruning, the search driver and its report."""
