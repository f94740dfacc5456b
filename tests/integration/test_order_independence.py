"""Clustering through the whole pipeline does not depend on the order of submissions.

The pure planner is property-tested in ``tests/unit/dedup``; this runs the real thing (readers,
keys, index lookups and caches, merges, the database) on random native-format submissions from
two organizations, imported in two different orders into two fresh databases, and compares the
resulting partitions of findings.
"""

from __future__ import annotations

import itertools
import uuid
from pathlib import Path

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from clearinghouse.access import service as access_service
from clearinghouse.access.roles import OrgKind
from clearinghouse.infra.settings import Settings
from clearinghouse.intake.models import Finding
from clearinghouse.pipeline.runtime import Runtime
from tests.conftest import POSTGRES_URL, _reset_postgres
from tests.integration.helpers import import_bytes

REPO = "https://git.example.org/acme/demo"

finding = st.fixed_dictionaries(
    {
        "target": st.just(REPO),
        "title": st.sampled_from(["overflow", "bad read", "leak"]),
        "provenance": st.just({"tool": "agent"}),
    },
    optional={
        "file": st.sampled_from(["a.c", "b.c"]),
        "line": st.integers(1, 4),
        "cwe": st.sampled_from([119, 787, 125, 20, 79]),
        "aliases": st.lists(
            st.sampled_from(["CVE-2026-1", "CVE-2026-2", "GHSA-aaaa-bbbb-cccc"]),
            max_size=2,
            unique=True,
        ),
        "fingerprint": st.sampled_from(["f1", "f2"]),
        "snippet": st.sampled_from(["memcpy(d, s, n);", "x = y[i];"]),
    },
)
submissions = st.lists(
    st.tuples(st.sampled_from(["Lab A", "Lab B"]), st.lists(finding, min_size=1, max_size=5)),
    min_size=2,
    max_size=4,
)


def _partition(
    base: Path, order: list[tuple[int, str, list[dict[str, object]]]]
) -> set[frozenset[tuple[int, int]]]:
    data_dir = base / uuid.uuid4().hex
    if POSTGRES_URL:
        _reset_postgres(POSTGRES_URL)
    runtime = Runtime.from_settings(Settings(data_dir=data_dir, database_url=POSTGRES_URL))
    runtime.ensure_schema()
    try:
        with runtime.db.session() as session:
            for name in ("Lab A", "Lab B"):
                access_service.create_org(
                    session, name=name, kind=OrgKind.AI_LAB, sector=None, clock=runtime.clock
                )
        origin: dict[int, int] = {}  # submission id -> the submission's number in the draw
        for number, org, findings in order:
            # The number makes every document distinct, so no import is "already imported".
            doc = {
                "format": "clearinghouse-findings",
                "version": "1.0",
                "x-draw": number,
                "findings": findings,
            }
            outcome = import_bytes(runtime, org, orjson.dumps(doc))
            origin[outcome.submission] = number
        clusters: dict[int, set[tuple[int, int]]] = {}
        with runtime.db.session() as session:
            for submission, seq, vulnerability in session.execute(
                select(Finding.submission_id, Finding.seq, Finding.vulnerability_id)
            ):
                clusters.setdefault(vulnerability, set()).add((origin[submission], seq))
        return {frozenset(members) for members in clusters.values()}
    finally:
        runtime.close()


@settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(drawn=submissions, data=st.data())
def test_any_order_gives_the_same_clusters(
    tmp_path: Path, drawn: list[tuple[str, list[dict[str, object]]]], data: st.DataObject
) -> None:
    numbered = [(n, org, findings) for n, (org, findings) in enumerate(drawn)]
    shuffled = data.draw(st.permutations(numbered))
    assert _partition(tmp_path, numbered) == _partition(tmp_path, list(shuffled))


def test_a_known_chain_links_across_orders(tmp_path: Path) -> None:
    """A{CVE-1}, B{CVE-1, GHSA}, C{GHSA}: one cluster whichever arrives first."""
    a: dict[str, object] = {
        "target": REPO,
        "title": "a",
        "provenance": {"tool": "t"},
        "aliases": ["CVE-2026-1"],
    }
    b = {**a, "title": "b", "aliases": ["CVE-2026-1", "GHSA-aaaa-bbbb-cccc"]}
    c = {**a, "title": "c", "aliases": ["GHSA-aaaa-bbbb-cccc"]}
    base: list[tuple[int, str, list[dict[str, object]]]] = [
        (0, "Lab A", [a]),
        (1, "Lab B", [c]),
        (2, "Lab A", [b]),
    ]
    results = {frozenset(_partition(tmp_path, list(p))) for p in itertools.permutations(base)}
    assert results == {frozenset({frozenset({(0, 1), (1, 1), (2, 1)})})}
