"""Executing run plans: the plan (suite x models x methods x seeds), executors, progress."""
