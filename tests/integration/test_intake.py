"""Importing documents through the whole pipeline: results, idempotence, refusals, atomicity."""

from __future__ import annotations

import orjson
import pytest

from clearinghouse.access.visibility import LOCAL_ADMIN
from clearinghouse.core.errors import (
    DecodeError,
    SchemaError,
    TooLargeError,
    UnknownFormatError,
)
from clearinghouse.core.tlp import Tlp
from clearinghouse.infra.settings import Settings
from clearinghouse.intake import service as intake_service
from clearinghouse.pipeline import read_flow
from clearinghouse.pipeline.runtime import Runtime
from tests.conftest import POSTGRES_URL, OrgFactory, _reset_postgres
from tests.integration.helpers import demo_asset, import_bytes, snapshot


def test_import_reports_counts_and_clusters_across_tools(
    runtime: Runtime, make_org: OrgFactory
) -> None:
    make_org("Lab A")
    make_org("Lab B")
    first = import_bytes(runtime, "Lab A", demo_asset("lab-alpha.sarif"))
    assert (first.format, first.findings, first.new_vulnerabilities, first.duplicates) == (
        "sarif",
        3,
        3,
        0,
    )
    assert first.already_imported is False
    assert first.tlp == "AMBER"  # restricted unless the submitter says otherwise

    second = import_bytes(runtime, "Lab B", demo_asset("lab-beta.sarif"))
    # Same memcpy (snippet, line shifted, CWE-119 parent of 787) and same allocation line
    # (CWE-680 child of 190) merge; the out-of-bounds read on another line does not.
    assert (second.findings, second.new_vulnerabilities, second.duplicates) == (3, 1, 2)
    assert len(second.already_known) == 2

    vulns = read_flow.list_vulns(
        runtime.db, viewer=LOCAL_ADMIN, clock=runtime.clock, search=None, limit=100, offset=0
    )
    merged = [v for v in vulns if v["findings"] == 2]
    assert len(merged) == 2
    for vuln in merged:
        assert vuln["finders"] == ["Lab A", "Lab B"]
        assert vuln["first_finder"] == "Lab A"


def test_aliases_merge_across_formats(runtime: Runtime, make_org: OrgFactory) -> None:
    make_org("Lab B")
    make_org("CC")
    make_org("Acme")
    import_bytes(runtime, "Lab B", demo_asset("lab-beta-agent.json"))
    for name, org in (
        ("public-osv.json", "CC"),
        ("public-cve.json", "CC"),
        ("vendor-csaf.json", "Acme"),
    ):
        outcome = import_bytes(runtime, org, demo_asset(name), tlp=Tlp.CLEAR)
        assert outcome.new_vulnerabilities == 0, name
        assert outcome.duplicates == 1
    (vuln,) = read_flow.list_vulns(
        runtime.db, viewer=LOCAL_ADMIN, clock=runtime.clock, search=None, limit=10, offset=0
    )
    assert vuln["aliases"] == ["CVE-2026-99001", "GHSA-7f3x-2m9q-wv4p"]
    assert vuln["finders"] == ["Lab B", "CC", "Acme"]
    assert vuln["findings"] == 4


def test_same_bytes_again_change_nothing(runtime: Runtime, make_org: OrgFactory) -> None:
    make_org("Lab A")
    data = demo_asset("lab-alpha.sarif")
    first = import_bytes(runtime, "Lab A", data)
    before = snapshot(runtime)
    again = import_bytes(runtime, "Lab A", data)
    assert again.already_imported is True
    assert again.submission == first.submission
    assert again.findings == first.findings
    assert snapshot(runtime) == before


def test_same_bytes_from_another_organization_credit_a_second_finder(
    runtime: Runtime, make_org: OrgFactory
) -> None:
    make_org("Lab A")
    make_org("Lab B")
    data = demo_asset("lab-alpha.sarif")
    import_bytes(runtime, "Lab A", data)
    other = import_bytes(runtime, "Lab B", data)
    assert other.already_imported is False
    assert (other.new_vulnerabilities, other.duplicates) == (0, 3)


