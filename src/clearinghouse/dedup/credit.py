"""Who found a vulnerability, in order: pure rules over (submission, seq, org, visible) tuples.

Credit goes by submission order (the submission id is allocated at import, so it is the order
in which the clearinghouse received the reports), then by position inside the submission. Each
organization is listed once, at its earliest finding. An organization whose findings the viewer
may not see is listed as ``(restricted)`` so that credit order stays truthful without naming it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

RESTRICTED = "(restricted)"


@dataclass(frozen=True, slots=True)
class Contribution:
    submission_id: int
    seq: int
    organization: str
    visible: bool


def finders(contributions: Iterable[Contribution]) -> list[str]:
    ordered = sorted(contributions, key=lambda c: (c.submission_id, c.seq))
    names: list[str] = []
    seen: set[str] = set()
    for item in ordered:
        if item.organization in seen:
            continue
        seen.add(item.organization)
        names.append(item.organization if item.visible else RESTRICTED)
    return names
