"""A 150-vendor, 1,000-operator case: open, list (the coordinator's case view) and publish,
against the same work done one query per vendor and per operator.

The input: one OSV-format report whose vulnerability affects 150 PyPI packages, each owned by
its own vendor (a package-URL namespace in the directory); 1,000 operators, each with an SBOM
holding one of those packages at an affected version and an e-mail endpoint. Both sides start
from identical databases (built once, copied) and must reach the same result: 150 vendor
participants with an ``unknown`` status row each, and 1,000 advisory notifications with one
outbox row each.

The peer is the shape VINCE users report as slow on a 121-vendor case: the case opened by
looking up and adding each vendor with its own queries and flushes, the case view reading each
participant's organization and statuses separately, and publication notifying each operator
with its own endpoint query and flush (written here, same ORM, same database).

Run: ``.venv/bin/python benchmarks/case_scale.py [--vendors 150] [--operators 1000]
``. SQLite in a temporary directory. Prints times and ratios;
never fails on a slow result.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import select

from clearinghouse.access import service as access_service
from clearinghouse.access.models import Organization
from clearinghouse.access.roles import OrgKind, Role, Sector
from clearinghouse.access.visibility import LOCAL_ADMIN
from clearinghouse.advisories.models import Notification, OutboxMessage
from clearinghouse.cases import service as cases_service
from clearinghouse.cases.models import Endpoint, Participant, VendorNamespace, VendorStatus
from clearinghouse.infra.settings import Settings
from clearinghouse.pipeline import case_flow, intake_flow, inventory_flow, publish_flow
from clearinghouse.pipeline.models import Vulnerability
from clearinghouse.pipeline.runtime import Runtime


def osv_report(vendors: int) -> bytes:
    return orjson.dumps(
        {
            "schema_version": "1.6.0",
            "id": "OSV-2026-9001",
            "modified": "2026-11-01T00:00:00Z",
            "summary": "Shared parser overflow in 150 packages",
            "details": "One vendored parser with a heap overflow, shipped by every package.",
            "affected": [
                {
                    "package": {"ecosystem": "PyPI", "name": f"bench-pkg-{n:03d}"},
                    "ranges": [
                        {"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "2.0"}]}
                    ],
                }
                for n in range(vendors)
            ],
        }
    )


def sbom(n: int, package: str) -> bytes:
    return orjson.dumps(
        {
            "bomFormat": "CycloneDX",
            "specVersion": "1.5",
            "version": 1,
            "metadata": {"component": {"type": "application", "name": f"site-{n}", "version": "1"}},
            "components": [
                {
                    "type": "library",
                    "name": package,
                    "version": "1.0",
                    "purl": f"pkg:pypi/{package}@1.0",
                }
            ],
        }
    )


def build(rt: Runtime, *, vendors: int, operators: int) -> str:
    with rt.db.session() as session:
        lab = access_service.create_org(
            session, name="Bench Lab", kind=OrgKind.AI_LAB, sector=None, clock=rt.clock
        )
        viewer = access_service.viewer_for_org(lab, role=Role.SUBMITTER)
        for n in range(vendors):
            org = access_service.create_org(
                session, name=f"Vendor {n:03d}", kind=OrgKind.VENDOR, sector=None, clock=rt.clock
            )
            session.flush()
            session.add(
                VendorNamespace(organization_id=org.id, prefix=f"pkg:pypi/bench-pkg-{n:03d}")
            )
        for n in range(operators):
            org = access_service.create_org(
                session,
                name=f"Operator {n:04d}",
                kind=OrgKind.OPERATOR,
                sector=Sector.HEALTHCARE,
                clock=rt.clock,
            )
            session.flush()
            session.add(
                Endpoint(
                    organization_id=org.id,
                    channel="email",
                    address=f"it@op{n}.example",
                    created_at=rt.clock.now(),
                )
            )
    intake_flow.import_submission(
        rt.db,
        rt.blobs,
        intake_flow.ImportRequest(organization="Bench Lab", chunks=[osv_report(vendors)]),
        viewer=viewer,
        clock=rt.clock,
        max_bytes=rt.settings.max_upload_bytes,
        limits=rt.limits,
        batch_size=rt.settings.import_batch_size,
    )
    for n in range(operators):
        inventory_flow.import_inventory(
            rt,
            viewer=LOCAL_ADMIN,
            organization=f"Operator {n:04d}",
            chunks=[sbom(n, f"bench-pkg-{n % vendors:03d}")],
        )
    with rt.db.session() as session:
        return str(session.scalars(select(Vulnerability.public_id)).one())


# --- the peer: one query (and flush) per vendor and per operator ----------------------------


def peer_open(rt: Runtime, vuln: str) -> str:
    """Open the case with the same rows as ours, looking up and adding each vendor alone."""
    with rt.db.session() as session:
        vulnerability = session.scalars(
            select(Vulnerability).where(Vulnerability.public_id == vuln)
        ).one()
        facts = case_flow.vulnerability_facts(session, vulns=[vulnerability])
        now = rt.clock.now()
        from clearinghouse.cases.embargo import propose

        embargo = propose(until=now, binding_until=now)
        case = cases_service.create_case(
            session,
            title="peer",
            vulnerability_ids=[vulnerability.id],
            exploited=False,
            embargo=embargo,
            created_by_org_id=None,
            actor="peer",
            clock=rt.clock,
        )
        for purl in facts[0].purls:
            prefix = purl.split("@", 1)[0]
            owner = session.scalars(
                select(VendorNamespace.organization_id).where(VendorNamespace.prefix == prefix)
            ).first()
            if owner is None:
                continue
            session.add(
                Participant(
                    case_id=case.id,
                    organization_id=owner,
                    role="vendor",
                    added_at=now,
                    notified_at=now,
                )
            )
            session.flush()
            session.add(
                VendorStatus(
                    case_id=case.id,
                    vulnerability_id=vulnerability.id,
                    organization_id=owner,
                    status="unknown",
                    statement="",
                    approved=False,
                    updated_at=now,
                )
            )
            session.flush()
        return case.public_id


def peer_show(rt: Runtime, case_id: str) -> int:
    with rt.db.session() as session:
        case = cases_service.get_case_or_raise(session, public_id=case_id)
        rows = []
        for part in cases_service.participants(session, case_id=case.id):
            org = session.get(Organization, part.organization_id)
            statuses = session.scalars(
                select(VendorStatus).where(
                    VendorStatus.case_id == case.id,
                    VendorStatus.organization_id == part.organization_id,
                )
            ).all()
            rows.append((org.name if org else "", [s.status for s in statuses]))
        return len(rows)


def peer_notify(rt: Runtime, case_id: str) -> int:
    """Notify each exposed operator with its own endpoint query and flushes."""
    with rt.db.session() as session:
        case = cases_service.get_case_or_raise(session, public_id=case_id)
        exposed = publish_flow.exposed_organizations(session, case=case)
        for org_id, entry in exposed.items():
            endpoints = session.scalars(
                select(Endpoint).where(Endpoint.organization_id == org_id)
            ).all()
            note = Notification(
                case_id=case.id,
                organization_id=org_id,
                kind="advisory",
                version=1,
                tlp="CLEAR",
                subject=f"Advisory {case_id}",
                body=str(entry["components"]),
                payload="{}",
                created_at=rt.clock.now(),
                response_statement="",
            )
            session.add(note)
            session.flush()
            for endpoint in endpoints:
                session.add(
                    OutboxMessage(
                        idempotency_key=f"peer-{note.id}-{endpoint.id}",
                        notification_id=note.id,
                        channel=endpoint.channel,
                        recipient=endpoint.address,
                        status="pending",
                        attempts=0,
                        next_attempt_at=rt.clock.now(),
                        created_at=rt.clock.now(),
                    )
                )
                session.flush()
        return len(exposed)


def timed(label: str, work: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    result = work()
    seconds = time.perf_counter() - start
    print(f"  {label:<44} {seconds:8.2f} s")
    return seconds, result


def run_ours(data_dir: Path, vuln: str, vendors: int, operators: int) -> dict[str, float]:
    rt = Runtime.from_settings(Settings(data_dir=data_dir))
    try:
        t_open, case = timed(
            "open (vendors suggested, statuses)",
            lambda: case_flow.open_case(
                rt, viewer=LOCAL_ADMIN, vuln_ids=[vuln], allow_unvalidated=True
            ),
        )
        assert sum(p["role"] == "vendor" for p in case["participants"]) == vendors
        t_show, shown = timed(
            "case view (participants, status matrix)",
            lambda: case_flow.show_case(rt, viewer=LOCAL_ADMIN, case_id=case["id"]),
        )
        assert len(shown["statuses"]) == vendors
        case_flow.embargo_action(
            rt, viewer=LOCAL_ADMIN, case_id=case["id"], action="break", reason="benchmark"
        )
        t_publish, published = timed(
            "publish (documents, notifications, outbox)",
            lambda: publish_flow.publish(rt, viewer=LOCAL_ADMIN, case_id=case["id"]),
        )
        assert len(published["notified"]) == operators, len(published["notified"])
    finally:
        rt.close()
    return {"open": t_open, "view": t_show, "publish": t_publish}


def run_peer(data_dir: Path, vuln: str, vendors: int, operators: int) -> dict[str, float]:
    rt = Runtime.from_settings(Settings(data_dir=data_dir))
    try:
        p_open, case_id = timed("open", lambda: peer_open(rt, vuln))
        p_show, count = timed("case view", lambda: peer_show(rt, case_id))
        assert count == vendors
        p_notify, notified = timed("notify exposed operators", lambda: peer_notify(rt, case_id))
        assert notified == operators
    finally:
        rt.close()
    return {"open": p_open, "view": p_show, "publish": p_notify}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vendors", type=int, default=150)
    parser.add_argument("--operators", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3, help="runs of each side (medians)")
    args = parser.parse_args()
    ours: list[dict[str, float]] = []
    peer: list[dict[str, float]] = []
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp) / "base"
        rt = Runtime.from_settings(Settings(data_dir=base))
        rt.ensure_schema()
        start = time.perf_counter()
        vuln = build(rt, vendors=args.vendors, operators=args.operators)
        rt.close()
        print(
            f"built {args.vendors} vendors, {args.operators} operators in "
            f"{time.perf_counter() - start:.1f} s (not timed below)"
        )
        for n in range(args.repeat):
            for side, runs, run in (("clearinghouse", ours, run_ours), ("peer", peer, run_peer)):
                copy = Path(tmp) / f"{side}-{n}"
                shutil.copytree(base, copy)
                print(f"{side} (run {n + 1}):")
                runs.append(run(copy, vuln, args.vendors, args.operators))
                shutil.rmtree(copy)

    def median(runs: list[dict[str, float]], key: str) -> float:
        return statistics.median(r[key] for r in runs)

    print("medians, clearinghouse / peer (one query per vendor / operator), and peer / ours:")
    for key, label in (
        ("open", "open"),
        ("view", "case view"),
        ("publish", "publish (ours also composes, validates, stores every document)"),
    ):
        a, b = median(ours, key), median(peer, key)
        print(f"  {label:<66} {a:6.2f} s {b:6.2f} s  ratio {b / a:5.2f}")


if __name__ == "__main__":
    main()
