"""Deduplication: identity keys, CWE compatibility, clustering plans, and analyst suggestions."""
