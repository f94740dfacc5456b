"""The merge planner: which new findings join which vulnerabilities, as an incremental union-find.

The database keeps an index of identity keys (``dedup.fingerprint``) -> vulnerability. For each
batch of new findings the service looks up every key of the batch in that index and calls
:func:`plan` with what it found; the planner returns a :class:`Plan` that says, per connected
group of findings, which existing vulnerabilities it touches, which one survives, which are
merged into it, and which index entries to add. The rules:

* an **exact** key joins its holders unconditionally;
* a **location** key joins two holders only when their CWE sets are compatible, checked pairwise
  against every existing entry and every earlier new finding that holds the key;
* two sides are never joined when their existing vulnerabilities contain a pair an analyst
  separated; the finding then stays with the side holding the smallest vulnerability id and the
  refused join is reported in :attr:`Plan.blocked`, for the analyst to see as a suggestion.

Without separations the result is the set of connected components of the graph "shares an exact
key, or shares a location key with compatible CWEs", whatever the arrival order and batch sizes,
provided the service keeps one index entry per (key, vulnerability, CWE set) and re-points the
entries of merged vulnerabilities to the survivor. That is why compatibility is checked against
each stored CWE set rather than against a group's union of CWEs (which would make the answer
depend on who arrived first).

This module is pure: no database, no clock, no I/O. It does not allocate vulnerability ids,
write the index, move credits, or compute similarity suggestions (``dedup.similarity``).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence, Set
from dataclasses import dataclass

from clearinghouse.dedup.cwe import compatible_sets
from clearinghouse.dedup.fingerprint import IdentityKeys

CweSet = tuple[int, ...]
Compatible = Callable[[CweSet, CweSet], bool]

_NONE = 1 << 62  # sorts after every real vulnerability id and batch position


@dataclass(frozen=True, slots=True)
class IndexEntry:
    """One stored index row: ``key`` belongs to ``vulnerability``.

    ``cwes`` is the CWE set of the finding that contributed a location key (one row per distinct
    set); exact keys store ``()`` because they merge regardless of CWE.
    """

    key: str
    vulnerability: int
    cwes: CweSet = ()


@dataclass(frozen=True, slots=True)
class NewFinding:
    """A finding of the batch: ``ref`` is the caller's handle (row id or batch position)."""

    ref: int
    exact: tuple[str, ...]
    locations: tuple[str, ...]
    cwes: CweSet

    @classmethod
    def from_keys(cls, ref: int, keys: IdentityKeys) -> NewFinding:
        return cls(ref=ref, exact=keys.exact, locations=keys.locations, cwes=keys.cwes)


@dataclass(frozen=True, slots=True)
class Group:
    """New findings that are one vulnerability, and what already exists of it.

    ``survivor`` is the smallest existing id (stable, and the oldest in a sequence-allocated
    table); ``None`` means the service creates a new vulnerability. ``merged`` are the other
    existing ids, to be folded into the survivor (credits, aliases, index entries).
    """

    refs: tuple[int, ...]
    vulnerabilities: tuple[int, ...]
    survivor: int | None
    merged: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class NewIndexEntry:
    """An index row to add once ``group`` has its vulnerability id (survivor or new)."""

    key: str
    group: int
    cwes: CweSet


@dataclass(frozen=True, slots=True)
class BlockedMerge:
    """A join refused because an analyst separated the two sides.

    The finding ``ref`` (now in ``group``) matched ``vulnerability`` through ``key``; joining
    would have reunited separated vulnerabilities, so it is offered as a suggestion instead.
    ``vulnerability`` is already resolved through this plan's merges.
    """

    ref: int
    group: int
    vulnerability: int
    key: str


@dataclass(frozen=True, slots=True)
class Plan:
    """What to do with a batch. ``assignments[i]`` is the group of ``findings[i]``."""

    groups: tuple[Group, ...]
    assignments: tuple[int, ...]
    entries: tuple[NewIndexEntry, ...]
    blocked: tuple[BlockedMerge, ...]


