"""Traffic Light Protocol 2.0 labels and their order of restriction.

Only the labels and their ordering live here; who may see what is decided in
``clearinghouse.access.visibility``.
"""

from __future__ import annotations

import enum

from clearinghouse.core.errors import InputError


class Tlp(enum.StrEnum):
    CLEAR = "CLEAR"
    GREEN = "GREEN"
    AMBER = "AMBER"
    AMBER_STRICT = "AMBER+STRICT"
    RED = "RED"

    @property
    def rank(self) -> int:
        """Higher is more restrictive."""
        return _RANK[self]

    @property
    def restricted(self) -> bool:
        """AMBER and above: reads are audited and visibility is limited."""
        return self.rank >= _RANK[Tlp.AMBER]

    @classmethod
    def parse(cls, text: str) -> Tlp:
        """Accept ``TLP:AMBER``, ``amber``, ``AMBER+STRICT`` and TLP 1.0's ``WHITE`` (= CLEAR)."""
        value = text.strip().upper().removeprefix("TLP:").replace(" ", "")
        if value == "WHITE":
            return cls.CLEAR
        try:
            return cls(value)
        except ValueError:
            allowed = ", ".join(label.value for label in cls)
            raise InputError(f"tlp: {text!r} is not a TLP 2.0 label (one of {allowed})") from None


_RANK = {Tlp.CLEAR: 0, Tlp.GREEN: 1, Tlp.AMBER: 2, Tlp.AMBER_STRICT: 3, Tlp.RED: 4}


def most_restrictive(labels: list[Tlp] | tuple[Tlp, ...]) -> Tlp:
    """The label a set of records must be handled under as a whole."""
    return max(labels, key=lambda label: label.rank, default=Tlp.CLEAR)
