"""Coordinated-disclosure cases end to end: directory, opening, participants, vendor status,
embargo, messages, patches and the scheduler's deadlines.

Who may do what (checked here, the one place that knows the viewer and the case):

- coordinators (the clearinghouse's analysts, and the local operator) do everything;
- participants see the case; vendors set their own statuses, upload patches and accept embargo
  dates; reporters accept dates; every participant writes messages;
- anyone else gets 404, so a case's existence does not leak.

Every change is audited. Publication and notifications live in ``publish_flow``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import select
from sqlalchemy.orm import Session

from clearinghouse.access import service as access_service
from clearinghouse.access.models import Organization
from clearinghouse.access.roles import OrgKind, Role
from clearinghouse.access.visibility import LOCAL_ADMIN, Viewer
from clearinghouse.audit import service as audit_service
from clearinghouse.cases import embargo as embargo_rules
from clearinghouse.cases import service as cases_service
from clearinghouse.cases.deadlines import DeadlineAction, VendorClock, due_actions
from clearinghouse.cases.embargo import format_instant
from clearinghouse.cases.models import Case, CaseVulnerability, Participant
from clearinghouse.cases.policy import DisclosurePolicy, FinderPolicy, default_embargo
from clearinghouse.core.errors import (
    ConflictError,
    InputError,
    NotFoundError,
    PermissionDeniedError,
)
from clearinghouse.core.tlp import Tlp
from clearinghouse.dedup import queries as dedup_queries
from clearinghouse.formats.securitytxt import parse_security_txt
from clearinghouse.intake.models import Finding
from clearinghouse.inventory.packages import package_purl
from clearinghouse.pipeline import patch_flow
from clearinghouse.pipeline.runtime import Runtime
from clearinghouse.prioritization import cvss as cvss_rules
from clearinghouse.prioritization import service as prioritization_service
from clearinghouse.validation import service as validation_service
from clearinghouse.vulns import service as vulns_service
from clearinghouse.vulns.models import Vulnerability

MAX_MESSAGE_CHARS = 20_000
_CVE = re.compile(r"CVE-\d{4}-\d{4,19}")
MAX_STATEMENT_CHARS = 5_000


def is_coordinator(viewer: Viewer) -> bool:
    return viewer.superuser or viewer.kind is OrgKind.COORDINATOR


def require_coordinator(viewer: Viewer, what: str) -> None:
    if not is_coordinator(viewer):
        raise PermissionDeniedError(f"{what} is for coordinators")
    if not viewer.superuser and viewer.role not in (Role.ANALYST, Role.ADMIN):
        raise PermissionDeniedError(f"{what} needs the analyst or admin role")


def _require_writer(viewer: Viewer) -> None:
    if not viewer.superuser and viewer.role is Role.VIEWER:
        raise PermissionDeniedError("the viewer role may only read")


def case_scope_viewer(viewer: Viewer) -> Viewer:
    """How a participant sees the case's vulnerabilities: as the coordinators do.

    Joining a case is what shares its (AMBER) reports with a vendor; RED findings stay with
    their named recipients, because coordinators do not see them either.
    """
    if viewer.superuser:
        return viewer
    return Viewer(
        organization_id=viewer.organization_id,
        organization=viewer.organization,
        kind=OrgKind.COORDINATOR,
        role=viewer.role,
        token_id=viewer.token_id,
    )


@dataclass(frozen=True, slots=True)
class CaseAccess:
    case: Case
    coordinator: bool
    participant: Participant | None

    @property
    def role(self) -> str:
        if self.coordinator:
            return "coordinator"
        return self.participant.role if self.participant else ""


def access_case(session: Session, *, viewer: Viewer, case_id: str) -> CaseAccess:
    case = cases_service.get_case_or_raise(session, public_id=case_id)
    if is_coordinator(viewer):
        part = (
            cases_service.participant(
                session, case_id=case.id, organization_id=viewer.organization_id
            )
            if viewer.organization_id is not None
            else None
        )
        return CaseAccess(case, True, part)
    if viewer.organization_id is not None:
        part = cases_service.participant(
            session, case_id=case.id, organization_id=viewer.organization_id
        )
        if part is not None:
            return CaseAccess(case, False, part)
    raise NotFoundError(f"case {case_id} does not exist")


def policy_of(rt: Runtime) -> DisclosurePolicy:
    s = rt.settings
    return DisclosurePolicy(
        default_days=s.embargo_default_days,
        exploited_days=s.embargo_exploited_days,
        reminder_after_days=s.vendor_reminder_days,
        escalate_after_days=s.vendor_escalation_days,
    )


# --- the vendor directory -------------------------------------------------------------------


def set_directory(
    rt: Runtime,
    *,
    viewer: Viewer,
    organization: str,
    contacts: Sequence[str] = (),
    security_txt: bytes | None = None,
    namespaces: Sequence[str] = (),
    openpgp_key: str | None = None,
    disclosure_days: int | None = None,
    email: str | None = None,
    webhook: str | None = None,
    webhook_secret: str | None = None,
) -> dict[str, Any]:
    """Fill an organization's directory entry; a security.txt fills contacts and keys."""
    with rt.db.session() as session:
        org = access_service.get_org_by_name_or_raise(session, name=organization)
        if not (is_coordinator(viewer) or viewer.organization_id == org.id):
            raise PermissionDeniedError("an organization's directory entry is its own")
        _require_writer(viewer)
        if disclosure_days is not None and not 1 <= disclosure_days <= 3650:
            raise InputError("disclosure_days: between 1 and 3650")
        found_contacts = list(contacts)
        encryption: list[str] | None = None
        policy_url: str | None = None
        expires: dt.datetime | None = None
        warnings: list[str] = []
        if security_txt is not None:
            parsed = parse_security_txt(security_txt, now=rt.clock.now())
            found_contacts = found_contacts + [c for c in parsed.contacts if c not in contacts]
            encryption = list(parsed.encryption)
            policy_url = parsed.policy[0] if parsed.policy else None
            expires = parsed.expires
            warnings = list(parsed.warnings)
            if parsed.expired:
                warnings.append("security.txt has expired; its contacts may be stale")
        for contact in found_contacts:
            if len(contact) > 500 or not contact.strip():
                raise InputError(f"contact: {contact[:60]!r} is empty or over 500 characters")
        prefixes = [_namespace(p) for p in namespaces]
        cases_service.upsert_directory(
            session,
            organization_id=org.id,
            contacts=found_contacts if (found_contacts or security_txt is not None) else None,
            encryption=encryption,
            openpgp_key=openpgp_key,
            policy_url=policy_url,
            disclosure_days=disclosure_days,
            expires=expires,
            clock=rt.clock,
        )
        cases_service.add_namespaces(session, organization_id=org.id, prefixes=prefixes)
        if email is not None:
            cases_service.add_endpoint(
                session,
                organization_id=org.id,
                channel="email",
                address=_email(email),
                secret=None,
                clock=rt.clock,
            )
        if webhook is not None:
            if not webhook_secret or len(webhook_secret) < 16:
                raise InputError("webhook_secret: at least 16 characters, to sign deliveries")
            from clearinghouse.advisories.channels.webhook import check_webhook_url

            address = check_webhook_url(webhook, allow_private=rt.settings.webhook_allow_private)
            cases_service.add_endpoint(
                session,
                organization_id=org.id,
                channel="webhook",
                address=address,
                secret=webhook_secret,
                clock=rt.clock,
            )
        audit_service.append(
            session,
            clock=rt.clock,
            viewer=viewer,
            action="directory.set",
            object_type="organization",
            object_id=org.name,
            detail={"namespaces": prefixes, "email": email is not None, "webhook": bool(webhook)},
        )
        doc = directory_json(session, org)
        doc["warnings"] = warnings
        return doc


