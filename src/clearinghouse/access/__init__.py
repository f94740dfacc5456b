"""Organizations, API tokens, roles and the TLP visibility rules."""
