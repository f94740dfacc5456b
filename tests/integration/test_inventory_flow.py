"""Feeds and inventories end to end, through the database and the CLI.

An operator's SBOM is matched against the real PyPA and Go advisory databases loaded the way an
operator loads them (a directory, and an OSV ``all.zip``): known-vulnerable versions get their
advisories with fixed versions, a fixed version gets none, a component OSV has no ecosystem for
is reported as not matchable. Re-importing the feed changes nothing; a newer SBOM of the same
product replaces the old one and keeps it as history; a feed with one broken record is refused
whole.
"""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import orjson
import pytest
from sqlalchemy import func, select

from clearinghouse.access import service as access_service
from clearinghouse.access.roles import OrgKind, Role, Sector
from clearinghouse.access.visibility import LOCAL_ADMIN
from clearinghouse.core.errors import InputError, PermissionDeniedError, TooLargeError
from clearinghouse.core.tlp import Tlp
from clearinghouse.intake import service as intake_service
from clearinghouse.pipeline import feeds_flow, inventory_flow
from clearinghouse.pipeline.models import (
    AdvisoryRecord,
    Finding,
    Inventory,
    Target,
    Vulnerability,
)
from clearinghouse.pipeline.runtime import Runtime
from clearinghouse.validation import service as validation_service
from tests.conftest import OrgFactory
from tests.integration.helpers import import_bytes

pytestmark = [pytest.mark.slow]


def cyclonedx(product: str, version: str, purls: list[str]) -> bytes:
    components = []
    for purl in purls:
        name, _, ver = purl.rsplit("/", 1)[-1].partition("@")
        components.append(
            {"type": "library", "name": name, "version": ver, "purl": purl, "bom-ref": purl}
        )
    return orjson.dumps(
        {
            "bomFormat": "CycloneDX",
            "specVersion": "1.5",
            "version": 1,
            "metadata": {"component": {"type": "application", "name": product, "version": version}},
            "components": components,
        }
    )


def go_zip(corpus: Path, target: Path) -> Path:
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted((corpus / "osv/golang-vulndb/data/osv").glob("*.json")):
            archive.write(path, path.name)
    return target


def by_purl(result: dict[str, Any]) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for match in result["matches"]:
        found.setdefault(match["purl"], set()).add(match["vulnerability"])
    return found