def _namespace(prefix: str) -> str:
    text = prefix.strip()
    if not text.startswith("pkg:") or "/" not in text or len(text) > 300 or "@" in text:
        raise InputError(
            f"namespace: {prefix!r} is not a package-URL prefix without a version "
            "(e.g. pkg:pypi/rle-decoder or pkg:github/acme/)"
        )
    return text


def _email(address: str) -> str:
    text = address.strip()
    if (
        len(text) > 254
        or text.count("@") != 1
        or any(c in text for c in "\r\n,;<> ")
        or not text.split("@")[1]
    ):
        raise InputError(f"email: {address[:80]!r} is not one e-mail address")
    return text


def directory_json(session: Session, org: Organization) -> dict[str, Any]:
    entry = cases_service.get_directory(session, organization_id=org.id)
    endpoints = cases_service.endpoints_of(session, organization_ids=[org.id])[org.id]
    return {
        "organization": org.name,
        "kind": org.kind,
        "contacts": orjson.loads(entry.contacts) if entry else [],
        "encryption": orjson.loads(entry.encryption) if entry else [],
        "openpgp_key": bool(entry and entry.openpgp_key),
        "policy": entry.policy_url if entry else None,
        "disclosure_days": entry.disclosure_days if entry else None,
        "security_txt_expires": (
            entry.security_txt_expires.isoformat() if entry and entry.security_txt_expires else None
        ),
        "namespaces": cases_service.namespaces_of(session, organization_id=org.id),
        "endpoints": [{"channel": e.channel, "address": e.address} for e in endpoints],
    }


def show_directory(rt: Runtime, *, viewer: Viewer, organization: str) -> dict[str, Any]:
    with rt.db.session() as session:
        org = access_service.get_org_by_name_or_raise(session, name=organization)
        if not (is_coordinator(viewer) or viewer.organization_id == org.id):
            raise NotFoundError(f"organization {organization} does not exist")
        return directory_json(session, org)


# --- opening a case -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class VulnFacts:
    vuln: Vulnerability
    title: str
    description: str
    cwe: int | None
    aliases: tuple[str, ...]
    finders: tuple[str, ...]
    purls: tuple[str, ...]  # affected package URLs stated by findings
    reported_at: dt.datetime


def package_urls(findings: Iterable[Finding]) -> list[str]:
    """The package URLs the findings name: a ``pkg:`` target, and each affected entry's purl
    (or one derived from its ecosystem and name)."""
    purls: list[str] = []
    for finding in findings:
        content = finding.content
        if content.target and content.target.startswith("pkg:"):
            purls.append(content.target)
        details = orjson.loads(content.details or "{}")
        for item in details.get("affected") or []:
            if not isinstance(item, dict):
                continue
            if isinstance(item.get("purl"), str):
                purls.append(item["purl"])
            elif isinstance(item.get("ecosystem"), str) and isinstance(item.get("name"), str):
                derived = package_purl(item["ecosystem"], item["name"])
                if derived:
                    purls.append(derived)
    return purls


