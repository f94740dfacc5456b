"""Stdlib-only kernel shared by every layer: errors, TLP, identifiers and the clock."""
