"""Clearinghouse: an open-source AI cybersecurity clearinghouse.

See ``docs/architecture.md`` for the map of the package and the layer order.
"""

__version__ = "0.1.0"
