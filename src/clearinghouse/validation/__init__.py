"""Reproduction of proofs in a sandbox, crash signatures and patch checks."""
