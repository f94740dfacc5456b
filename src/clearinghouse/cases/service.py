"""Queries and commands on cases, participants, statuses, messages and the vendor directory.

Rules that need no database (embargo transitions, default dates, deadlines) live in the pure
modules beside this one; this module stores their results. Who may do what is decided by the
pipeline, which knows the viewer; these functions trust their caller.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence

import orjson
from sqlalchemy import delete, or_, select
from sqlalchemy.orm import Session

from clearinghouse.cases.embargo import Embargo, EmbargoState
from clearinghouse.cases.models import (
    Case,
    CaseMessage,
    CasePatch,
    CaseVulnerability,
    DirectoryEntry,
    EmbargoEvent,
    Endpoint,
    Participant,
    VendorNamespace,
    VendorStatus,
)
from clearinghouse.core.clock import Clock
from clearinghouse.core.errors import InputError, NotFoundError
from clearinghouse.vulns import service as vulns_service

VENDOR_STATUSES = ("unknown", "affected", "not_affected", "fixed", "no_response")
PARTICIPANT_ROLES = ("vendor", "reporter", "coordinator")


# --- directory ------------------------------------------------------------------------------


def get_directory(session: Session, *, organization_id: int) -> DirectoryEntry | None:
    return session.get(DirectoryEntry, organization_id)


def upsert_directory(
    session: Session,
    *,
    organization_id: int,
    contacts: Sequence[str] | None,
    encryption: Sequence[str] | None,
    openpgp_key: str | None,
    policy_url: str | None,
    disclosure_days: int | None,
    expires: dt.datetime | None,
    clock: Clock,
) -> DirectoryEntry:
    """Set the given fields (None leaves a field as it was)."""
    entry = session.get(DirectoryEntry, organization_id)
    if entry is None:
        entry = DirectoryEntry(organization_id=organization_id, contacts="[]", encryption="[]")
        session.add(entry)
    if contacts is not None:
        entry.contacts = orjson.dumps(list(contacts)).decode()
    if encryption is not None:
        entry.encryption = orjson.dumps(list(encryption)).decode()
    if openpgp_key is not None:
        entry.openpgp_key = openpgp_key
    if policy_url is not None:
        entry.policy_url = policy_url
    if disclosure_days is not None:
        entry.disclosure_days = disclosure_days
    if expires is not None:
        entry.security_txt_expires = expires
    entry.updated_at = clock.now()
    session.flush()
    return entry


def add_namespaces(session: Session, *, organization_id: int, prefixes: Iterable[str]) -> None:
    for prefix in prefixes:
        owner = session.scalars(
            select(VendorNamespace.organization_id).where(VendorNamespace.prefix == prefix)
        ).first()
        if owner is not None and owner != organization_id:
            raise InputError(f"namespace: {prefix} is already owned by another organization")
        if owner is None:
            session.add(VendorNamespace(organization_id=organization_id, prefix=prefix))
    session.flush()


def namespaces_of(session: Session, *, organization_id: int) -> list[str]:
    return list(
        session.scalars(
            select(VendorNamespace.prefix)
            .where(VendorNamespace.organization_id == organization_id)
            .order_by(VendorNamespace.prefix)
        )
    )


def vendors_for_purls(session: Session, *, purls: Iterable[str]) -> dict[int, str]:
    """Vendors owning a namespace that prefixes one of ``purls``: org id → the longest prefix.

    A prefix matches at a path boundary only, so ``pkg:pypi/foo`` owns ``pkg:pypi/foo`` and
    ``pkg:pypi/foo@1.0`` but not ``pkg:pypi/foobar``.
    """
    wanted = [p.split("?", 1)[0].split("#", 1)[0] for p in purls if p]
    if not wanted:
        return {}
    found: dict[int, str] = {}
    for org_id, prefix in session.execute(
        select(VendorNamespace.organization_id, VendorNamespace.prefix)
    ):
        for purl in wanted:
            if _owns(prefix, purl) and len(prefix) > len(found.get(org_id, "")):
                found[org_id] = prefix
    return found


def _owns(prefix: str, purl: str) -> bool:
    if prefix.endswith("/"):
        return purl.startswith(prefix)
    return purl == prefix or purl.startswith((prefix + "@", prefix + "/"))


def add_endpoint(
    session: Session,
    *,
    organization_id: int,
    channel: str,
    address: str,
    secret: str | None,
    clock: Clock,
) -> Endpoint:
    existing = session.scalars(
        select(Endpoint).where(
            Endpoint.organization_id == organization_id,
            Endpoint.channel == channel,
            Endpoint.address == address,
        )
    ).first()
    if existing is not None:
        existing.secret = secret
        return existing
    endpoint = Endpoint(
        organization_id=organization_id,
        channel=channel,
        address=address,
        secret=secret,
        created_at=clock.now(),
    )
    session.add(endpoint)
    session.flush()
    return endpoint


def endpoints_of(session: Session, *, organization_ids: Iterable[int]) -> dict[int, list[Endpoint]]:
    ids = sorted(set(organization_ids))
    found: dict[int, list[Endpoint]] = {i: [] for i in ids}
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        for endpoint in session.scalars(
            select(Endpoint).where(Endpoint.organization_id.in_(chunk)).order_by(Endpoint.id)
        ):
            found[endpoint.organization_id].append(endpoint)
    return found


# --- cases ----------------------------------------------------------------------------------


def create_case(
    session: Session,
    *,
    title: str,
    vulnerability_ids: Sequence[int],
    exploited: bool,
    embargo: Embargo,
    created_by_org_id: int | None,
    actor: str,
    clock: Clock,
) -> Case:
    now = clock.now()
    year = now.year
    number = vulns_service.allocate_numbers(session, scope=f"CASE-{year}", count=1)
    case = Case(
        public_id=f"CASE-{year}-{number:04d}",
        title=title,
        status="open",
        exploited=exploited,
        embargo_state=embargo.state.value,
        embargo_until=embargo.until,
        embargo_binding_until=embargo.binding_until,
        embargo_reason=embargo.reason,
        created_by_org_id=created_by_org_id,
        created_at=now,
        updated_at=now,
    )
    session.add(case)
    session.flush()
    session.add_all(
        CaseVulnerability(case_id=case.id, vulnerability_id=v) for v in vulnerability_ids
    )
    session.add(
        EmbargoEvent(
            case_id=case.id,
            state=embargo.state.value,
            until=embargo.until,
            reason=embargo.reason,
            actor=actor,
            at=now,
        )
    )
    session.flush()
    return case


def get_case_or_raise(session: Session, *, public_id: str) -> Case:
    case = session.scalars(select(Case).where(Case.public_id == public_id.strip().upper())).first()
    if case is None:
        raise NotFoundError(f"case {public_id} does not exist")
    return case


def embargo_of(case: Case) -> Embargo:
    return Embargo(
        state=EmbargoState(case.embargo_state),
        until=case.embargo_until,
        binding_until=case.embargo_binding_until,
        reason=case.embargo_reason,
        ended_at=case.embargo_ended_at,
    )


def store_embargo(
    session: Session, *, case: Case, embargo: Embargo, actor: str, clock: Clock
) -> None:
    case.embargo_state = embargo.state.value
    case.embargo_until = embargo.until
    case.embargo_binding_until = embargo.binding_until
    case.embargo_reason = embargo.reason
    case.embargo_ended_at = embargo.ended_at
    case.updated_at = clock.now()
    session.add(
        EmbargoEvent(
            case_id=case.id,
            state=embargo.state.value,
            until=embargo.until,
            reason=embargo.reason,
            actor=actor,
            at=clock.now(),
        )
    )
    session.flush()


def embargo_history(session: Session, *, case_id: int) -> list[EmbargoEvent]:
    return list(
        session.scalars(
            select(EmbargoEvent).where(EmbargoEvent.case_id == case_id).order_by(EmbargoEvent.id)
        )
    )


def case_vulnerabilities(session: Session, *, case_id: int) -> list[CaseVulnerability]:
    return list(
        session.scalars(
            select(CaseVulnerability)
            .where(CaseVulnerability.case_id == case_id)
            .order_by(CaseVulnerability.id)
        )
    )


def case_ids_of_org(session: Session, *, organization_id: int) -> list[int]:
    return list(
        session.scalars(
            select(Participant.case_id).where(Participant.organization_id == organization_id)
        )
    )


# --- participants ---------------------------------------------------------------------------


def participants(session: Session, *, case_id: int) -> list[Participant]:
    return list(
        session.scalars(
            select(Participant).where(Participant.case_id == case_id).order_by(Participant.id)
        )
    )


def participant(session: Session, *, case_id: int, organization_id: int) -> Participant | None:
    return session.scalars(
        select(Participant).where(
            Participant.case_id == case_id, Participant.organization_id == organization_id
        )
    ).first()


def add_participants(
    session: Session,
    *,
    case_id: int,
    entries: Sequence[tuple[int, str, str | None]],
    clock: Clock,
) -> list[Participant]:
    """Add (organization id, role, suggested_by) rows not yet present; returns the new ones."""
    present = {p.organization_id for p in participants(session, case_id=case_id)}
    now = clock.now()
    added = []
    for org_id, role, suggested_by in entries:
        if role not in PARTICIPANT_ROLES:
            raise InputError(f"role: {role!r} is not one of {', '.join(PARTICIPANT_ROLES)}")
        if org_id in present:
            continue
        present.add(org_id)
        row = Participant(
            case_id=case_id,
            organization_id=org_id,
            role=role,
            suggested_by=suggested_by,
            added_at=now,
            notified_at=now if role == "vendor" else None,
        )
        added.append(row)
    session.add_all(added)
    session.flush()
    return added


# --- vendor statuses ------------------------------------------------------------------------


def ensure_statuses(
    session: Session,
    *,
    case_id: int,
    vendor_ids: Iterable[int],
    vulnerability_ids: Sequence[int],
    clock: Clock,
) -> None:
    """One ``unknown`` row per vendor and vulnerability, so silence is visible as such."""
    existing = {
        (org_id, vuln_id)
        for org_id, vuln_id in session.execute(
            select(VendorStatus.organization_id, VendorStatus.vulnerability_id).where(
                VendorStatus.case_id == case_id
            )
        )
    }
    now = clock.now()
    session.add_all(
        VendorStatus(
            case_id=case_id,
            vulnerability_id=vuln_id,
            organization_id=vendor_id,
            status="unknown",
            statement="",
            approved=False,
            updated_at=now,
        )
        for vendor_id in vendor_ids
        for vuln_id in vulnerability_ids
        if (vendor_id, vuln_id) not in existing
    )
    session.flush()


def statuses(session: Session, *, case_id: int) -> list[VendorStatus]:
    return list(
        session.scalars(
            select(VendorStatus)
            .where(VendorStatus.case_id == case_id)
            .order_by(VendorStatus.organization_id, VendorStatus.vulnerability_id)
        )
    )


def get_status_or_raise(
    session: Session, *, case_id: int, vulnerability_id: int, organization_id: int
) -> VendorStatus:
    row = session.scalars(
        select(VendorStatus).where(
            VendorStatus.case_id == case_id,
            VendorStatus.vulnerability_id == vulnerability_id,
            VendorStatus.organization_id == organization_id,
        )
    ).first()
    if row is None:
        raise NotFoundError("no status row: the organization is not a vendor in this case")
    return row


def mark_no_response(session: Session, *, case_id: int, organization_id: int, clock: Clock) -> int:
    """Escalation: every still-``unknown`` status of a silent vendor becomes ``no_response``."""
    rows = session.scalars(
        select(VendorStatus).where(
            VendorStatus.case_id == case_id,
            VendorStatus.organization_id == organization_id,
            VendorStatus.status == "unknown",
        )
    ).all()
    for row in rows:
        row.status = "no_response"
        row.approved = True  # a fact the coordinator records, not a vendor statement
        row.updated_at = clock.now()
    return len(rows)


# --- messages and patches -------------------------------------------------------------------


def add_message(
    session: Session,
    *,
    case_id: int,
    thread: str,
    author_org_id: int | None,
    author: str,
    recipient_org_id: int | None,
    tlp: str,
    body: str,
    clock: Clock,
) -> CaseMessage:
    row = CaseMessage(
        case_id=case_id,
        thread=thread,
        author_org_id=author_org_id,
        author=author,
        recipient_org_id=recipient_org_id,
        tlp=tlp,
        body=body,
        created_at=clock.now(),
    )
    session.add(row)
    session.flush()
    return row


def messages_for(
    session: Session, *, case_id: int, organization_id: int | None, everything: bool
) -> list[CaseMessage]:
    """Messages to all participants, plus private ones the organization wrote or received."""
    query = select(CaseMessage).where(CaseMessage.case_id == case_id)
    if not everything:
        query = query.where(
            or_(
                CaseMessage.recipient_org_id.is_(None),
                CaseMessage.recipient_org_id == organization_id,
                CaseMessage.author_org_id == organization_id,
            )
        )
    return list(session.scalars(query.order_by(CaseMessage.thread, CaseMessage.id)))


def add_patch(
    session: Session,
    *,
    case_id: int,
    vulnerability_id: int,
    organization_id: int | None,
    patch_validation_id: int | None,
    verdict: str | None,
    fixed_version: str | None,
    clock: Clock,
) -> CasePatch:
    row = CasePatch(
        case_id=case_id,
        vulnerability_id=vulnerability_id,
        organization_id=organization_id,
        patch_validation_id=patch_validation_id,
        verdict=verdict,
        fixed_version=fixed_version,
        uploaded_at=clock.now(),
    )
    session.add(row)
    session.flush()
    return row


def patches(session: Session, *, case_id: int) -> list[CasePatch]:
    return list(
        session.scalars(
            select(CasePatch).where(CasePatch.case_id == case_id).order_by(CasePatch.id)
        )
    )


def remove_namespaces(session: Session, *, organization_id: int) -> None:
    session.execute(
        delete(VendorNamespace).where(VendorNamespace.organization_id == organization_id)
    )
