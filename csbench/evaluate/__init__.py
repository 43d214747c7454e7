"""Evaluation: materialize any csbench model, decode a test set, store raw predictions."""