@pytest.mark.corpus
def test_feeds_and_an_inventory_match_by_osv_rules(
    runtime: Runtime, make_org: OrgFactory, corpus: Path, tmp_path: Path
) -> None:
    make_org("Valley Hospital", kind=OrgKind.OPERATOR, sector=Sector.HEALTHCARE)
    pypa = feeds_flow.import_feed(
        runtime, viewer=LOCAL_ADMIN, path=corpus / "osv/pypa-advisory-database/vulns"
    )
    assert pypa["records"] == pypa["new"] == 2661
    go = feeds_flow.import_feed(
        runtime, viewer=LOCAL_ADMIN, path=go_zip(corpus, tmp_path / "all.zip"), source="osv:Go"
    )
    assert go["new"] == 4291
    again = feeds_flow.import_feed(
        runtime, viewer=LOCAL_ADMIN, path=corpus / "osv/pypa-advisory-database/vulns"
    )
    assert again["unchanged"] == 2661
    assert again["new"] == again["updated"] == 0

    sbom = cyclonedx(
        "Patient Portal",
        "2.0",
        [
            "pkg:pypi/django@1.0.2",  # PYSEC-2007-1: introduced 0, fixed 1.1
            "pkg:pypi/django@5.0.0",
            "pkg:pypi/requests@2.19.0",
            "pkg:pypi/salt@3000.1",  # CVE-2020-11651/11652: in KEV, fixed in 3000.2
            "pkg:golang/golang.org/x/net@v0.0.0-20180724234803-3673e40ba225",
            "pkg:generic/internal-tool@1.0",
        ],
    )
    imported = inventory_flow.import_inventory(
        runtime, viewer=LOCAL_ADMIN, organization="Valley Hospital", chunks=[sbom]
    )
    assert imported["product"] == "Patient Portal"
    assert imported["components"] == 6
    result = inventory_flow.matches(runtime, organization="Valley Hospital")
    found = by_purl(result)
    assert "PYSEC-2007-1" in found["pkg:pypi/django@1.0.2"]
    assert "PYSEC-2007-1" not in found.get("pkg:pypi/django@5.0.0", set())
    assert found["pkg:pypi/requests@2.19.0"]  # CVE-2018-18074, fixed in 2.20.0
    assert any(
        v.startswith("GO-")
        for v in found["pkg:golang/golang.org/x/net@v0.0.0-20180724234803-3673e40ba225"]
    )
    assert result["not_matchable"] == {"no OSV ecosystem for this component's purl": 1}
    django = next(
        m
        for m in result["matches"]
        if m["vulnerability"] == "PYSEC-2007-1" and m["purl"] == "pkg:pypi/django@1.0.2"
    )
    assert django["fixed_versions"] == ["1.1"]

    # The prioritized report: KEV first (Salt's CVE-2020-11651 is in KEV, with a due date
    # long past), every item with a deadline and a reason.
    kev = feeds_flow.import_kev(
        runtime, viewer=LOCAL_ADMIN, path=corpus / "kev/known_exploited_vulnerabilities.json"
    )
    assert kev["entries"] == 1404
    feeds_flow.import_epss(
        runtime, viewer=LOCAL_ADMIN, path=corpus / "epss/jgamblin-KEV_EPSS/epss_kev_nvd.csv"
    )
    report = inventory_flow.report(
        runtime, organization="Valley Hospital", today=dt.date(2026, 11, 27)
    )
    items = report["items"]
    assert report["sector"] == "healthcare"
    assert len(items) == len(result["matches"])
    assert [i["deadline"] for i in items] == sorted(i["deadline"] for i in items)
    assert items[0]["kev"] is True
    assert items[0]["reason"].startswith(f"due {items[0]['deadline']} (rule kev)")
    salt = [i for i in items if "CVE-2020-11651" in i["cves"]]
    assert salt
    assert salt[0]["kev"] is True
    assert salt[0]["epss"] is not None
    assert salt[0]["fixed_versions"] == ["2019.2.4", "3000.2"]
    assert all(i["reason"] and i["ssvc"] for i in items)

    # A newer SBOM of the same product replaces it; the old one stays as history.
    newer = inventory_flow.import_inventory(
        runtime,
        viewer=LOCAL_ADMIN,
        organization="Valley Hospital",
        chunks=[cyclonedx("Patient Portal", "2.1", ["pkg:pypi/django@5.0.0"])],
    )
    assert newer["replaces"] == imported["id"]
    assert [
        i["id"] for i in inventory_flow.list_inventories(runtime, organization="Valley Hospital")
    ] == [newer["id"]]
    with runtime.db.session() as session:
        assert session.scalar(select(func.count(Inventory.id))) == 2
    after = inventory_flow.matches(runtime, organization="Valley Hospital")
    assert "pkg:pypi/django@1.0.2" not in by_purl(after)


@pytest.mark.corpus
def test_a_feed_with_one_broken_record_is_refused_whole(
    runtime: Runtime, tmp_path: Path, corpus: Path
) -> None:
    feed = tmp_path / "feed"
    feed.mkdir()
    good = corpus / "osv/pypa-advisory-database/vulns/django/PYSEC-2007-1.yaml"
    (feed / "a.yaml").write_bytes(good.read_bytes())
    (feed / "b.json").write_bytes(
        orjson.dumps({"id": "BAD-1", "affected": [{"package": {"name": "x"}}]})
    )
    with pytest.raises(InputError, match=r"b\.json.*/affected/0/package/ecosystem"):
        feeds_flow.import_feed(runtime, viewer=LOCAL_ADMIN, path=feed)
    with runtime.db.session() as session:
        assert session.scalar(select(func.count(AdvisoryRecord.id))) == 0


