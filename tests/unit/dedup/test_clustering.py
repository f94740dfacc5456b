"""The merge planner, driven through an in-memory simulator of the database service.

The simulator does what ``dedup.service`` does with a plan: look up the batch's keys, allocate
vulnerability ids, fold merged vulnerabilities into the survivor (re-pointing their index
entries) and store the new entries. The central property: the partition of findings into
vulnerabilities is the connected components of "shares an exact key, or shares a location key
with compatible CWEs", whatever the arrival order and batch sizes.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Iterable, Sequence

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clearinghouse.dedup.clustering import IndexEntry, NewFinding, Plan, plan
from clearinghouse.dedup.cwe import compatible_sets
from clearinghouse.dedup.fingerprint import identity_keys
from clearinghouse.formats.records import FindingRecord, Location

Partition = frozenset[frozenset[int]]


class Simulator:
    """A fake index and vulnerability table that applies plans like the service would."""

    def __init__(self, *, first_id: int = 1) -> None:
        self.index: dict[str, list[IndexEntry]] = defaultdict(list)
        self.vulnerability_of: dict[int, int] = {}  # finding ref -> vulnerability id
        self.separated: set[frozenset[int]] = set()
        self.next_id = first_id
        self.plans: list[Plan] = []

    def submit(self, findings: Sequence[NewFinding]) -> Plan:
        keys = {k for f in findings for k in (*f.exact, *f.locations)}
        lookup = {k: list(self.index[k]) for k in keys if self.index.get(k)}
        result = plan(findings, index=lookup, separated=self.separated)
        self.apply(result)
        self.plans.append(result)
        return result

    def apply(self, result: Plan) -> None:
        ids: list[int] = []
        for group in result.groups:
            if group.survivor is None:
                vid = self.next_id
                self.next_id += 1
            else:
                vid = group.survivor
            for merged in group.merged:
                self._fold(merged, into=vid)
            for ref in group.refs:
                self.vulnerability_of[ref] = vid
            ids.append(vid)
        for entry in result.entries:
            self._add(IndexEntry(entry.key, ids[entry.group], entry.cwes))

    def _fold(self, merged: int, *, into: int) -> None:
        for ref, vid in self.vulnerability_of.items():
            if vid == merged:
                self.vulnerability_of[ref] = into
        for key, entries in list(self.index.items()):
            moved = [
                IndexEntry(e.key, into if e.vulnerability == merged else e.vulnerability, e.cwes)
                for e in entries
            ]
            self.index[key] = list(dict.fromkeys(moved))  # one row per (key, vuln, cwes)

    def _add(self, entry: IndexEntry) -> None:
        if entry not in self.index[entry.key]:
            self.index[entry.key].append(entry)

    def partition(self) -> Partition:
        groups: dict[int, set[int]] = defaultdict(set)
        for ref, vid in self.vulnerability_of.items():
            groups[vid].add(ref)
        return frozenset(frozenset(g) for g in groups.values())


def components(findings: Sequence[NewFinding]) -> Partition:
    """The reference answer: connected components by brute force over all pairs."""
    parent = {f.ref: f.ref for f in findings}

    def find(x: int) -> int:
        while parent[x] != x:
            x = parent[x]
        return x

    for i, a in enumerate(findings):
        for b in findings[i + 1 :]:
            exact = not set(a.exact).isdisjoint(b.exact)
            located = not set(a.locations).isdisjoint(b.locations) and compatible_sets(
                a.cwes, b.cwes
            )
            if exact or located:
                parent[find(a.ref)] = find(b.ref)
    groups: dict[int, set[int]] = defaultdict(set)
    for f in findings:
        groups[find(f.ref)].add(f.ref)
    return frozenset(frozenset(g) for g in groups.values())


def batches(findings: Sequence[NewFinding], sizes: Iterable[int]) -> list[list[NewFinding]]:
    out: list[list[NewFinding]] = []
    rest = list(findings)
    for size in sizes:
        if not rest:
            break
        out.append(rest[:size])
        rest = rest[size:]
    if rest:
        out.append(rest)
    return out


def run(findings: Sequence[NewFinding], sizes: Iterable[int] = ()) -> Partition:
    simulator = Simulator()
    for batch in batches(findings, sizes):
        simulator.submit(batch)
    return simulator.partition()


def finding(
    ref: int,
    *,
    exact: Iterable[str] = (),
    locations: Iterable[str] = (),
    cwes: Iterable[int] = (),
) -> NewFinding:
    return NewFinding(
        ref=ref,
        exact=tuple(sorted(set(exact))),
        locations=tuple(sorted(set(locations))),
        cwes=tuple(sorted(set(cwes))),
    )


# ---- the order-independence property ------------------------------------------------------

CWE_POOL = [119, 787, 125, 20, 79, 664]

findings_strategy = st.lists(
    st.tuples(
        st.sets(st.sampled_from([f"x{i}" for i in range(8)]), max_size=2),
        st.sets(st.sampled_from([f"l{i}" for i in range(4)]), max_size=2),
        st.sets(st.sampled_from(CWE_POOL), max_size=2),
    ),
    min_size=1,
    max_size=30,
).map(
    lambda rows: [finding(i, exact=e, locations=loc, cwes=c) for i, (e, loc, c) in enumerate(rows)]
)


@settings(max_examples=300, deadline=None)
@given(findings=findings_strategy, data=st.data())
def test_partition_is_the_same_for_any_order_and_batching(
    findings: list[NewFinding], data: st.DataObject
) -> None:
    expected = components(findings)
    assert run(findings, [len(findings)]) == expected
    order = data.draw(st.permutations(findings), label="order")
    sizes = data.draw(st.lists(st.integers(1, 6), max_size=30), label="batch sizes")
    assert run(order, sizes) == expected


@settings(max_examples=100, deadline=None)
@given(findings=findings_strategy)
def test_one_at_a_time_equals_one_shot(findings: list[NewFinding]) -> None:
    assert run(findings, [1] * len(findings)) == run(findings, [len(findings)])


# ---- the rules, one at a time -------------------------------------------------------------


def sarif(
    *,
    producer: str = "CodeQL",
    fingerprints: tuple[tuple[str, str], ...] = (),
    aliases: tuple[str, ...] = (),
    path: str | None = None,
    line: int | None = None,
    snippet: str | None = None,
    cwes: tuple[int, ...] = (),
    title: str = "a finding",
) -> FindingRecord:
    return FindingRecord(
        format="sarif",
        pointer="/runs/0/results/0",
        producer=producer,
        title=title,
        rule_id="rule",
        cwes=cwes,
        location=Location(path=path, start_line=line, snippet=snippet) if path else None,
        fingerprints=fingerprints,
        aliases=aliases,
    )


def keyed(
    records: Sequence[FindingRecord], target: str | None = "https://x.org/r"
) -> list[NewFinding]:
    return [
        NewFinding.from_keys(ref, identity_keys(r, target=target)) for ref, r in enumerate(records)
    ]


def test_alias_closure_is_transitive_in_any_order() -> None:
    records = [
        sarif(producer="nvd", aliases=("CVE-2024-0001", "GHSA-xxxx-yyyy-zzzz")),
        sarif(producer="github", aliases=("ghsa-XXXX-yyyy-zzzz", "PYSEC-2024-7")),
        sarif(producer="pypa", aliases=("pysec-2024-7",)),
        sarif(producer="other", aliases=("CVE-2024-0002",)),
    ]
    findings = keyed(records)
    expected = frozenset({frozenset({0, 1, 2}), frozenset({3})})
    for order in ([0, 1, 2, 3], [2, 0, 3, 1], [3, 2, 1, 0]):
        ordered = [findings[i] for i in order]
        assert run(ordered) == expected
        assert run(ordered, [1, 1, 1, 1]) == expected
    # C arrives first alone, then A: still apart until B bridges them, then one vulnerability.
    simulator = Simulator()
    simulator.submit([findings[2]])
    simulator.submit([findings[0]])
    assert simulator.partition() == frozenset({frozenset({2}), frozenset({0})})
    bridge = simulator.submit([findings[1]])
    assert bridge.groups[0].vulnerabilities == (1, 2)
    assert bridge.groups[0].survivor == 1
    assert bridge.groups[0].merged == (2,)
    assert simulator.partition() == frozenset({frozenset({0, 1, 2})})


def test_same_fingerprint_same_producer_merges_other_producer_does_not() -> None:
    fp = (("primaryLocationLineHash", "abc:1"),)
    findings = keyed(
        [
            sarif(producer="CodeQL", fingerprints=fp),
            sarif(producer="codeql", fingerprints=fp),
            sarif(producer="Semgrep", fingerprints=fp),
        ]
    )
    assert run(findings) == frozenset({frozenset({0, 1}), frozenset({2})})


@pytest.mark.parametrize(
    ("first", "second", "merged"),
    [
        ((787,), (787,), True),
        ((787,), (119,), True),  # child and parent
        ((119,), (787,), True),
        ((787,), (125,), False),  # siblings
        ((79,), (89,), False),
        ((787,), (), False),  # no CWE, no evidence
        ((), (), False),
    ],
)
def test_location_merge_needs_compatible_cwes(
    first: tuple[int, ...], second: tuple[int, ...], merged: bool
) -> None:
    findings = keyed(
        [
            sarif(producer="CodeQL", path="src/a.c", line=10, cwes=first),
            sarif(producer="Semgrep", path="./src/a.c", line=10, cwes=second),
        ]
    )
    expected = {frozenset({0, 1})} if merged else {frozenset({0}), frozenset({1})}
    assert run(findings) == frozenset(expected)


def test_snippet_key_merges_across_line_shift() -> None:
    findings = keyed(
        [
            sarif(path="src/a.c", line=10, snippet="  free(p);", cwes=(416,)),
            sarif(producer="Other", path="src/a.c", line=14, snippet="free(p);\n", cwes=(416,)),
        ]
    )
    assert run(findings) == frozenset({frozenset({0, 1})})


def test_parent_bridges_siblings_whatever_the_order() -> None:
    loc = ["l"]
    write = finding(0, locations=loc, cwes=[787])
    read = finding(1, locations=loc, cwes=[125])
    parent = finding(2, locations=loc, cwes=[119])
    for order in ([write, read, parent], [parent, write, read], [read, parent, write]):
        assert run(order, [1, 1, 1]) == frozenset({frozenset({0, 1, 2})})
    assert run([write, read]) == frozenset({frozenset({0}), frozenset({1})})


def test_new_keys_become_index_entries_once() -> None:
    simulator = Simulator()
    first = simulator.submit(
        [
            finding(0, exact=["a"], locations=["l"], cwes=[787]),
            finding(1, exact=["a"], locations=["l"], cwes=[787]),
            finding(2, exact=["b"], locations=["m"]),  # no CWE: no location entry
        ]
    )
    assert [(e.key, e.group, e.cwes) for e in first.entries] == [
        ("a", 0, ()),
        ("l", 0, (787,)),
        ("b", 1, ()),
    ]
    again = simulator.submit([finding(3, exact=["a"], locations=["l"], cwes=[119])])
    assert again.groups[0].survivor == 1
    assert [(e.key, e.cwes) for e in again.entries] == [("l", (119,))]


def test_existing_vulnerabilities_are_merged_into_the_smallest() -> None:
    index = {
        "a": [IndexEntry("a", 7)],
        "b": [IndexEntry("b", 3)],
        "l": [IndexEntry("l", 5, (119,)), IndexEntry("l", 9, (125,))],
    }
    result = plan([finding(0, exact=["a", "b"], locations=["l"], cwes=[787])], index=index)
    (group,) = result.groups
    assert group.vulnerabilities == (3, 5, 7)
    assert group.survivor == 3
    assert group.merged == (5, 7)
    assert result.blocked == ()


def test_separated_vulnerabilities_are_never_reunited() -> None:
    index = {"a": [IndexEntry("a", 4)], "b": [IndexEntry("b", 2)]}
    result = plan([finding(10, exact=["a", "b"])], index=index, separated={frozenset({2, 4})})
    (group,) = result.groups
    assert group.survivor == 2  # joins the side with the smallest id
    assert group.merged == ()
    assert [(b.ref, b.group, b.vulnerability, b.key) for b in result.blocked] == [(10, 0, 4, "a")]
    # "a" still leads to 4 only: the finding did not take the contested key with it
    assert result.entries == ()


def test_separation_holds_across_a_bridge_inside_the_batch() -> None:
    index = {"a": [IndexEntry("a", 2)], "b": [IndexEntry("b", 1)]}
    findings = [finding(0, exact=["a", "c"]), finding(1, exact=["b", "c"])]
    result = plan(findings, index=index, separated={frozenset({1, 2})})
    assert [(g.refs, g.survivor) for g in result.groups] == [((0,), 2), ((1,), 1)]
    assert [(b.ref, b.vulnerability) for b in result.blocked] == [(1, 2)]


def test_separation_sticks_through_the_simulator() -> None:
    simulator = Simulator()
    simulator.submit([finding(0, exact=["a"])])
    simulator.submit([finding(1, exact=["b"])])
    simulator.separated.add(frozenset({1, 2}))
    simulator.submit([finding(2, exact=["a", "b"]), finding(3, exact=["b"])])
    assert simulator.partition() == frozenset({frozenset({0, 2}), frozenset({1, 3})})


def test_plan_is_deterministic_and_independent_of_index_row_order() -> None:
    rng = random.Random(7)
    findings = [
        finding(
            i,
            exact=rng.sample(["a", "b", "c", "d"], 1),
            locations=rng.sample(["l", "m"], 1),
            cwes=rng.sample([119, 787, 125], 1),
        )
        for i in range(40)
    ]
    index = {
        "a": [IndexEntry("a", 5), IndexEntry("a", 3)],
        "l": [IndexEntry("l", 8, (787,)), IndexEntry("l", 6, (125,))],
    }
    separated = {frozenset({3, 6})}
    first = plan(findings, index=index, separated=separated)
    assert plan(findings, index=index, separated=separated) == first
    reversed_rows = {k: list(reversed(v)) for k, v in index.items()}
    assert plan(findings, index=reversed_rows, separated=separated) == first


def test_refs_must_be_unique() -> None:
    with pytest.raises(ValueError, match="unique"):
        plan([finding(1), finding(1)], index={})


def test_empty_batch_is_an_empty_plan() -> None:
    assert plan([], index={}) == Plan(groups=(), assignments=(), entries=(), blocked=())


@settings(max_examples=200, deadline=None)
@given(
    findings=findings_strategy,
    stored=st.lists(
        st.tuples(
            st.sampled_from([f"x{i}" for i in range(8)] + [f"l{i}" for i in range(4)]),
            st.integers(1, 6),
            st.sets(st.sampled_from(CWE_POOL), max_size=2),
        ),
        max_size=12,
    ),
    separated=st.sets(
        st.frozensets(st.integers(1, 6), min_size=2, max_size=2),
        max_size=6,
    ),
)
def test_no_group_ever_holds_a_separated_pair(
    findings: list[NewFinding],
    stored: list[tuple[str, int, set[int]]],
    separated: set[frozenset[int]],
) -> None:
    index: dict[str, list[IndexEntry]] = defaultdict(list)
    for key, vulnerability, cwes in stored:
        exact = key.startswith("x")
        index[key].append(IndexEntry(key, vulnerability, () if exact else tuple(sorted(cwes))))
    result = plan(findings, index=index, separated=separated)
    assert sorted(ref for g in result.groups for ref in g.refs) == [f.ref for f in findings]
    for group in result.groups:
        vulns = set(group.vulnerabilities)
        assert not any(pair <= vulns for pair in separated)
        assert group.survivor == (min(vulns) if vulns else None)
    for blocked in result.blocked:
        assert blocked.vulnerability not in result.groups[blocked.group].vulnerabilities
    if not separated:
        assert result.blocked == ()