def vulnerability_facts(session: Session, *, vulns: Sequence[Vulnerability]) -> list[VulnFacts]:
    """What the findings say of each vulnerability, as a coordinator sees them (two queries)."""
    summaries, visible = dedup_queries.summarize(session, viewer=LOCAL_ADMIN, vulns=vulns)
    out = []
    for vuln, summary in zip(vulns, summaries, strict=True):
        shown = visible[vuln.id]
        first = shown[0][0]
        purls = package_urls(finding for finding, _ in shown)
        out.append(
            VulnFacts(
                vuln=vuln,
                title=summary.title,
                description=first.content.description,
                cwe=summary.cwe,
                aliases=summary.aliases,
                finders=summary.finders,
                purls=tuple(dict.fromkeys(purls)),
                reported_at=min(f.created_at for f, _ in shown),
            )
        )
    return out


def open_case(
    rt: Runtime,
    *,
    viewer: Viewer,
    vuln_ids: Sequence[str],
    title: str | None = None,
    vendors: Sequence[str] = (),
    allow_unvalidated: bool = False,
) -> dict[str, Any]:
    """Open a case on validated vulnerabilities, with their finders as reporters and the
    vendors whose package-URL namespaces cover an affected component (plus any named)."""
    require_coordinator(viewer, "opening a case")
    if not vuln_ids:
        raise InputError("VULN_ID: at least one vulnerability")
    if len(vuln_ids) > 100:
        raise InputError("VULN_ID: at most 100 vulnerabilities per case")
    if title is not None and not 1 <= len(title.strip()) <= 500:
        raise InputError("title: 1 to 500 characters")
    now = rt.clock.now()
    with rt.db.session() as session:
        vulns: list[Vulnerability] = []
        for vuln_id in dict.fromkeys(v.strip().upper() for v in vuln_ids):
            vuln = dedup_queries.get_visible_or_raise(session, viewer=viewer, public_id=vuln_id)
            if vuln not in vulns:
                vulns.append(vuln)
        if not allow_unvalidated:
            reproduced = validation_service.reproduced_public_ids(
                session, public_ids=[v.public_id for v in vulns]
            )
            missing = [v.public_id for v in vulns if v.public_id not in reproduced]
            if missing:
                raise ConflictError(
                    f"not validated: {', '.join(missing)} (no reproduced proof); validate "
                    "first, or open with --allow-unvalidated to record the exception"
                )
        taken = _open_cases_of(session, [v.id for v in vulns])
        if taken:
            raise ConflictError("already in an open case: " + ", ".join(taken))
        facts = vulnerability_facts(session, vulns=vulns)
        finder_orgs = {
            o.name: o
            for o in session.scalars(
                select(Organization).where(
                    Organization.name.in_(sorted({n for f in facts for n in f.finders}))
                )
            )
        }
        policies = []
        for fact in facts:
            for name in fact.finders:
                org = finder_orgs.get(name)
                entry = (
                    cases_service.get_directory(session, organization_id=org.id) if org else None
                )
                policies.append(
                    FinderPolicy(
                        organization=name,
                        reported_at=fact.reported_at,
                        days=entry.disclosure_days if entry else None,
                    )
                )
        exploited = _exploited(session, facts)
        planned = default_embargo(
            opened_at=now, exploited=exploited, finders=policies, policy=policy_of(rt)
        )
        embargo = dataclasses.replace(
            embargo_rules.propose(until=planned.until, binding_until=planned.binding_until),
            reason=planned.reason,
        )
        case = cases_service.create_case(
            session,
            title=(title or facts[0].title).strip()[:500],
            vulnerability_ids=[v.id for v in vulns],
            exploited=exploited,
            embargo=embargo,
            created_by_org_id=viewer.organization_id,
            actor=viewer.label,
            clock=rt.clock,
        )
        suggested = cases_service.vendors_for_purls(
            session, purls=[p for f in facts for p in f.purls]
        )
        named = [access_service.get_org_by_name_or_raise(session, name=n) for n in vendors]
        entries: list[tuple[int, str, str | None]] = [
            (org_id, "vendor", prefix) for org_id, prefix in sorted(suggested.items())
        ]
        entries += [(org.id, "vendor", None) for org in named]
        entries += [(org.id, "reporter", None) for org in finder_orgs.values()]
        if viewer.organization_id is not None:
            entries.append((viewer.organization_id, "coordinator", None))
        cases_service.add_participants(session, case_id=case.id, entries=entries, clock=rt.clock)
        vendor_ids = [
            p.organization_id
            for p in cases_service.participants(session, case_id=case.id)
            if p.role == "vendor"
        ]
        cases_service.ensure_statuses(
            session,
            case_id=case.id,
            vendor_ids=vendor_ids,
            vulnerability_ids=[v.id for v in vulns],
            clock=rt.clock,
        )
        audit_service.append(
            session,
            clock=rt.clock,
            viewer=viewer,
            action="case.open",
            object_type="case",
            object_id=case.public_id,
            detail={
                "vulnerabilities": [v.public_id for v in vulns],
                "vendors": len(vendor_ids),
                "embargo_until": embargo.until.isoformat(),
                "unvalidated_allowed": allow_unvalidated,
            },
        )
        return case_json(session, CaseAccess(case, True, None))