@pytest.mark.corpus
@pytest.mark.sqlite_only  # the CLI runs on its own SQLite database in the data directory
def test_cli(tmp_path: Path, corpus: Path) -> None:
    env = {"CLEARINGHOUSE_DATA_DIR": str(tmp_path / "data"), "PATH": "/usr/bin:/bin"}

    def run(*args: str) -> subprocess.CompletedProcess[bytes]:
        return subprocess.run(
            [sys.executable, "-m", "clearinghouse.cli.main", *args],
            env=env,
            capture_output=True,
            timeout=300,
            check=False,
        )

    def json(*args: str) -> Any:
        done = run(*args, "--json")
        assert done.returncode == 0, done.stderr.decode()
        return orjson.loads(done.stdout)

    json("org", "create", "First Bank", "--kind", "operator", "--sector", "finance")
    loaded = json("feeds", "import", str(corpus / "osv/pypa-advisory-database/vulns/django"))
    assert loaded["new"] > 50
    sbom = tmp_path / "bom.json"
    sbom.write_bytes(cyclonedx("Teller", "1", ["pkg:pypi/Django@1.0.2"]))
    assert json("inventory", "import", str(sbom), "--org", "First Bank")["components"] == 1
    matches = json("inventory", "matches", "--org", "First Bank")
    assert "PYSEC-2007-1" in {m["vulnerability"] for m in matches}
    assert all(set(m) >= {"purl", "vulnerability", "aliases", "fixed_versions"} for m in matches)
    exposed = json("exposure", "PYSEC-2007-1")
    assert exposed["by_sector"] == {"finance": 1}
    assert exposed["organizations"][0]["components"] == [
        {"product": "Teller", "purl": "pkg:pypi/django@1.0.2"}
    ]
    assert json("exposure", "CVE-2007-5712")["vulnerability"] == "PYSEC-2007-1"  # by alias
    unknown = run("exposure", "PYSEC-1999-1", "--json")
    assert unknown.returncode == 1
    assert b"no advisory PYSEC-1999-1" in unknown.stderr
    report = json("inventory", "report", "--org", "First Bank")
    assert report["sector"] == "finance"
    assert report["items"][0]["deadline"]
    refused = run("inventory", "import", str(tmp_path / "missing.json"), "--org", "First Bank")
    assert refused.returncode == 1
    assert b"FILE" in refused.stderr
    bad = tmp_path / "bad.json"
    bad.write_bytes(b'{"bomFormat": "CycloneDX", "specVersion": "1.5", "components": 3}')
    refused = run("inventory", "import", str(bad), "--org", "First Bank", "--json")
    assert refused.returncode == 1
    assert refused.stdout == b""


def test_a_zip_bomb_stops_at_the_cap(runtime: Runtime, tmp_path: Path) -> None:
    bomb = tmp_path / "all.zip"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("GO-0000-0001.json", b" " * (feeds_flow.MAX_RECORD_BYTES + 1))
    assert bomb.stat().st_size < 100_000
    with pytest.raises(TooLargeError, match=r"GO-0000-0001\.json"):
        feeds_flow.import_feed(runtime, viewer=LOCAL_ADMIN, path=bomb)


def test_own_vulnerabilities_match_only_where_visible_and_exposure_is_for_coordinators(
    runtime: Runtime, make_org: OrgFactory
) -> None:
    make_org("Lab Alpha", kind=OrgKind.AI_LAB)
    make_org("Valley Hospital", kind=OrgKind.OPERATOR, sector=Sector.HEALTHCARE)
    make_org("First Bank", kind=OrgKind.OPERATOR, sector=Sector.FINANCE)
    for org in ("Valley Hospital", "First Bank"):
        inventory_flow.import_inventory(
            runtime,
            viewer=LOCAL_ADMIN,
            organization=org,
            chunks=[cyclonedx(f"{org} portal", "1", ["pkg:pypi/tiffkit@2.3.0"])],
        )
    # A lab's embargoed (AMBER) finding in tiffkit 2.3.0, shared with nobody yet.
    finding = {
        "format": "clearinghouse-findings",
        "version": "1.0",
        "findings": [
            {
                "target": "pkg:pypi/tiffkit@2.3.0",
                "title": "Heap overflow in tiffkit strip decoder",
                "provenance": {"tool": "lab-agent"},
            }
        ],
    }
    imported = import_bytes(runtime, "Lab Alpha", orjson.dumps(finding), tlp=Tlp.AMBER)
    with runtime.db.session() as session:
        [vuln] = session.scalars(select(Vulnerability.public_id)).all()
    assert imported.findings == 1

    def own(org: str) -> list[str]:
        found = inventory_flow.matches(runtime, organization=org)["matches"]
        return [m["vulnerability"] for m in found if m["source"] == "clearinghouse"]

    assert own("Valley Hospital") == []  # embargoed: not theirs to see yet
    exposed = inventory_flow.exposure(runtime, viewer=LOCAL_ADMIN, vuln_id=vuln)
    assert [o["organization"] for o in exposed["organizations"]] == [
        "First Bank",
        "Valley Hospital",
    ]
    assert exposed["by_sector"] == {"finance": 1, "healthcare": 1}
    with runtime.db.session() as session:
        hospital = access_service.get_org_by_name_or_raise(session, name="Valley Hospital")
        operator = access_service.viewer_for_org(hospital, role=Role.ANALYST)
    with pytest.raises(PermissionDeniedError):
        inventory_flow.exposure(runtime, viewer=operator, vuln_id=vuln)

    # Shared with the hospital, it now takes part in the hospital's matching.
    triage_flow_share(runtime, "Lab Alpha", imported.submission, "Valley Hospital")
    assert own("Valley Hospital") == [vuln]
    assert own("First Bank") == []