class _Forest:
    """Union-find over batch findings (nodes ``0..n-1``) and existing vulnerabilities."""

    __slots__ = ("first", "parent", "partners", "vuln_node", "vulns")

    def __init__(self, size: int, partners: Mapping[int, Set[int]]) -> None:
        self.parent = list(range(size))
        self.first = list(range(size))  # smallest batch position in the set
        self.vulns: list[set[int]] = [set() for _ in range(size)]
        self.vuln_node: dict[int, int] = {}
        self.partners = partners

    def node_of_vulnerability(self, vulnerability: int) -> int:
        node = self.vuln_node.get(vulnerability)
        if node is None:
            node = len(self.parent)
            self.vuln_node[vulnerability] = node
            self.parent.append(node)
            self.first.append(_NONE)
            self.vulns.append({vulnerability})
        return node

    def find(self, node: int) -> int:
        parent = self.parent
        root = node
        while parent[root] != root:
            root = parent[root]
        while parent[node] != root:  # path compression keeps later finds O(1)
            parent[node], node = root, parent[node]
        return root

    def separated(self, a: int, b: int) -> bool:
        """Whether roots ``a`` and ``b`` hold a pair of vulnerabilities an analyst split."""
        left, right = self.vulns[a], self.vulns[b]
        if not left or not right or not self.partners:
            return False
        if len(left) > len(right):
            left, right = right, left
        for vulnerability in left:
            partners = self.partners.get(vulnerability)
            if partners and not partners.isdisjoint(right):
                return True
        return False

    def union(self, a: int, b: int) -> int:
        """Join roots ``a`` and ``b``; the smaller root index stays root (deterministic)."""
        if b < a:
            a, b = b, a
        self.parent[b] = a
        self.first[a] = min(self.first[a], self.first[b])
        small, large = sorted((self.vulns[a], self.vulns[b]), key=len)
        large |= small  # the smaller set moves: no quadratic copying as a group grows
        self.vulns[a] = large
        self.vulns[b] = set()
        return a

    def order(self, root: int) -> tuple[int, int]:
        """Sort key: the side with the smallest vulnerability id, then earliest finding."""
        vulns = self.vulns[root]
        return (min(vulns) if vulns else _NONE, self.first[root])


def plan(
    findings: Sequence[NewFinding],
    *,
    index: Mapping[str, Sequence[IndexEntry]],
    separated: Set[frozenset[int]] = frozenset(),
    compatible: Compatible = compatible_sets,
) -> Plan:
    """Plan the merges for ``findings`` (in arrival order) against the stored ``index``.

    ``index`` must hold the stored entries for every key of the batch (missing keys mean "no
    entry"); ``separated`` holds the analyst's splits as pairs of vulnerability ids (at least
    those touching the vulnerabilities in ``index``); ``compatible`` decides location merges
    (``dedup.cwe.compatible_sets`` unless a test or policy injects another).
    """
    refs = [finding.ref for finding in findings]
    if len(set(refs)) != len(refs):
        raise ValueError("plan: finding refs must be unique within a batch")
    known, rest = _split_known(findings, index)
    if not known:
        return _plan_graph(findings, index, separated, compatible)
    partial = _plan_graph(rest, index, separated, compatible)
    return _with_known(findings, rest, known, partial)


def _split_known(
    findings: Sequence[NewFinding], index: Mapping[str, Sequence[IndexEntry]]
) -> tuple[dict[int, int], list[NewFinding]]:
    """Findings already fully known: every key is stored, for exactly one vulnerability.

    Repeated scans are mostly such findings. Joining that vulnerability is the whole answer for
    them, and leaving them out of the graph changes nothing for the others: any finding that
    shares one of their keys reaches the same stored entry (same vulnerability, same CWEs)
    through the index. Returns ``position -> vulnerability`` and the findings left to plan.
    """
    known: dict[int, int] = {}
    rest: list[NewFinding] = []
    for position, finding in enumerate(findings):
        vulnerability = _sole_vulnerability(finding, index)
        if vulnerability is None:
            rest.append(finding)
        else:
            known[position] = vulnerability
    return known, rest