def _open_cases_of(session: Session, vuln_ids: Sequence[int]) -> list[str]:
    rows = session.execute(
        select(Vulnerability.public_id, Case.public_id)
        .join(CaseVulnerability, CaseVulnerability.vulnerability_id == Vulnerability.id)
        .join(Case, Case.id == CaseVulnerability.case_id)
        .where(Vulnerability.id.in_(vuln_ids), Case.status == "open")
    )
    return [f"{vuln} ({case})" for vuln, case in rows]


def _exploited(session: Session, facts: Sequence[VulnFacts]) -> bool:
    cves = [a for f in facts for a in f.aliases if a.startswith("CVE-")]
    return bool(prioritization_service.kev_for(session, cves))


# --- reading --------------------------------------------------------------------------------


def case_json(session: Session, access: CaseAccess) -> dict[str, Any]:
    """The case as this viewer may see it; a fixed number of queries whatever its size."""
    case = access.case
    links = cases_service.case_vulnerabilities(session, case_id=case.id)
    names = vulns_service.public_ids(session, ids=[link.vulnerability_id for link in links])
    parts = cases_service.participants(session, case_id=case.id)
    patches = cases_service.patches(session, case_id=case.id)
    orgs = org_names(
        session,
        [p.organization_id for p in parts]
        + [p.organization_id for p in patches if p.organization_id is not None],
    )
    embargo = cases_service.embargo_of(case)
    own_org = access.participant.organization_id if access.participant else None
    matrix: list[dict[str, Any]] = []
    for row in cases_service.statuses(session, case_id=case.id):
        if not (access.coordinator or row.approved or row.organization_id == own_org):
            continue
        matrix.append(
            {
                "vendor": orgs.get(row.organization_id),
                "vulnerability": names.get(row.vulnerability_id),
                "status": row.status,
                "statement": row.statement,
                "product": row.product,
                "fixed_version": row.fixed_version,
                "approved": row.approved,
                "updated_at": row.updated_at.isoformat(),
            }
        )
    patch_rows = [
        {
            "id": p.id,
            "vendor": (
                orgs.get(p.organization_id) if p.organization_id is not None else "coordinator"
            ),
            "vulnerability": names.get(p.vulnerability_id),
            "verdict": p.verdict,
            "patch_validation": p.patch_validation_id,
            "fixed_version": p.fixed_version,
            "uploaded_at": p.uploaded_at.isoformat(),
        }
        for p in patches
    ]
    return {
        "id": case.public_id,
        "title": case.title,
        "status": case.status,
        "your_role": access.role,
        "exploited": case.exploited,
        "vulnerabilities": [
            {
                "id": names.get(link.vulnerability_id),
                "cve": link.cve_id,
                "cvss_v3": link.cvss_v3,
                "cvss_v4": link.cvss_v4,
            }
            for link in links
        ],
        "embargo": {
            "state": embargo.state.value,
            "until": embargo.until.isoformat(),
            "until_display": format_instant(embargo.until),
            "binding_until": embargo.binding_until.isoformat(),
            "reason": embargo.reason,
            "ended_at": embargo.ended_at.isoformat() if embargo.ended_at else None,
        },
        "participants": [
            {
                "organization": orgs.get(p.organization_id),
                "role": p.role,
                "suggested_by": p.suggested_by,
                "notified_at": p.notified_at.isoformat() if p.notified_at else None,
                "responded_at": p.responded_at.isoformat() if p.responded_at else None,
                "reminded_at": p.reminded_at.isoformat() if p.reminded_at else None,
                "escalated_at": p.escalated_at.isoformat() if p.escalated_at else None,
                "agreed_until": p.agreed_until.isoformat() if p.agreed_until else None,
            }
            for p in parts
        ],
        "statuses": matrix,
        "patches": patch_rows,
        "created_at": case.created_at.isoformat(),
        "published_at": case.published_at.isoformat() if case.published_at else None,
    }


def org_names(session: Session, ids: Sequence[int]) -> dict[int, str]:
    found: dict[int, str] = {}
    unique = sorted(set(ids))
    for start in range(0, len(unique), 500):
        chunk = unique[start : start + 500]
        for org_id, name in session.execute(
            select(Organization.id, Organization.name).where(Organization.id.in_(chunk))
        ):
            found[org_id] = name
    return found


def show_case(rt: Runtime, *, viewer: Viewer, case_id: str) -> dict[str, Any]:
    with rt.db.session() as session:
        access = access_case(session, viewer=viewer, case_id=case_id)
        doc = case_json(session, access)
        doc["embargo_history"] = [
            {
                "state": e.state,
                "until": e.until.isoformat(),
                "reason": e.reason,
                "at": e.at.isoformat(),
            }
            for e in cases_service.embargo_history(session, case_id=access.case.id)
        ]
        audit_service.append(
            session,
            clock=rt.clock,
            viewer=viewer,
            action="case.read",
            object_type="case",
            object_id=access.case.public_id,
            tlp=Tlp.AMBER_STRICT.value
            if embargo_rules.EmbargoState(access.case.embargo_state).binding
            else None,
        )
        return doc


