"""Frozen regression baseline: exact outputs of fixed runs (see regenerate.py)."""