def _sole_vulnerability(
    finding: NewFinding, index: Mapping[str, Sequence[IndexEntry]]
) -> int | None:
    found: int | None = None
    for key in finding.exact:
        entries = index.get(key)
        if not entries:
            return None
        for entry in entries:
            if found is None:
                found = entry.vulnerability
            elif entry.vulnerability != found:
                return None
    if finding.cwes:
        for key in finding.locations:
            entries = index.get(key)
            if not entries:
                return None
            stored_here = False
            for entry in entries:
                if entry.vulnerability == found and entry.cwes == finding.cwes:
                    stored_here = True
                elif entry.vulnerability != found:
                    return None  # another vulnerability holds this place: let the graph decide
            if not stored_here:
                return None
    return found


def _with_known(
    findings: Sequence[NewFinding],
    rest: Sequence[NewFinding],
    known: Mapping[int, int],
    partial: Plan,
) -> Plan:
    """Fold the fully known findings back into the plan of the rest, in arrival order."""
    group_of_vulnerability: dict[int, int] = {}
    for number, group in enumerate(partial.groups):
        for vulnerability in group.vulnerabilities:
            group_of_vulnerability[vulnerability] = number
    groups = [list(group.refs) for group in partial.groups]
    extra: list[Group] = []
    assignments: list[int] = []
    rest_positions = iter(partial.assignments)
    for position, finding in enumerate(findings):
        joins = known.get(position)
        if joins is None:
            assignments.append(next(rest_positions))
            continue
        target = group_of_vulnerability.get(joins)
        if target is None:
            target = group_of_vulnerability[joins] = len(groups) + len(extra)
            extra.append(Group((), (joins,), joins, ()))
        if target < len(groups):
            groups[target].append(finding.ref)
        else:
            slot = target - len(groups)
            held = extra[slot]
            extra[slot] = Group((*held.refs, finding.ref), held.vulnerabilities, held.survivor, ())
        assignments.append(target)
    merged_groups = tuple(
        Group(tuple(refs), group.vulnerabilities, group.survivor, group.merged)
        for refs, group in zip(groups, partial.groups, strict=True)
    ) + tuple(extra)
    return Plan(
        groups=merged_groups,
        assignments=tuple(assignments),
        entries=partial.entries,
        blocked=partial.blocked,
    )


