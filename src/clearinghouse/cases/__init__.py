"""Coordinated disclosure: cases, participants, vendor status, embargo, deadlines, messages."""
