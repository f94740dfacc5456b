"""The CWE research view (1000) as a parent/child hierarchy, for "are these CWEs compatible?".

Two findings at the same place describe the same flaw when their weaknesses are the same or one
refines the other (CWE-787 "out-of-bounds write" is a kind of CWE-119 "buffer error"); siblings
such as CWE-787 and CWE-125 are different flaws. This module answers exactly that question from
the ``cwe2`` package's copy of view 1000 (only ``ChildOf`` edges that belong to view 1000, so the
graph is the one MITRE maintains for research and has a single set of pillars as roots).

It does not name or describe CWEs, map categories or views other than 1000, or follow
``PeerOf``/``CanPrecede`` links: those are "related", not "the same flaw". A CWE id absent from
view 1000 (a category, a deprecated entry, a typo) has no parents and is compatible only with
itself.

The table is read once, lazily, on first use (about 20 ms); every answer after that is a set
lookup.
"""

from __future__ import annotations

import csv
import functools
import importlib.resources
import io
import re
from collections.abc import Iterable, Mapping

_DATA_FILE = "database_v49/navigate_cwe/1000.csv"
_VIEW = "1000"
_CHILD_OF = re.compile(r"NATURE:ChildOf:CWE ID:(\d+):VIEW ID:(\d+)")


@functools.cache
def _parent_table() -> Mapping[int, frozenset[int]]:
    """CWE id -> its direct parents in view 1000, read from the packaged CSV once."""
    text = (importlib.resources.files("cwe2") / _DATA_FILE).read_text(encoding="utf-8")
    reader = csv.reader(io.StringIO(text, newline=""))
    header = next(reader)
    id_column = header.index("CWE-ID")
    related_column = header.index("Related Weaknesses")
    table: dict[int, frozenset[int]] = {}
    for row in reader:
        if len(row) <= related_column or not row[id_column].isdigit():
            continue
        parents = frozenset(
            int(parent) for parent, view in _CHILD_OF.findall(row[related_column]) if view == _VIEW
        )
        table[int(row[id_column])] = parents
    return table


def known(cwe: int) -> bool:
    """Whether ``cwe`` is a weakness in view 1000 (categories and views are not)."""
    return cwe in _parent_table()


def parents(cwe: int) -> frozenset[int]:
    """Direct ``ChildOf`` parents of ``cwe`` in view 1000; empty for pillars and unknown ids."""
    return _parent_table().get(cwe, frozenset())


@functools.cache
def ancestors(cwe: int) -> frozenset[int]:
    """Every transitive parent of ``cwe`` in view 1000, not including ``cwe`` itself."""
    found: set[int] = set()
    pending = list(parents(cwe))
    while pending:
        current = pending.pop()
        if current in found:
            continue
        found.add(current)
        pending.extend(parents(current))
    found.discard(cwe)  # view 1000 is acyclic today; stay correct if a cycle ever appears
    return frozenset(found)


def compatible(a: int, b: int) -> bool:
    """Same CWE, or one is a (transitive) ancestor of the other in view 1000.

    Siblings and cousins are not compatible: sharing a pillar says nothing about being the
    same flaw, it only says both are, say, resource-management errors.
    """
    return a == b or a in ancestors(b) or b in ancestors(a)


@functools.lru_cache(maxsize=65536)
def compatible_sets(a: tuple[int, ...], b: tuple[int, ...]) -> bool:
    """Whether any CWE of ``a`` is compatible with any CWE of ``b``.

    Empty sets are never compatible: a finding without a CWE gives no evidence that it is the
    flaw another finding at the same place names, so it is only *suggested* as a duplicate.
    Cached because a batch asks the same few pairs over and over.
    """
    return any(compatible(x, y) for x in a for y in b)


def normalise(cwes: Iterable[int]) -> tuple[int, ...]:
    """Sorted, de-duplicated, positive CWE ids: the form keys and caches expect."""
    return tuple(sorted({cwe for cwe in cwes if cwe > 0}))