def test_later_submitter_learns_only_the_id(runtime: Runtime, make_org: OrgFactory) -> None:
    make_org("Lab A")
    make_org("Lab B")
    import_bytes(runtime, "Lab A", demo_asset("lab-alpha.sarif"), tlp=Tlp.AMBER)
    outcome = import_bytes(runtime, "Lab B", demo_asset("lab-beta.sarif"), tlp=Tlp.AMBER)
    assert outcome.already_known  # told "already known" with the ids
    with runtime.db.session() as session:
        from clearinghouse.access import service as access_service

        lab_b = access_service.viewer_for_org(
            access_service.get_org_by_name_or_raise(session, name="Lab B")
        )
    shown = read_flow.show_vuln(
        runtime.db, viewer=lab_b, clock=runtime.clock, public_id=outcome.already_known[0]
    )
    organizations = {f["organization"] for f in shown["findings_detail"]}
    assert organizations == {"Lab B"}  # Lab A's AMBER finding stays hidden
    assert shown["finders"] == ["(restricted)", "Lab B"]
    assert shown["first_finder"] == "(restricted)"
    assert "Alpha" not in orjson.dumps(shown).decode()


BAD_DOCUMENTS = [
    pytest.param(b'{"runs": [', DecodeError, id="truncated-json"),
    pytest.param(b"\x00\x01\x02binary", DecodeError, id="binary"),
    pytest.param(b"", DecodeError, id="empty"),
    pytest.param(b'{"hello": "world"}', UnknownFormatError, id="unknown-format"),
    pytest.param(b"[" * 5000 + b"]" * 5000, DecodeError, id="deep-nesting"),
    pytest.param(b"a: &x [1]\nb: *x\n", DecodeError, id="yaml-alias"),
    pytest.param(
        b'{"version": "2.1.0", "runs": [{"tool": {"driver": {}}}]}', SchemaError, id="sarif-schema"
    ),
]


@pytest.mark.parametrize(("data", "error"), BAD_DOCUMENTS)
def test_bad_documents_are_refused_and_nothing_is_stored(
    runtime: Runtime, make_org: OrgFactory, data: bytes, error: type[Exception]
) -> None:
    make_org("Lab A")
    import_bytes(runtime, "Lab A", demo_asset("lab-alpha.sarif"))
    before = snapshot(runtime)
    with pytest.raises(error):
        import_bytes(runtime, "Lab A", data)
    assert snapshot(runtime) == before


def test_schema_error_names_the_pointer(runtime: Runtime, make_org: OrgFactory) -> None:
    make_org("Lab A")
    broken = demo_asset("lab-alpha.sarif").replace(b'"startLine": 44', b'"startLine": -4')
    with pytest.raises(SchemaError) as caught:
        import_bytes(runtime, "Lab A", broken)
    assert caught.value.pointer == "/runs/0/results/1/locations/0/physicalLocation/region/startLine"


def test_huge_string_is_refused(settings: Settings, make_org: OrgFactory) -> None:
    runtime = Runtime.from_settings(settings.model_copy(update={"max_string_chars": 1000}))
    runtime.ensure_schema()
    make_org("Lab A")
    doc = orjson.loads(demo_asset("lab-beta-agent.json"))
    doc["findings"][0]["description"] = "A" * 5000
    before = snapshot(runtime)
    with pytest.raises(SchemaError) as caught:
        import_bytes(runtime, "Lab A", orjson.dumps(doc))
    assert "/findings/0/description" in str(caught.value)
    assert snapshot(runtime) == before


def test_oversized_upload_is_refused_while_streaming(
    settings: Settings, make_org: OrgFactory
) -> None:
    runtime = Runtime.from_settings(settings.model_copy(update={"max_upload_bytes": 1024}))
    runtime.ensure_schema()
    make_org("Lab A")
    before = snapshot(runtime)
    with pytest.raises(TooLargeError):
        import_bytes(runtime, "Lab A", demo_asset("lab-alpha.sarif"))
    assert snapshot(runtime) == before
    assert not list(runtime.settings.blob_dir.rglob(".incoming-*"))


