"""Operator tools behind scripts/: thin, testable functions."""