def list_cases(rt: Runtime, *, viewer: Viewer) -> list[dict[str, Any]]:
    with rt.db.session() as session:
        query = select(Case).order_by(Case.id)
        if not is_coordinator(viewer):
            if viewer.organization_id is None:
                return []
            ids = cases_service.case_ids_of_org(session, organization_id=viewer.organization_id)
            query = query.where(Case.id.in_(ids))
        return [
            {
                "id": case.public_id,
                "title": case.title,
                "status": case.status,
                "embargo": case.embargo_state,
                "embargo_until": format_instant(case.embargo_until),
                "created_at": case.created_at.isoformat(),
            }
            for case in session.scalars(query)
        ]


# --- participants and statuses --------------------------------------------------------------


def add_participant(
    rt: Runtime, *, viewer: Viewer, case_id: str, organization: str, role: str
) -> dict[str, Any]:
    require_coordinator(viewer, "adding a participant")
    with rt.db.session() as session:
        access = access_case(session, viewer=viewer, case_id=case_id)
        org = access_service.get_org_by_name_or_raise(session, name=organization)
        added = cases_service.add_participants(
            session, case_id=access.case.id, entries=[(org.id, role, None)], clock=rt.clock
        )
        if not added:
            raise ConflictError(f"{organization} already takes part in {access.case.public_id}")
        if role == "vendor":
            links = cases_service.case_vulnerabilities(session, case_id=access.case.id)
            cases_service.ensure_statuses(
                session,
                case_id=access.case.id,
                vendor_ids=[org.id],
                vulnerability_ids=[link.vulnerability_id for link in links],
                clock=rt.clock,
            )
        audit_service.append(
            session,
            clock=rt.clock,
            viewer=viewer,
            action="case.participant.add",
            object_type="case",
            object_id=access.case.public_id,
            detail={"organization": organization, "role": role},
        )
        return case_json(session, access)


def _case_vuln_or_raise(session: Session, case: Case, vuln_id: str) -> Vulnerability:
    vuln = vulns_service.get_by_public_id(session, public_id=vuln_id.strip().upper())
    if vuln is not None:
        vuln = vulns_service.resolve_merged(session, vuln=vuln)
        links = cases_service.case_vulnerabilities(session, case_id=case.id)
        if any(link.vulnerability_id == vuln.id for link in links):
            return vuln
    raise NotFoundError(f"vulnerability {vuln_id} is not in case {case.public_id}")


def set_status(
    rt: Runtime,
    *,
    viewer: Viewer,
    case_id: str,
    vuln_id: str,
    status: str,
    statement: str = "",
    product: str | None = None,
    fixed_version: str | None = None,
    vendor: str | None = None,
) -> dict[str, Any]:
    """A vendor states its status (pending approval); a coordinator may set one for a vendor
    (approved at once, e.g. from the vendor's own published advisory)."""
    _require_writer(viewer)
    if status not in cases_service.VENDOR_STATUSES:
        raise InputError(f"status: one of {', '.join(cases_service.VENDOR_STATUSES)}")
    if len(statement) > MAX_STATEMENT_CHARS:
        raise InputError(f"statement: at most {MAX_STATEMENT_CHARS} characters")
    if status == "fixed" and not fixed_version:
        raise InputError("fixed_version: required when the status is fixed")
    if fixed_version is not None and not 1 <= len(fixed_version) <= 100:
        raise InputError("fixed_version: 1 to 100 characters")
    if product is not None and (not product.startswith("pkg:") or len(product) > 300):
        raise InputError("product: a package URL (pkg:...) of at most 300 characters")
    with rt.db.session() as session:
        access = access_case(session, viewer=viewer, case_id=case_id)
        if vendor is not None:
            require_coordinator(viewer, "setting another organization's status")
            org = access_service.get_org_by_name_or_raise(session, name=vendor)
        elif access.participant is not None and access.participant.role == "vendor":
            org = session.get(Organization, access.participant.organization_id)  # type: ignore[assignment]
        else:
            raise PermissionDeniedError(
                "only a vendor in the case states a status (or name --vendor)"
            )
        if status == "no_response" and not access.coordinator:
            raise PermissionDeniedError("no_response is recorded by coordinators")
        vuln = _case_vuln_or_raise(session, access.case, vuln_id)
        row = cases_service.get_status_or_raise(
            session, case_id=access.case.id, vulnerability_id=vuln.id, organization_id=org.id
        )
        row.status = status
        row.statement = statement
        row.product = product or row.product
        row.fixed_version = fixed_version or row.fixed_version
        row.approved = access.coordinator
        row.approved_at = rt.clock.now() if access.coordinator else None
        row.updated_at = rt.clock.now()
        part = cases_service.participant(session, case_id=access.case.id, organization_id=org.id)
        if part is not None and not access.coordinator and part.responded_at is None:
            part.responded_at = rt.clock.now()
        audit_service.append(
            session,
            clock=rt.clock,
            viewer=viewer,
            action="case.status.set",
            object_type="case",
            object_id=access.case.public_id,
            detail={"vendor": org.name, "vulnerability": vuln.public_id, "status": status},
        )
        return case_json(session, access)