def _plan_graph(
    findings: Sequence[NewFinding],
    index: Mapping[str, Sequence[IndexEntry]],
    separated: Set[frozenset[int]],
    compatible: Compatible,
) -> Plan:
    """The union-find over the findings that need it (see the module docstring)."""

    partners: dict[int, set[int]] = defaultdict(set)
    for pair in separated:
        if len(pair) == 2:
            a, b = pair
            partners[a].add(b)
            partners[b].add(a)
    forest = _Forest(len(findings), partners)
    # Earlier findings of this batch per key; a new holder is kept only when it did not end up
    # in the same set as one already kept (that happens only when a separation blocked it).
    exact_holders: dict[str, list[int]] = defaultdict(list)
    location_holders: dict[str, dict[CweSet, list[int]]] = defaultdict(dict)
    blocked_events: list[tuple[int, int, str]] = []
    # Keys through which a finding matched a side it was kept from: the finding does not become
    # a holder of them, so the key keeps leading to the side that held it before the batch.
    contested: dict[int, set[str]] = {}

    for position, finding in enumerate(findings):
        matches: dict[int, list[str]] = defaultdict(list)  # node -> keys that matched it
        for key in finding.exact:
            for entry in index.get(key, ()):
                matches[forest.node_of_vulnerability(entry.vulnerability)].append(key)
            for node in exact_holders.get(key, ()):
                matches[node].append(key)
        cwes = finding.cwes
        if cwes:
            for key in finding.locations:
                for entry in index.get(key, ()):
                    if compatible(cwes, entry.cwes):
                        matches[forest.node_of_vulnerability(entry.vulnerability)].append(key)
                for other_cwes, nodes in location_holders.get(key, {}).items():
                    if compatible(cwes, other_cwes):
                        for node in nodes:
                            matches[node].append(key)

        roots: dict[int, list[str]] = defaultdict(list)
        for node, keys in matches.items():
            roots[forest.find(node)].extend(keys)
        own = position
        for root in sorted(roots, key=forest.order):
            if root == own:
                continue
            if forest.separated(own, root):
                keys = roots[root]
                blocked_events.append((position, min(forest.vulns[root]), keys[0]))
                contested.setdefault(position, set()).update(keys)
                continue
            own = forest.union(own, root)

        refused: Set[str] = contested.get(position, frozenset())
        for key in finding.exact:
            if key not in refused:
                _keep_holder(forest, exact_holders[key], position)
        if cwes:
            for key in finding.locations:
                if key not in refused:
                    _keep_holder(forest, location_holders[key].setdefault(cwes, []), position)

    return _assemble(findings, index, forest, blocked_events, contested)


def _keep_holder(forest: _Forest, holders: list[int], position: int) -> None:
    root = forest.find(position)
    if all(forest.find(node) != root for node in holders):
        holders.append(position)


def _assemble(
    findings: Sequence[NewFinding],
    index: Mapping[str, Sequence[IndexEntry]],
    forest: _Forest,
    blocked_events: list[tuple[int, int, str]],
    contested: Mapping[int, Set[str]],
) -> Plan:
    group_of_root: dict[int, int] = {}
    members: list[list[int]] = []
    assignments: list[int] = []
    for position in range(len(findings)):
        root = forest.find(position)
        group = group_of_root.get(root)
        if group is None:  # groups are numbered by their earliest finding
            group = group_of_root[root] = len(members)
            members.append([])
        members[group].append(position)
        assignments.append(group)

    groups: list[Group] = []
    entries: list[NewIndexEntry] = []
    for positions in members:
        vulns = forest.vulns[forest.find(positions[0])]
        ordered = tuple(sorted(vulns))
        groups.append(
            Group(
                refs=tuple(findings[p].ref for p in positions),
                vulnerabilities=ordered,
                survivor=ordered[0] if ordered else None,
                merged=ordered[1:],
            )
        )
        group = len(groups) - 1
        seen: set[tuple[str, CweSet]] = set()
        for position in positions:
            finding = findings[position]
            wanted: list[tuple[str, CweSet]] = [(key, ()) for key in finding.exact]
            if finding.cwes:
                wanted.extend((key, finding.cwes) for key in finding.locations)
            refused: Set[str] = contested.get(position, frozenset())
            for key, cwes in wanted:
                if (key, cwes) in seen or key in refused:
                    continue
                seen.add((key, cwes))
                stored = any(
                    entry.vulnerability in vulns and entry.cwes == cwes
                    for entry in index.get(key, ())
                )
                if not stored:
                    entries.append(NewIndexEntry(key=key, group=group, cwes=cwes))

    blocked: list[BlockedMerge] = []
    reported: set[tuple[int, int]] = set()
    for position, vulnerability, key in blocked_events:
        other_root = forest.find(forest.vuln_node[vulnerability])
        other = min(forest.vulns[other_root])
        group = assignments[position]
        if (group, other) in reported:
            continue
        reported.add((group, other))
        blocked.append(
            BlockedMerge(ref=findings[position].ref, group=group, vulnerability=other, key=key)
        )

    return Plan(
        groups=tuple(groups),
        assignments=tuple(assignments),
        entries=tuple(entries),
        blocked=tuple(blocked),
    )
