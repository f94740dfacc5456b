"""What the operator dashboard's tests need on top of the web ``world``, made through the
pipeline: the demo advisory feed, a KEV catalog whose entry is already overdue, EPSS scores;
the hospital's SBOM history (an older import with a flaw since upgraded away, backdated with a
fixed clock on the same database) and its current SBOM; an advance warning from a case on a
lab's finding in a package the hospital runs; the hospital's network, proved by an HTTP token
on loopback, with an authorization for a lab; and another owner's authorization the hospital
must never see.

Also used by the browser journey (``tests/browser/test_operator.py``) for the SBOMs and the
scope proof.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import select

from clearinghouse.access.visibility import LOCAL_ADMIN, Viewer
from clearinghouse.core.clock import FixedClock
from clearinghouse.core.tlp import Tlp
from clearinghouse.intake.models import Finding
from clearinghouse.pipeline import (
    case_flow,
    demo_scans,
    feeds_flow,
    inventory_flow,
    publish_flow,
    scan_flow,
)
from clearinghouse.pipeline.runtime import Runtime
from clearinghouse.vulns.models import Vulnerability
from tests.web.world import COORDINATOR, OPERATOR, OWNER, UNRELATED, World, submit

PRODUCT = "Patient Portal"
HOSPITAL_NET = "203.0.113.0/24"
OTHER_NET = "198.51.100.0/24"
KEV_CVE = "CVE-2026-99105"  # modbus (DEMO-2026-0005)


def asset(name: str) -> Path:
    return Path(str(resources.files("clearinghouse.pipeline") / "demo_assets" / name))


def cyclonedx(product: str, purls: list[str], *, version: str = "1.0") -> bytes:
    """A minimal CycloneDX 1.6 JSON SBOM of ``product`` with one library per purl."""
    components = []
    for n, purl in enumerate(purls):
        name, _, at = purl.rsplit("/", 1)[-1].partition("@")
        components.append(
            {"type": "library", "name": name, "version": at, "purl": purl, "bom-ref": f"c{n}"}
        )
    return orjson.dumps(
        {
            "bomFormat": "CycloneDX",
            "specVersion": "1.6",
            "version": 1,
            "metadata": {"component": {"type": "application", "name": product, "version": version}},
            "components": components,
        }
    )


# Then: dicom-lite 1.7.0 is affected by DEMO-2026-0002 (fixed in 1.8.3).
OLD_PURLS = ["pkg:pypi/medrecord-parser@2.4.0", "pkg:pypi/dicom-lite@1.7.0"]
# Now: dicom-lite upgraded; modbus (in KEV), pump-telemetry (no fix), tiffkit (the lab's flaw).
CURRENT_PURLS = [
    "pkg:pypi/medrecord-parser@2.4.0",
    "pkg:pypi/dicom-lite@1.8.3",
    "pkg:golang/example.org/scada/modbus@v1.8.2",
    "pkg:pypi/pump-telemetry@0.9.4",
    "pkg:pypi/tiffkit@2.3.0",
]


def load_feeds(rt: Runtime, tmp: Path, *, kev_due: dt.date | None = None) -> None:
    """The demo OSV feed and EPSS scores; the demo KEV catalog, its due date replaced by
    ``kev_due`` when given."""
    feeds_flow.import_feed(rt, viewer=LOCAL_ADMIN, path=asset("demo-feed.json"), source="osv:demo")
    kev = orjson.loads(asset("demo-kev.json").read_bytes())
    if kev_due is not None:
        for entry in kev["vulnerabilities"]:
            entry["dueDate"] = kev_due.isoformat()
    kev_path = tmp / "kev.json"
    kev_path.write_bytes(orjson.dumps(kev))
    feeds_flow.import_kev(rt, viewer=LOCAL_ADMIN, path=kev_path)
    feeds_flow.import_epss(rt, viewer=LOCAL_ADMIN, path=asset("demo-epss.csv"))


def prove_network(rt: Runtime, viewer: Viewer, *, network: str, domain: str) -> None:
    claimed = scan_flow.claim_scope(
        rt, viewer=viewer, organization=viewer.organization, networks=[network], domain=domain
    )
    challenge = claimed["challenge"]
    with demo_scans.serving_token(challenge["http_path"], challenge["dns_value"]) as base_url:
        verified = scan_flow.verify_scope(
            rt, viewer=viewer, organization=viewer.organization, method="http", base_url=base_url
        )
    assert verified["verified"] == [network], verified


def authorize(rt: Runtime, owner: Viewer, *, scanner: str, network: str) -> dict[str, Any]:
    return scan_flow.authorize(
        rt,
        viewer=owner,
        owner=owner.organization,
        scanner=scanner,
        ranges=[network],
        windows="mon-fri 22:00-06:00",
        techniques=["discovery", "vulnerability-scan"],
        max_rate_pps=50,
        max_concurrency=2,
        expires_at=rt.clock.now() + dt.timedelta(days=30),
    )


def at(rt: Runtime, when: dt.datetime) -> Runtime:
    """``rt`` (same database and blobs) with its clock fixed at ``when``."""
    return Runtime(settings=rt.settings, db=rt.db, blobs=rt.blobs, clock=FixedClock(when))


@dataclass(frozen=True)
class DashboardWorld:
    world: World
    notification: int
    case: str
    lab_vuln: str
    hospital_authorization: int
    other_authorization: int


def build(world: World, tmp: Path) -> DashboardWorld:
    rt = world.runtime
    now = rt.clock.now()
    hospital = world.viewers[OPERATOR.key]
    load_feeds(rt, tmp, kev_due=(now - dt.timedelta(days=5)).date())
    inventory_flow.import_inventory(
        at(rt, now - dt.timedelta(days=20)),
        viewer=hospital,
        organization=OPERATOR.name,
        chunks=[cyclonedx(PRODUCT, OLD_PURLS, version="5.1")],
    )
    inventory_flow.import_inventory(
        rt,
        viewer=hospital,
        organization=OPERATOR.name,
        chunks=[cyclonedx(PRODUCT, CURRENT_PURLS, version="5.2")],
    )
    # A lab's finding in tiffkit 2.3.0, a case on it, and the advance warning to the hospital.
    finding = orjson.dumps(
        {
            "format": "clearinghouse-findings",
            "version": "1.0",
            "findings": [
                {
                    "target": "pkg:pypi/tiffkit@2.3.0",
                    "title": "Heap overflow in tiffkit's strip decoder",
                    "provenance": {"tool": "dashboard-test-agent"},
                }
            ],
        }
    )
    submission = submit(rt, world.viewers[OWNER.key], finding, Tlp.AMBER)
    coordinator = world.viewers[COORDINATOR.key]
    lab_vuln = _vuln_of(rt, submission)
    case = case_flow.open_case(rt, viewer=coordinator, vuln_ids=[lab_vuln], allow_unvalidated=True)
    warned = publish_flow.prenotify(rt, viewer=coordinator, case_id=case["id"])
    assert warned["notified"] == [OPERATOR.name], warned
    [note] = [
        n
        for n in publish_flow.list_notifications(rt, viewer=LOCAL_ADMIN)
        if n["case"] == case["id"]
    ]
    # Scans: the hospital's network and a lab it lets scan it; another owner's grant.
    prove_network(rt, hospital, network=HOSPITAL_NET, domain="valley-hospital.example")
    granted = authorize(rt, hospital, scanner=OWNER.name, network="203.0.113.0/25")
    other = world.viewers[UNRELATED.key]
    prove_network(rt, other, network=OTHER_NET, domain="lab-beta.example")
    foreign = authorize(rt, other, scanner=OWNER.name, network=OTHER_NET)
    return DashboardWorld(
        world=world,
        notification=int(note["id"]),
        case=str(case["id"]),
        lab_vuln=lab_vuln,
        hospital_authorization=int(granted["id"]),
        other_authorization=int(foreign["id"]),
    )


def _vuln_of(rt: Runtime, submission: int) -> str:
    with rt.db.session() as session:
        found = session.scalar(
            select(Vulnerability.public_id)
            .join(Finding, Finding.vulnerability_id == Vulnerability.id)
            .where(Finding.submission_id == submission)
        )
    assert found is not None
    return str(found)