def approve_status(
    rt: Runtime, *, viewer: Viewer, case_id: str, vuln_id: str, vendor: str
) -> dict[str, Any]:
    require_coordinator(viewer, "approving a vendor status")
    with rt.db.session() as session:
        access = access_case(session, viewer=viewer, case_id=case_id)
        org = access_service.get_org_by_name_or_raise(session, name=vendor)
        vuln = _case_vuln_or_raise(session, access.case, vuln_id)
        row = cases_service.get_status_or_raise(
            session, case_id=access.case.id, vulnerability_id=vuln.id, organization_id=org.id
        )
        row.approved = True
        row.approved_at = rt.clock.now()
        audit_service.append(
            session,
            clock=rt.clock,
            viewer=viewer,
            action="case.status.approve",
            object_type="case",
            object_id=access.case.public_id,
            detail={"vendor": vendor, "vulnerability": vuln.public_id, "status": row.status},
        )
        return case_json(session, access)


def describe_vulnerability(
    rt: Runtime,
    *,
    viewer: Viewer,
    case_id: str,
    vuln_id: str,
    cvss_v3: str | None = None,
    cvss_v4: str | None = None,
    cve: str | None = None,
    title: str | None = None,
    description: str | None = None,
) -> dict[str, Any]:
    """What the advisory will say of one vulnerability: scores, CVE id, title, description."""
    require_coordinator(viewer, "describing a vulnerability for the advisory")
    if cvss_v3 is not None:
        if not cvss_v3.startswith("CVSS:3."):
            raise InputError("cvss_v3: a CVSS:3.0 or CVSS:3.1 vector")
        cvss_rules.score(cvss_v3)
    if cvss_v4 is not None:
        if not cvss_v4.startswith("CVSS:4.0/"):
            raise InputError("cvss_v4: a CVSS:4.0 vector")
        cvss_rules.score(cvss_v4)
    if cve is not None and not _CVE.fullmatch(cve):
        raise InputError(f"cve: {cve!r} is not a CVE id (CVE-YYYY-NNNN+)")
    if title is not None and not 1 <= len(title) <= 500:
        raise InputError("title: 1 to 500 characters")
    if description is not None and not 1 <= len(description) <= 20_000:
        raise InputError("description: 1 to 20000 characters")
    with rt.db.session() as session:
        access = access_case(session, viewer=viewer, case_id=case_id)
        vuln = _case_vuln_or_raise(session, access.case, vuln_id)
        link = next(
            link
            for link in cases_service.case_vulnerabilities(session, case_id=access.case.id)
            if link.vulnerability_id == vuln.id
        )
        link.cvss_v3 = cvss_v3 or link.cvss_v3
        link.cvss_v4 = cvss_v4 or link.cvss_v4
        link.cve_id = cve or link.cve_id
        link.title = title or link.title
        link.description = description or link.description
        audit_service.append(
            session,
            clock=rt.clock,
            viewer=viewer,
            action="case.vulnerability.describe",
            object_type="case",
            object_id=access.case.public_id,
            detail={"vulnerability": vuln.public_id, "cvss_v3": cvss_v3, "cve": cve},
        )
        return case_json(session, access)


# --- embargo --------------------------------------------------------------------------------

EMBARGO_ACTIONS = ("agree", "extend", "accept", "lift", "break")


def embargo_action(
    rt: Runtime,
    *,
    viewer: Viewer,
    case_id: str,
    action: str,
    until: dt.datetime | None = None,
    reason: str = "",
) -> dict[str, Any]:
    """Move the embargo: coordinators agree, extend, lift and break; participants accept a date.

    ``accept`` records that the viewer's organization agrees to ``until`` (needed before an
    extension past the finders' disclosure date)."""
    if action not in EMBARGO_ACTIONS:
        raise InputError(f"action: one of {', '.join(EMBARGO_ACTIONS)}")
    _require_writer(viewer)
    now = rt.clock.now()
    with rt.db.session() as session:
        access = access_case(session, viewer=viewer, case_id=case_id)
        case = access.case
        current = cases_service.embargo_of(case)
        if action == "accept":
            if access.participant is None:
                raise PermissionDeniedError("only a participant accepts an embargo date")
            if until is None:
                raise InputError("until: the date being accepted")
            access.participant.agreed_until = embargo_rules.utc(until)
            if access.participant.responded_at is None:
                access.participant.responded_at = now
            new = current
        else:
            require_coordinator(viewer, f"'{action}' on an embargo")
            if action == "agree":
                new = embargo_rules.agree(current, now=now)
            elif action == "extend":
                if until is None:
                    raise InputError("until: the new embargo date")
                parts = cases_service.participants(session, case_id=case.id)
                names = org_names(session, [p.organization_id for p in parts])
                target = embargo_rules.utc(until)
                reporters = [names[p.organization_id] for p in parts if p.role == "reporter"]
                agreed = [
                    names[p.organization_id]
                    for p in parts
                    if p.role == "reporter"
                    and p.agreed_until is not None
                    and p.agreed_until >= target
                ]
                new = embargo_rules.extend(
                    current,
                    until=target,
                    now=now,
                    finders=reporters,
                    agreed_by=agreed,
                    reason=reason,
                )
            elif action == "lift":
                parties = [
                    p
                    for p in cases_service.participants(session, case_id=case.id)
                    if p.role in ("vendor", "reporter")
                ]
                all_agreed = bool(parties) and all(
                    p.agreed_until is not None and p.agreed_until <= now for p in parties
                )
                new = embargo_rules.lift(current, now=now, all_agreed=all_agreed)
            else:
                new = embargo_rules.break_(current, now=now, reason=reason)
            cases_service.store_embargo(
                session, case=case, embargo=new, actor=viewer.label, clock=rt.clock
            )
        audit_service.append(
            session,
            clock=rt.clock,
            viewer=viewer,
            action=f"case.embargo.{action}",
            object_type="case",
            object_id=case.public_id,
            detail={
                "state": new.state.value,
                "until": (until or new.until).isoformat(),
                "reason": reason[:500],
            },
        )
        return case_json(session, access)