def triage_flow_share(runtime: Runtime, owner: str, submission: int, recipient: str) -> None:
    with runtime.db.session() as session:
        org = access_service.get_org_by_name_or_raise(session, name=recipient)
        access_service.grant(
            session,
            resource_kind=intake_service.RESOURCE_KIND,
            resource_id=submission,
            org=org,
            clock=runtime.clock,
        )


def openvex(author: str, statements: list[dict[str, Any]]) -> bytes:
    return orjson.dumps(
        {
            "@context": "https://openvex.dev/ns/v0.2.0",
            "@id": f"https://example.org/vex/{author}",
            "author": author,
            "timestamp": "2026-11-20T00:00:00Z",
            "version": 1,
            "statements": statements,
        }
    )


def test_vex_statements_suppress_or_annotate_matches(
    runtime: Runtime, make_org: OrgFactory, tmp_path: Path
) -> None:
    make_org("First Bank", kind=OrgKind.OPERATOR, sector=Sector.FINANCE)
    make_org("Other Bank", kind=OrgKind.OPERATOR, sector=Sector.FINANCE)
    make_org("Ledger Vendor", kind=OrgKind.VENDOR)
    feed = tmp_path / "feed.json"
    feed.write_bytes(
        orjson.dumps(
            [
                {
                    "id": f"DEMO-{n}",
                    "modified": "2026-11-01T00:00:00Z",
                    "aliases": [f"CVE-2026-9910{n}"],
                    "affected": [
                        {
                            "package": {"ecosystem": "npm", "name": "ledger-core"},
                            "ranges": [
                                {
                                    "type": "SEMVER",
                                    "events": [{"introduced": "0"}, {"fixed": "9.0.0"}],
                                }
                            ],
                        }
                    ],
                }
                for n in (1, 2, 3)
            ]
        )
    )
    feeds_flow.import_feed(runtime, viewer=LOCAL_ADMIN, path=feed)
    for org in ("First Bank", "Other Bank"):
        inventory_flow.import_inventory(
            runtime,
            viewer=LOCAL_ADMIN,
            organization=org,
            chunks=[cyclonedx("Teller", "1", ["pkg:npm/ledger-core@3.3.0"])],
        )

    def statuses(org: str, *, everything: bool = False) -> dict[str, str | None]:
        found = inventory_flow.matches(runtime, organization=org, include_suppressed=everything)
        return {m["vulnerability"]: (m["vex"] or {}).get("status") for m in found["matches"]}

    assert statuses("First Bank") == {"DEMO-1": None, "DEMO-2": None, "DEMO-3": None}
    # The bank's own statement: not affected by CVE-2026-99101 (an alias), under
    # investigation for DEMO-2.
    recorded = inventory_flow.import_vex(
        runtime,
        viewer=LOCAL_ADMIN,
        organization="First Bank",
        chunks=[
            openvex(
                "First Bank",
                [
                    {
                        "vulnerability": {"name": "CVE-2026-99101"},
                        "products": [{"@id": "pkg:npm/ledger-core@3.3.0"}],
                        "status": "not_affected",
                        "justification": "vulnerable_code_not_in_execute_path",
                    },
                    {
                        "vulnerability": {"name": "DEMO-2"},
                        "products": [{"@id": "pkg:npm/ledger-core@3.3.0"}],
                        "status": "under_investigation",
                    },
                ],
            )
        ],
    )
    assert recorded["statements"] == 2
    assert statuses("First Bank") == {"DEMO-2": "under_investigation", "DEMO-3": None}
    assert statuses("First Bank", everything=True)["DEMO-1"] == "not_affected"
    assert statuses("Other Bank") == {"DEMO-1": None, "DEMO-2": None, "DEMO-3": None}
    # The vendor's statement covers every operator running any version of its package.
    inventory_flow.import_vex(
        runtime,
        viewer=LOCAL_ADMIN,
        organization="Ledger Vendor",
        chunks=[
            openvex(
                "Ledger Vendor",
                [
                    {
                        "vulnerability": {"name": "CVE-2026-99103"},
                        "products": [{"@id": "pkg:npm/ledger-core"}],
                        "status": "not_affected",
                        "justification": "vulnerable_code_not_present",
                    }
                ],
            )
        ],
    )
    assert statuses("Other Bank") == {"DEMO-1": None, "DEMO-2": None}
    assert statuses("First Bank") == {"DEMO-2": "under_investigation"}
    with pytest.raises(InputError):
        inventory_flow.import_vex(
            runtime, viewer=LOCAL_ADMIN, organization="First Bank", chunks=[b'{"hello": 1}']
        )


