"""Inventories (SBOMs) of what operators run, and which advisories affect it."""
