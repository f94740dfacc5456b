"""Advisories: compose CSAF/OSV/CVE/page documents, sign, lay out for a CSAF provider, deliver."""