def test_a_reproduced_proof_makes_the_report_treat_it_as_exploited(
    runtime: Runtime, make_org: OrgFactory, tmp_path: Path
) -> None:
    make_org("Lab Alpha", kind=OrgKind.AI_LAB)
    make_org("Valley Hospital", kind=OrgKind.OPERATOR, sector=Sector.HEALTHCARE)
    inventory_flow.import_inventory(
        runtime,
        viewer=LOCAL_ADMIN,
        organization="Valley Hospital",
        chunks=[cyclonedx("Portal", "1", ["pkg:pypi/tiffkit@2.3.0"])],
    )
    finding = {
        "format": "clearinghouse-findings",
        "version": "1.0",
        "findings": [
            {"target": "pkg:pypi/tiffkit@2.3.0", "title": "t", "provenance": {"tool": "x"}}
        ],
    }
    imported = import_bytes(runtime, "Lab Alpha", orjson.dumps(finding), tlp=Tlp.GREEN)

    def item() -> dict[str, Any]:
        items: list[dict[str, Any]] = inventory_flow.report(
            runtime, organization="Valley Hospital", today=dt.date(2026, 11, 27)
        )["items"]
        assert len(items) == 1
        return items[0]

    before = item()
    assert (before["validated"], before["source"]) == (False, "clearinghouse")
    with runtime.db.session() as session:  # the lab's proof was reproduced in the sandbox
        target = Target(
            name="tiffkit",
            digest="0" * 64,
            language="c",
            version="2.3.0",
            files=1,
            size=1,
            manifest="",
            registered_by="test",
            created_at=runtime.clock.now(),
        )
        session.add(target)
        session.flush()
        finding_id = session.scalars(
            select(Finding.id).where(Finding.submission_id == imported.submission)
        ).one()
        run = validation_service.create_run(
            session,
            finding_id=finding_id,
            target_id=target.id,
            repetitions=1,
            requested_by="test",
            clock=runtime.clock,
        )
        run.status, run.verdict = "done", "reproduced"
    after = item()
    assert after["validated"] is True
    assert after["ssvc_coordinator"] in ("attend", "act")
    assert after["ssvc"] != before["ssvc"] or after["deadline"] <= before["deadline"]

    # A configured policy table decides the deadlines.
    policy = tmp_path / "policy.json"
    policy.write_bytes(
        b'[{"name": "validated-first", "days": 2, "validated": true},'
        b' {"name": "rest", "days": 120}]'
    )
    runtime.settings = runtime.settings.model_copy(update={"deadline_policy": policy})
    configured = item()
    assert (configured["rule"], configured["deadline"]) == ("validated-first", "2026-11-29")