# --- messages -------------------------------------------------------------------------------


def post_message(
    rt: Runtime,
    *,
    viewer: Viewer,
    case_id: str,
    body: str,
    thread: str = "case",
    to: str | None = None,
    tlp: str = "AMBER",
) -> dict[str, Any]:
    """A message in the case thread or a product's thread, to every participant or one."""
    _require_writer(viewer)
    label = Tlp.parse(tlp)
    if not body.strip() or len(body) > MAX_MESSAGE_CHARS:
        raise InputError(f"body: 1 to {MAX_MESSAGE_CHARS} characters")
    if thread != "case" and (not thread.startswith("pkg:") or len(thread) > 300):
        raise InputError("thread: 'case' or a product's package URL")
    with rt.db.session() as session:
        access = access_case(session, viewer=viewer, case_id=case_id)
        embargo = cases_service.embargo_of(access.case)
        if label is Tlp.CLEAR and embargo.state.binding:
            raise ConflictError(
                "tlp: a TLP:CLEAR message may be shared publicly, which the embargo forbids "
                f"({embargo.describe()})"
            )
        recipient_id: int | None = None
        if to is not None:
            org = access_service.get_org_by_name_or_raise(session, name=to)
            if (
                cases_service.participant(session, case_id=access.case.id, organization_id=org.id)
                is None
                and org.kind != OrgKind.COORDINATOR.value
            ):
                raise InputError(f"to: {to} does not take part in {access.case.public_id}")
            recipient_id = org.id
        elif label is Tlp.RED:
            raise InputError("tlp: a TLP:RED message names its one recipient (to)")
        row = cases_service.add_message(
            session,
            case_id=access.case.id,
            thread=thread,
            author_org_id=viewer.organization_id,
            author=viewer.organization,
            recipient_org_id=recipient_id,
            tlp=label.value,
            body=body,
            clock=rt.clock,
        )
        if access.participant is not None and access.participant.responded_at is None:
            access.participant.responded_at = rt.clock.now()
        audit_service.append(
            session,
            clock=rt.clock,
            viewer=viewer,
            action="case.message",
            object_type="case",
            object_id=access.case.public_id,
            tlp=label.value,
            detail={"message": row.id, "thread": thread, "private": recipient_id is not None},
        )
        return message_json(row, org_names(session, [recipient_id] if recipient_id else []))


def message_json(row: Any, names: dict[int, str]) -> dict[str, Any]:
    return {
        "id": row.id,
        "thread": row.thread,
        "author": row.author,
        "to": names.get(row.recipient_org_id) if row.recipient_org_id else None,
        "tlp": row.tlp,
        "body": row.body,
        "created_at": row.created_at.isoformat(),
    }


def visible_messages(session: Session, *, viewer: Viewer, access: CaseAccess) -> list[Any]:
    """The case's messages this viewer may read: TLP:RED ones only by their author and their
    one named recipient."""
    rows = cases_service.messages_for(
        session,
        case_id=access.case.id,
        organization_id=viewer.organization_id,
        everything=viewer.superuser,
    )
    return [
        r
        for r in rows
        if not (
            r.tlp == Tlp.RED.value
            and not viewer.superuser
            and viewer.organization_id not in (r.author_org_id, r.recipient_org_id)
        )
    ]


def list_messages(rt: Runtime, *, viewer: Viewer, case_id: str) -> dict[str, Any]:
    with rt.db.session() as session:
        access = access_case(session, viewer=viewer, case_id=case_id)
        rows = visible_messages(session, viewer=viewer, access=access)
        names = org_names(session, [r.recipient_org_id for r in rows if r.recipient_org_id])
        threads: dict[str, list[dict[str, Any]]] = {}
        for row in rows:
            threads.setdefault(row.thread, []).append(message_json(row, names))
        return {"case": access.case.public_id, "threads": threads}


# --- patches --------------------------------------------------------------------------------


