"""Scan coordination and deconfliction: scope, authorizations, campaigns, leases, lookups."""