def test_failure_midway_leaves_the_database_as_it_was(
    runtime: Runtime, make_org: OrgFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_org("Lab A")
    make_org("Lab B")
    import_bytes(runtime, "Lab A", demo_asset("lab-alpha.sarif"))
    before = snapshot(runtime)
    calls = {"n": 0}
    real_insert = intake_service.insert_findings

    def failing_insert(session, *, rows):  # type: ignore[no-untyped-def]
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("disk unplugged")
        real_insert(session, rows=rows)

    monkeypatch.setattr(intake_service, "insert_findings", failing_insert)
    with pytest.raises(RuntimeError, match="disk unplugged"):
        import_bytes(runtime, "Lab B", demo_asset("lab-beta.sarif"), batch_size=1)
    assert calls["n"] == 2  # the first batch was written before the failure
    assert snapshot(runtime) == before
    monkeypatch.setattr(intake_service, "insert_findings", real_insert)
    retried = import_bytes(runtime, "Lab B", demo_asset("lab-beta.sarif"), batch_size=1)
    assert retried.already_imported is False
    assert retried.findings == 3


def test_share_with_grants_restricted_access(runtime: Runtime, make_org: OrgFactory) -> None:
    make_org("Lab A")
    make_org("Vendor")
    outcome = import_bytes(
        runtime, "Lab A", demo_asset("lab-alpha.sarif"), tlp=Tlp.RED, share_with=("Vendor",)
    )
    with runtime.db.session() as session:
        from clearinghouse.access import service as access_service

        vendor = access_service.viewer_for_org(
            access_service.get_org_by_name_or_raise(session, name="Vendor")
        )
    doc = read_flow.show_submission(
        runtime.db, viewer=vendor, clock=runtime.clock, submission_id=outcome.submission
    )
    assert doc["tlp"] == "RED"


def test_nearby_report_is_suggested_not_merged(runtime: Runtime, make_org: OrgFactory) -> None:
    """Alpha's NULL dereference at tags.c:77 and Beta's out-of-bounds read at tags.c:81 in the
    same function: incompatible CWEs, so two vulnerabilities, each suggested for the other."""
    make_org("Lab A")
    make_org("Lab B")
    import_bytes(runtime, "Lab A", demo_asset("lab-alpha.sarif"))
    import_bytes(runtime, "Lab B", demo_asset("lab-beta.sarif"))
    vulns = {
        v["title"]: v["id"]
        for v in read_flow.list_vulns(
            runtime.db, viewer=LOCAL_ADMIN, clock=runtime.clock, search=None, limit=100, offset=0
        )
    }
    null_deref = vulns["Possible NULL dereference of tag entry"]
    oob_read = vulns["Tag value read past the end of the tag table"]
    shown = read_flow.show_vuln(
        runtime.db, viewer=LOCAL_ADMIN, clock=runtime.clock, public_id=oob_read
    )
    (offer,) = [s for s in shown["suggested_duplicates"] if s["id"] == null_deref]
    assert "nearby-lines" in offer["reason"]
    assert 0.6 <= offer["score"] <= 1.0
    other = read_flow.show_vuln(
        runtime.db, viewer=LOCAL_ADMIN, clock=runtime.clock, public_id=null_deref
    )
    assert [s["id"] for s in other["suggested_duplicates"]] == [oob_read]


def test_bounded_memos_give_the_same_result(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With the import's memos forced to forget after every batch, nothing changes."""
    from clearinghouse.access import service as access_service
    from clearinghouse.access.roles import OrgKind
    from clearinghouse.dedup import service as dedup_service

    doc = orjson.loads(demo_asset("lab-alpha.sarif"))
    doc["runs"] = doc["runs"] * 5  # stacked scans: repeats across batches
    data = orjson.dumps(doc)

    def clusters(name: str) -> list[tuple[int, str]]:
        if POSTGRES_URL:
            _reset_postgres(POSTGRES_URL)
        runtime = Runtime.from_settings(
            settings.model_copy(update={"data_dir": settings.data_dir / name})
        )
        runtime.ensure_schema()
        with runtime.db.session() as session:
            access_service.create_org(
                session, name="Lab A", kind=OrgKind.AI_LAB, sector=None, clock=runtime.clock
            )
        outcome = import_bytes(runtime, "Lab A", data, batch_size=2)
        assert outcome.findings == 15
        findings = read_flow.list_findings(
            runtime.db,
            viewer=LOCAL_ADMIN,
            clock=runtime.clock,
            submission_id=outcome.submission,
            limit=100,
            offset=0,
        )
        runtime.close()
        return [(f["id"], f["vulnerability"]) for f in findings]

    expected = clusters("roomy")
    assert len({vulnerability for _, vulnerability in expected}) == 3
    monkeypatch.setattr(dedup_service, "_PLACED_ENTRIES", 0)
    monkeypatch.setattr(dedup_service._Derived, "_ENTRIES", 1)
    assert clusters("tight") == expected