def upload_patch(
    rt: Runtime,
    *,
    viewer: Viewer,
    case_id: str,
    vuln_id: str,
    diff: bytes,
    fixed_version: str | None = None,
) -> dict[str, Any]:
    """A vendor's patch, judged by the validation engine; every participant sees the verdict."""
    _require_writer(viewer)
    if fixed_version is not None and not 1 <= len(fixed_version) <= 100:
        raise InputError("fixed_version: 1 to 100 characters")
    with rt.db.session() as session:
        access = access_case(session, viewer=viewer, case_id=case_id)
        if not access.coordinator and (
            access.participant is None or access.participant.role != "vendor"
        ):
            raise PermissionDeniedError("patches come from the case's vendors (or coordinators)")
        vuln = _case_vuln_or_raise(session, access.case, vuln_id)
        case_pk, public_case, public_vuln, vuln_pk = (
            access.case.id,
            access.case.public_id,
            vuln.public_id,
            vuln.id,
        )
        org_id = viewer.organization_id
    result = patch_flow.validate_patch(
        rt, viewer=case_scope_viewer(viewer), vuln_id=public_vuln, diff=diff
    )
    with rt.db.session() as session:
        row = cases_service.add_patch(
            session,
            case_id=case_pk,
            vulnerability_id=vuln_pk,
            organization_id=org_id,
            patch_validation_id=result["id"],
            verdict=result["verdict"],
            fixed_version=fixed_version,
            clock=rt.clock,
        )
        if org_id is not None:
            part = cases_service.participant(session, case_id=case_pk, organization_id=org_id)
            if part is not None and part.responded_at is None:
                part.responded_at = rt.clock.now()
            if result["verdict"] == "fixes" and fixed_version and part and part.role == "vendor":
                status = cases_service.get_status_or_raise(
                    session, case_id=case_pk, vulnerability_id=vuln_pk, organization_id=org_id
                )
                status.fixed_version = fixed_version
        audit_service.append(
            session,
            clock=rt.clock,
            viewer=viewer,
            action="case.patch",
            object_type="case",
            object_id=public_case,
            detail={"vulnerability": public_vuln, "verdict": result["verdict"]},
        )
        return {
            "case": public_case,
            "patch": row.id,
            "vulnerability": public_vuln,
            "verdict": result["verdict"],
            "fixed_version": fixed_version,
            "validation": result,
        }


# --- the scheduler's part -------------------------------------------------------------------


def run_deadlines(rt: Runtime) -> dict[str, Any]:
    """Lift due embargoes, remind silent vendors, escalate the silent ones past the deadline.

    Idempotent: each step is recorded on its row, so running twice does nothing new; the
    in-process scheduler and Celery beat both call this.
    """
    from clearinghouse.pipeline import publish_flow  # it imports this module

    now = rt.clock.now()
    policy = policy_of(rt)
    lifted: list[str] = []
    reminded: list[str] = []
    escalated: list[str] = []
    with rt.db.session() as session:
        for case in session.scalars(select(Case).where(Case.status == "open")):
            embargo = cases_service.embargo_of(case)
            if embargo_rules.due_for_lift(embargo, now=now):
                cases_service.store_embargo(
                    session,
                    case=case,
                    embargo=embargo_rules.lift(embargo, now=now),
                    actor="scheduler",
                    clock=rt.clock,
                )
                lifted.append(case.public_id)
                audit_service.append(
                    session,
                    clock=rt.clock,
                    viewer=LOCAL_ADMIN,
                    action="case.embargo.lift",
                    object_type="case",
                    object_id=case.public_id,
                    detail={"by": "scheduler"},
                )
            parts = [
                p
                for p in cases_service.participants(session, case_id=case.id)
                if p.role == "vendor"
            ]
            clocks = [
                VendorClock(p.id, p.notified_at, p.responded_at, p.reminded_at, p.escalated_at)
                for p in parts
            ]
            by_id = {p.id: p for p in parts}
            names = org_names(session, [p.organization_id for p in parts])
            for due in due_actions(clocks, now=now, policy=policy):
                part = by_id[due.participant_id]
                vendor = names.get(part.organization_id, "?")
                if due.action is DeadlineAction.REMIND:
                    part.reminded_at = now
                    publish_flow.queue_notification(
                        session,
                        rt,
                        case=case,
                        organization_id=part.organization_id,
                        kind="reminder",
                        tlp=Tlp.AMBER_STRICT.value,
                        subject=f"Reminder: {case.public_id} awaits your status",
                        body=(
                            f"{case.public_id} ({case.title}) has waited {due.silent_days} "
                            "days for your status on each vulnerability. Embargo: "
                            f"{embargo.describe()}."
                        ),
                        payload={"type": "case.reminder", "case": case.public_id},
                    )
                    reminded.append(f"{case.public_id}:{vendor}")
                else:
                    part.escalated_at = now
                    part.reminded_at = part.reminded_at or now
                    cases_service.mark_no_response(
                        session,
                        case_id=case.id,
                        organization_id=part.organization_id,
                        clock=rt.clock,
                    )
                    for coordinator in cases_service.participants(session, case_id=case.id):
                        if coordinator.role != "coordinator":
                            continue
                        publish_flow.queue_notification(
                            session,
                            rt,
                            case=case,
                            organization_id=coordinator.organization_id,
                            kind="escalation",
                            tlp=Tlp.AMBER_STRICT.value,
                            subject=f"Escalation: {vendor} silent on {case.public_id}",
                            body=(
                                f"{vendor} has not answered on {case.public_id} for "
                                f"{due.silent_days} days; its statuses are now no_response."
                            ),
                            payload={
                                "type": "case.escalation",
                                "case": case.public_id,
                                "vendor": vendor,
                            },
                        )
                    escalated.append(f"{case.public_id}:{vendor}")
                audit_service.append(
                    session,
                    clock=rt.clock,
                    viewer=LOCAL_ADMIN,
                    action=f"case.vendor.{due.action.value}",
                    object_type="case",
                    object_id=case.public_id,
                    detail={"vendor": vendor, "silent_days": due.silent_days},
                )
    return {"lifted": lifted, "reminded": reminded, "escalated": escalated}
