"""Publication, notifications and the outbox: from a case whose embargo has ended to signed
documents in the CSAF provider layout and a message in every exposed operator's inbox.

The embargo gate (``embargo.require_public``) stands in front of every public path here:
publishing an advisory, building the provider tree and feed, and any TLP:CLEAR notification.
Pre-notifications under embargo go only to exposed operators, only as TLP:AMBER+STRICT.

Notifications are written with their outbox rows in the transaction that decides them; a
separate step delivers due rows with a lease, so a crash between commit and delivery delays
a message but neither loses nor duplicates it (receivers also get an idempotency key).
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import logging
import os
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from clearinghouse.access.models import Organization
from clearinghouse.access.visibility import LOCAL_ADMIN, Viewer
from clearinghouse.advisories import content as adv
from clearinghouse.advisories.channels.base import Channel, DeliveryError, OutboundMessage
from clearinghouse.advisories.csaf_document import compose_csaf, compose_csaf_vex, csaf_filename
from clearinghouse.advisories.cve_record import compose_cve
from clearinghouse.advisories.delivery import RetryPolicy, next_attempt_at
from clearinghouse.advisories.models import AdvisoryDocument, Notification, OutboxMessage
from clearinghouse.advisories.osv_record import compose_osv
from clearinghouse.advisories.page import render_html, render_markdown
from clearinghouse.advisories.provider import (
    ProviderConfig,
    PublishedDocument,
    build_provider_tree,
    write_tree,
)
from clearinghouse.advisories.signing import SigningKey, generate_signing_key, load_signing_key
from clearinghouse.audit import service as audit_service
from clearinghouse.cases import embargo as embargo_rules
from clearinghouse.cases import service as cases_service
from clearinghouse.cases.models import Case
from clearinghouse.core.errors import (
    ConflictError,
    InputError,
    NotFoundError,
    PermissionDeniedError,
)
from clearinghouse.core.tlp import Tlp
from clearinghouse.formats.csaf_validation import validate_csaf
from clearinghouse.inventory import service as inventory_service
from clearinghouse.inventory.advisories import parse_advisory
from clearinghouse.inventory.matching import AdvisoryIndex
from clearinghouse.inventory.packages import osv_package
from clearinghouse.pipeline import case_flow
from clearinghouse.pipeline.inventory_flow import _component_matches, own_advisories
from clearinghouse.pipeline.runtime import Runtime
from clearinghouse.prioritization import signals
from clearinghouse.prioritization.policy import DEFAULT_TABLE, load_table
from clearinghouse.vulns import service as vulns_service
from clearinghouse.vulns.models import Vulnerability

logger = logging.getLogger(__name__)

FEED_SOURCE = "clearinghouse"  # the advisory-feed source of our own published OSV records
RESPONSES = ("acknowledged", "remediated", "mitigated", "not_affected")
# A CVE Numbering Authority's id for records we prepare; a real CNA replaces it on submission.
CNA_ORG_ID = "00000000-0000-4000-8000-000000000000"


# --- notifications and the outbox -----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Draft:
    """One organization's notification, before it is stored."""

    organization_id: int
    subject: str
    body: str
    payload: dict[str, Any]
    deadline: dt.date | None = None


def queue_notifications(
    session: Session,
    rt: Runtime,
    *,
    case: Case,
    kind: str,
    tlp: str,
    drafts: Sequence[Draft],
    version: int = 0,
) -> list[Notification]:
    """Record notifications and one outbox row per endpoint, skipping any (case, organization,
    kind, version) already recorded; a fixed number of queries however many operators.

    TLP:CLEAR is refused while the case is under embargo: this is the gate for public
    notifications."""
    if Tlp(tlp) is Tlp.CLEAR:
        embargo_rules.require_public(
            cases_service.embargo_of(case), what="a TLP:CLEAR notification"
        )
    if not drafts:
        return []
    done = set(
        session.scalars(
            select(Notification.organization_id).where(
                Notification.case_id == case.id,
                Notification.kind == kind,
                Notification.version == version,
            )
        )
    )
    now = rt.clock.now()
    rows = [
        Notification(
            case_id=case.id,
            organization_id=draft.organization_id,
            kind=kind,
            version=version,
            tlp=tlp,
            subject=draft.subject[:500],
            body=draft.body,
            payload=orjson.dumps(draft.payload).decode(),
            deadline=draft.deadline,
            created_at=now,
            response_statement="",
        )
        for draft in drafts
        if draft.organization_id not in done
    ]
    if not rows:
        return []
    session.add_all(rows)
    session.flush()
    endpoints = cases_service.endpoints_of(
        session, organization_ids=[row.organization_id for row in rows]
    )
    session.add_all(
        OutboxMessage(
            idempotency_key=f"ntf-{row.id}-{endpoint.id}",
            notification_id=row.id,
            channel=endpoint.channel,
            recipient=endpoint.address,
            secret=endpoint.secret,
            status="pending",
            attempts=0,
            next_attempt_at=now,
            created_at=now,
        )
        for row in rows
        for endpoint in endpoints[row.organization_id]
    )
    session.flush()
    return rows


def queue_notification(
    session: Session,
    rt: Runtime,
    *,
    case: Case,
    organization_id: int,
    kind: str,
    tlp: str,
    subject: str,
    body: str,
    payload: dict[str, Any],
    version: int = 0,
    deadline: dt.date | None = None,
) -> Notification | None:
    """One notification; reminders and escalations number themselves (each is a new one)."""
    if kind in ("reminder", "escalation"):
        version = _next_version(session, case.id, organization_id, kind)
    rows = queue_notifications(
        session,
        rt,
        case=case,
        kind=kind,
        tlp=tlp,
        version=version,
        drafts=[Draft(organization_id, subject, body, payload, deadline)],
    )
    return rows[0] if rows else None


def _next_version(session: Session, case_id: int, organization_id: int, kind: str) -> int:
    count = session.scalar(
        select(func.count(Notification.id)).where(
            Notification.case_id == case_id,
            Notification.organization_id == organization_id,
            Notification.kind == kind,
        )
    )
    return int(count or 0) + 1


def channels_of(rt: Runtime) -> dict[str, Channel]:
    """The configured delivery channels; e-mail only when an SMTP host is set."""
    from clearinghouse.advisories.channels.email import SmtpChannel
    from clearinghouse.advisories.channels.webhook import WebhookChannel

    s = rt.settings
    found: dict[str, Channel] = {
        "webhook": WebhookChannel(allow_private_addresses=s.webhook_allow_private)
    }
    if s.smtp_host:
        found["email"] = SmtpChannel(
            s.smtp_host,
            s.smtp_port,
            s.smtp_sender,
            starttls=s.smtp_starttls,
            username=s.smtp_username,
            password=s.smtp_password,
        )
    return found


def deliver_due(
    rt: Runtime, *, channels: dict[str, Channel] | None = None, limit: int = 200
) -> dict[str, int]:
    """Deliver due outbox rows once each: claim with a lease (a conditional update, so two
    deliverers never take the same row), send, then record the outcome."""
    channels = channels if channels is not None else channels_of(rt)
    policy = RetryPolicy(
        max_attempts=rt.settings.outbox_max_attempts, base_delay_s=rt.settings.outbox_base_delay_s
    )
    counts = {"sent": 0, "retry": 0, "dead": 0, "waiting": 0}
    now = rt.clock.now()
    lease = dt.timedelta(seconds=rt.settings.outbox_lease_s)
    with rt.db.session() as session:
        due = list(
            session.scalars(
                select(OutboxMessage.id)
                .where(
                    OutboxMessage.status == "pending",
                    OutboxMessage.next_attempt_at <= now,
                    (OutboxMessage.lease_until.is_(None)) | (OutboxMessage.lease_until < now),
                    OutboxMessage.channel.in_(sorted(channels)),
                )
                .order_by(OutboxMessage.id)
                .limit(limit)
            )
        )
    for outbox_id in due:
        claimed_until = rt.clock.now() + lease
        with rt.db.session() as session:
            taken = session.execute(
                update(OutboxMessage)
                .where(
                    OutboxMessage.id == outbox_id,
                    OutboxMessage.status == "pending",
                    (OutboxMessage.lease_until.is_(None))
                    | (OutboxMessage.lease_until < rt.clock.now()),
                )
                .values(lease_until=claimed_until, attempts=OutboxMessage.attempts + 1)
            )
            if getattr(taken, "rowcount", 0) != 1:
                continue
            row = session.get(OutboxMessage, outbox_id)
            note = session.get(Notification, row.notification_id) if row else None
            if row is None or note is None:
                continue
            message = OutboundMessage(
                idempotency_key=row.idempotency_key,
                recipient=row.recipient,
                subject=note.subject,
                body_text=note.body,
                payload=orjson.loads(note.payload),
                tlp=note.tlp,
                secret=row.secret.encode() if row.secret else None,
            )
            attempts, channel_name = row.attempts, row.channel
        error: DeliveryError | None = None
        try:
            channels[channel_name].deliver(message)
        except DeliveryError as failed:
            error = failed
        with rt.db.session() as session:
            row = session.get(OutboxMessage, outbox_id)
            if row is None:  # pragma: no cover - rows are never deleted
                continue
            row.lease_until = None
            if error is None:
                row.status, row.sent_at, row.last_error = "sent", rt.clock.now(), None
                counts["sent"] += 1
                continue
            row.last_error = str(error)[:2000]
            retry_at = (
                next_attempt_at(
                    policy, attempts_made=attempts, now=rt.clock.now(), key=row.idempotency_key
                )
                if error.retryable
                else None
            )
            if retry_at is None:
                row.status = "dead"
                counts["dead"] += 1
                logger.error("notification %s dead-lettered: %s", row.idempotency_key, error)
            else:
                row.next_attempt_at = retry_at
                counts["retry"] += 1
    with rt.db.session() as session:
        counts["waiting"] = int(
            session.scalar(
                select(func.count(OutboxMessage.id)).where(OutboxMessage.status == "pending")
            )
            or 0
        )
    return counts


def list_outbox(rt: Runtime, *, status: str | None = None) -> list[dict[str, Any]]:
    with rt.db.session() as session:
        query = select(OutboxMessage).order_by(OutboxMessage.id)
        if status is not None:
            query = query.where(OutboxMessage.status == status)
        return [
            {
                "id": row.id,
                "key": row.idempotency_key,
                "channel": row.channel,
                "recipient": row.recipient,
                "status": row.status,
                "attempts": row.attempts,
                "next_attempt_at": row.next_attempt_at.isoformat(),
                "last_error": row.last_error,
                "sent_at": row.sent_at.isoformat() if row.sent_at else None,
            }
            for row in session.scalars(query.limit(10_000))
        ]


# --- exposure -------------------------------------------------------------------------------


def exposed_organizations(session: Session, *, case: Case) -> dict[int, dict[str, Any]]:
    """Operators whose current inventories contain a component affected by the case."""
    links = cases_service.case_vulnerabilities(session, case_id=case.id)
    advisories = []
    for link in links:
        advisories.extend(
            own_advisories(session, viewer=LOCAL_ADMIN, vulnerability_id=link.vulnerability_id)
        )
    advisories.extend(_vendor_advisories(session, case=case))
    if not advisories:
        return {}
    index = AdvisoryIndex.build(advisories)
    ecosystems = sorted({p.ecosystem.split(":", 1)[0] for a in advisories for p in a.affected})
    found: dict[str, dict[str, Any]] = {}
    for component, product, org_name, sector in inventory_service.current_components_in(
        session, ecosystems=ecosystems
    ):
        hits, _ = _component_matches(index, component)
        if not hits:
            continue
        entry = found.setdefault(
            org_name, {"organization": org_name, "sector": sector, "components": [], "vulns": set()}
        )
        entry["components"].append({"product": product, "purl": component.purl})
        entry["vulns"].update(h["vulnerability"] for h in hits)
    if not found:
        return {}
    ids: dict[str, int] = {}
    for name, org_id in session.execute(
        select(Organization.name, Organization.id).where(Organization.name.in_(sorted(found)))
    ):
        ids[name] = org_id
    return {ids[name]: entry for name, entry in found.items() if name in ids}


def _vendor_advisories(session: Session, *, case: Case) -> list[Any]:
    """What vendors stated (approved, with a product): the product's versions before the fix
    are affected. A vendor's word covers products no finding named (a library's bindings)."""

    rows = [
        row
        for row in cases_service.statuses(session, case_id=case.id)
        if row.approved and row.product and row.status in ("affected", "fixed")
    ]
    names = vulns_service.public_ids(session, ids=[row.vulnerability_id for row in rows])
    grouped: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        try:
            identity = osv_package(f"{row.product}@0")
        except InputError:
            identity = None
        if identity is None:
            continue
        events: list[dict[str, str]] = [{"introduced": "0"}]
        if row.status == "fixed" and row.fixed_version:
            events.append({"fixed": row.fixed_version})
        grouped.setdefault(names[row.vulnerability_id], []).append(
            {
                "package": {"ecosystem": identity.ecosystem, "name": identity.name},
                "ranges": [{"type": "ECOSYSTEM", "events": events}],
            }
        )
    found = []
    for vuln_id, affected in grouped.items():
        try:
            found.append(parse_advisory({"id": vuln_id, "affected": affected}))
        except InputError:
            continue  # a version the ecosystem cannot order is not matchable
    return found


def _deadlines(
    rt: Runtime, *, links: Sequence[Any], exploited: bool
) -> Callable[[str | None], tuple[dt.date, str]]:
    """Each sector's remediation deadline for this case (computed once per sector)."""
    table = (
        load_table(rt.settings.deadline_policy.read_bytes())
        if rt.settings.deadline_policy
        else DEFAULT_TABLE
    )
    vectors = [v for link in links for v in (link.cvss_v3, link.cvss_v4) if v]
    today = rt.clock.now().date()

    @functools.cache
    def for_sector(sector: str | None) -> tuple[dt.date, str]:
        assessment = signals.assess(
            vectors=vectors,
            in_kev=exploited,
            kev_due=None,
            epss=None,
            epss_percentile=None,
            validated=True,
            sector=sector,
            today=today,
            policy=table,
        )
        return assessment.deadline.due, assessment.deadline.explain()

    return for_sector


def _operator_drafts(
    rt: Runtime,
    session: Session,
    *,
    case: Case,
    exposed: dict[int, dict[str, Any]],
    version: int | None,
) -> list[Draft]:
    """Each exposed operator's message with its own deadline: an advance warning under
    embargo (``version`` None), else the published advisory ``version``."""
    links = cases_service.case_vulnerabilities(session, case_id=case.id)
    deadline = _deadlines(rt, links=links, exploited=case.exploited)
    drafts = []
    for org_id, entry in sorted(exposed.items()):
        due, why = deadline(entry["sector"])
        if version is None:
            subject = f"Advance warning: {case.public_id} affects your systems"
            payload = _operator_payload(case, entry, due, why, kind="case.prenotify")
        else:
            subject = f"Advisory {case.public_id}: {case.title}"
            payload = _operator_payload(case, entry, due, why, kind="advisory.published")
            payload["version"] = version
        body = _operator_body(case, entry, due, why, advance=version is None)
        drafts.append(Draft(org_id, subject, body, payload, due))
    return drafts


def prenotify(rt: Runtime, *, viewer: Viewer, case_id: str) -> dict[str, Any]:
    """Warn exposed operators under embargo, as TLP:AMBER+STRICT (their organization only)."""
    case_flow.require_coordinator(viewer, "pre-notifying operators")
    with rt.db.session() as session:
        access = case_flow.access_case(session, viewer=viewer, case_id=case_id)
        case = access.case
        exposed = exposed_organizations(session, case=case)
        drafts = _operator_drafts(rt, session, case=case, exposed=exposed, version=None)
        rows = queue_notifications(
            session, rt, case=case, kind="prenotify", tlp=Tlp.AMBER_STRICT.value, drafts=drafts
        )
        names = {org_id: entry["organization"] for org_id, entry in exposed.items()}
        created = sorted(names[row.organization_id] for row in rows)
        audit_service.append(
            session,
            clock=rt.clock,
            viewer=viewer,
            action="case.prenotify",
            object_type="case",
            object_id=case.public_id,
            tlp=Tlp.AMBER_STRICT.value,
            detail={"operators": len(created)},
        )
        return {"case": case.public_id, "notified": created, "exposed": len(exposed)}


def _operator_body(
    case: Case, entry: dict[str, Any], due: dt.date, why: str, *, advance: bool
) -> str:
    lines = [
        (
            "ADVANCE WARNING under embargo until "
            f"{embargo_rules.format_instant(case.embargo_until)}. "
            "TLP:AMBER+STRICT: share only inside your organization."
            if advance
            else f"Advisory {case.public_id} is published."
        ),
        "",
        f"{case.public_id}: {case.title}",
        f"Affected components in your inventory ({len(entry['components'])}):",
    ]
    lines += [f"  - {c['purl']} (in {c['product']})" for c in entry["components"][:50]]
    lines += [
        "",
        f"Patch or mitigate by {due.isoformat()} ({why}).",
        "Reply with your status: acknowledged, remediated, mitigated or not_affected.",
    ]
    return "\n".join(lines)


def _operator_payload(
    case: Case, entry: dict[str, Any], due: dt.date, why: str, *, kind: str
) -> dict[str, Any]:
    return {
        "type": kind,
        "case": case.public_id,
        "title": case.title,
        "vulnerabilities": sorted(entry["vulns"]),
        "components": entry["components"][:200],
        "deadline": due.isoformat(),
        "deadline_reason": why,
    }


# --- publication ----------------------------------------------------------------------------


def revision_history(session: Session, case: Case) -> tuple[int, list[adv.Revision]]:
    """The number the case's next advisory gets, and the revisions published before it."""
    previous = list(
        session.scalars(
            select(AdvisoryDocument)
            .where(AdvisoryDocument.case_id == case.id, AdvisoryDocument.kind == "csaf")
            .order_by(AdvisoryDocument.version)
        )
    )
    version = (previous[-1].version + 1) if previous else 1
    history = [
        adv.Revision(number=str(d.version), date=d.published_at, summary=d.summary)
        for d in previous
    ]
    return version, history


def advisory_content(
    rt: Runtime,
    session: Session,
    *,
    case: Case,
    version: int,
    summary: str,
    history: Sequence[adv.Revision],
) -> adv.AdvisoryContent:
    """The case as an advisory: approved vendor statuses only, finders in credit order."""
    links = cases_service.case_vulnerabilities(session, case_id=case.id)

    vulns = [session.get(Vulnerability, link.vulnerability_id) for link in links]
    facts = case_flow.vulnerability_facts(session, vulns=[v for v in vulns if v is not None])
    # Unapproved statements stay private: such a vendor's product shows as under investigation.
    statuses = cases_service.statuses(session, case_id=case.id)
    names = case_flow.org_names(session, [s.organization_id for s in statuses])
    now = rt.clock.now()
    items = []
    for link, fact in zip(links, facts, strict=True):
        products = []
        for row in statuses:
            if row.vulnerability_id != link.vulnerability_id:
                continue
            mapped = {
                "affected": adv.ProductStatus.AFFECTED,
                "fixed": adv.ProductStatus.FIXED,
                "not_affected": adv.ProductStatus.NOT_AFFECTED,
            }.get(row.status if row.approved else "", adv.ProductStatus.UNDER_INVESTIGATION)
            vendor = names.get(row.organization_id, "Unknown vendor")
            purl = row.product or next((p.split("@", 1)[0] for p in fact.purls), None)
            products.append(_product(vendor, purl, mapped, row if row.approved else None))
        if not products:
            purl = next((p.split("@", 1)[0] for p in fact.purls), None)
            products.append(
                _product("Unknown vendor", purl, adv.ProductStatus.UNDER_INVESTIGATION, None)
            )
        aliases = tuple(a for a in ((link.cve_id,) if link.cve_id else ()) + fact.aliases if a)
        items.append(
            adv.AdvisoryVulnerability(
                id=fact.vuln.public_id,
                title=link.title or fact.title,
                description=link.description or fact.description or fact.title,
                aliases=tuple(dict.fromkeys(aliases)),
                cwe=fact.cwe,
                cvss_v3=link.cvss_v3,
                cvss_v4=link.cvss_v4,
                exploited=case.exploited,
                discovered=fact.reported_at,
                credits=tuple(adv.Credit(name=n) for n in fact.finders),
                products=tuple(products),
                references=(f"{rt.settings.public_base_url}/advisories/{case.public_id}",),
            )
        )
    base = rt.settings.public_base_url.rstrip("/")
    revisions = (*tuple(history), adv.Revision(number=str(version), date=now, summary=summary))
    return adv.AdvisoryContent(
        tracking_id=case.public_id,
        title=case.title,
        summary=case.title,
        publisher=adv.Publisher(
            name=rt.settings.publisher_name,
            namespace=base,
            contact=rt.settings.publisher_contact,
        ),
        initial_release=revisions[0].date,
        current_release=now,
        revisions=revisions,
        vulnerabilities=tuple(items),
        tlp="CLEAR",
    )


def _product(
    vendor: str, purl: str | None, status: adv.ProductStatus, row: Any | None
) -> adv.AffectedProduct:
    fixed = row.fixed_version if row is not None and status is adv.ProductStatus.FIXED else None
    return adv.AffectedProduct(
        vendor=vendor,
        product=purl.rsplit("/", 1)[-1] if purl else vendor,
        purl=purl,
        ecosystem=_ecosystem(purl),
        status=status,
        introduced=(
            "0" if status in (adv.ProductStatus.AFFECTED, adv.ProductStatus.FIXED) else None
        ),
        fixed=fixed,
        statement=(row.statement or None) if row is not None else None,
        remediation=f"Upgrade to {fixed} or later." if fixed else None,
    )


def _ecosystem(purl: str | None) -> str | None:
    if not purl:
        return None

    try:
        identity = osv_package(purl if "@" in purl else purl + "@0")
    except InputError:
        return None
    return identity.ecosystem if identity else None


def signing_key(rt: Runtime) -> SigningKey:
    """The configured key, or the instance's own (made once, kept 0600 in the data dir)."""
    if rt.settings.signing_key_file is not None:
        return load_signing_key(rt.settings.signing_key_file.read_bytes())
    path = rt.settings.data_dir / "keys" / "csaf-signing-key.asc"
    if path.exists():
        return load_signing_key(path.read_bytes())
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    key = generate_signing_key(
        f"{rt.settings.publisher_name} CSAF <{rt.settings.publisher_contact}>"
    )
    tmp = path.with_suffix(f".{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(key.secret_armored)
    try:
        os.link(tmp, path)  # first writer wins; a concurrent one reads the winner's key
    except FileExistsError:
        pass
    finally:
        tmp.unlink()
    return load_signing_key(path.read_bytes())


def publish(rt: Runtime, *, viewer: Viewer, case_id: str, summary: str = "") -> dict[str, Any]:
    """Publish (or revise) the case's advisory: CSAF (+ VEX), OSV, CVE, Markdown and HTML,
    validated, stored as a new version, then every exposed operator is notified."""
    case_flow.require_coordinator(viewer, "publishing an advisory")
    if len(summary) > 5_000:
        raise InputError("summary: at most 5000 characters")
    with rt.db.session() as session:
        access = case_flow.access_case(session, viewer=viewer, case_id=case_id)
        case = access.case
        embargo_rules.require_public(cases_service.embargo_of(case), what="publishing an advisory")
        version, history = revision_history(session, case)
        text = summary.strip() or ("Initial public release." if version == 1 else "Revised.")
        content = advisory_content(
            rt, session, case=case, version=version, summary=text, history=history
        )
        documents = _compose_all(
            content, links=cases_service.case_vulnerabilities(session, case_id=case.id)
        )
        now = rt.clock.now()
        for kind, name, media_type, body in documents:
            session.add(
                AdvisoryDocument(
                    case_id=case.id,
                    version=version,
                    kind=kind,
                    name=name,
                    media_type=media_type,
                    body=body,
                    sha256=hashlib.sha256(body.encode()).hexdigest(),
                    summary=text,
                    published_at=now,
                    published_by=viewer.label,
                )
            )
        # The OSV records join the advisory feed every operator's inventory is matched
        # against: from now on the flaw is in everyone's report, not only the notified ones'.
        feed_entries = [
            (parse_advisory(record), body.encode())
            for kind, _, _, body in documents
            if kind == "osv"
            for record in [orjson.loads(body)]
            if record.get("affected")
        ]
        inventory_service.upsert_advisories(
            session, feed_entries, source=FEED_SOURCE, clock=rt.clock
        )
        case.status = "published"
        case.published_at = case.published_at or now
        exposed = exposed_organizations(session, case=case)
        drafts = _operator_drafts(rt, session, case=case, exposed=exposed, version=version)
        rows = queue_notifications(
            session,
            rt,
            case=case,
            kind="advisory",
            tlp=Tlp.CLEAR.value,
            version=version,
            drafts=drafts,
        )
        names = {org_id: entry["organization"] for org_id, entry in exposed.items()}
        notified = sorted(
            (
                {"organization": names[row.organization_id], "deadline": row.deadline.isoformat()}
                for row in rows
                if row.deadline is not None
            ),
            key=lambda item: item["organization"],
        )
        audit_service.append(
            session,
            clock=rt.clock,
            viewer=viewer,
            action="advisory.publish",
            object_type="case",
            object_id=case.public_id,
            detail={
                "version": version,
                "documents": [d[1] for d in documents],
                "notified": len(notified),
            },
        )
        return {
            "case": case.public_id,
            "version": version,
            "documents": [{"kind": k, "name": n} for k, n, _, _ in documents],
            "notified": notified,
            "embargo": case.embargo_state,
        }


def _compose_all(
    content: adv.AdvisoryContent, *, links: Sequence[Any]
) -> list[tuple[str, str, str, str]]:
    """(kind, file name, media type, text) of every document; CSAF must pass validation."""
    out: list[tuple[str, str, str, str]] = []
    csaf = compose_csaf(content)
    problems = validate_csaf(csaf)
    if problems:
        first = problems[0]
        raise ConflictError(
            f"the composed CSAF document fails test {first.test_id} at {first.pointer}: "
            f"{first.message} (nothing was published)"
        )
    filename = csaf_filename(content.tracking_id)
    out.append(("csaf", filename, "application/json", _json(csaf)))
    vex = compose_csaf_vex(content)
    if vex is not None:
        vex_problems = validate_csaf(vex)
        if vex_problems:
            first = vex_problems[0]
            raise ConflictError(
                f"the composed CSAF VEX fails test {first.test_id} at {first.pointer}: "
                f"{first.message} (nothing was published)"
            )
        out.append(
            ("csaf_vex", filename.replace(".json", "-vex.json"), "application/json", _json(vex))
        )
    for record in compose_osv(content):
        out.append(("osv", f"{record['id']}.json", "application/json", _json(record)))
    for index, link in enumerate(links):
        if link.cve_id:
            record = compose_cve(
                content,
                index,
                cve_id=link.cve_id,
                assigner_org_id=CNA_ORG_ID,
                assigner_short_name="clearinghouse",
            )
            out.append(("cve", f"{link.cve_id}.json", "application/json", _json(record)))
    stem = content.tracking_id.lower()
    out.append(("md", f"{stem}.md", "text/markdown", render_markdown(content)))
    out.append(("html", f"{stem}.html", "text/html", render_html(content)))
    return out


def _json(doc: Any) -> str:
    return orjson.dumps(doc, option=orjson.OPT_INDENT_2).decode() + "\n"


def advisory_documents(
    rt: Runtime, *, case_id: str, version: int | None = None
) -> list[dict[str, Any]]:
    """Published documents are public: anyone may read them (nothing exists before the lift)."""
    with rt.db.session() as session:
        case = cases_service.get_case_or_raise(session, public_id=case_id)
        rows = list(
            session.scalars(
                select(AdvisoryDocument)
                .where(AdvisoryDocument.case_id == case.id)
                .order_by(AdvisoryDocument.version, AdvisoryDocument.id)
            )
        )
        if not rows:
            raise NotFoundError(f"no advisory published for {case_id}")
        chosen = version if version is not None else rows[-1].version
        picked = [r for r in rows if r.version == chosen]
        if not picked:
            raise NotFoundError(f"{case_id} has no advisory version {version}")
        return [
            {
                "kind": r.kind,
                "name": r.name,
                "version": r.version,
                "media_type": r.media_type,
                "sha256": r.sha256,
                "published_at": r.published_at.isoformat(),
                "body": r.body,
            }
            for r in picked
        ]


def provider_tree(rt: Runtime) -> dict[str, bytes]:
    """The CSAF trusted-provider tree of every published advisory's current CSAF documents."""
    with rt.db.session() as session:
        rows: list[tuple[AdvisoryDocument, Case]] = [
            (doc, case)
            for doc, case in session.execute(
                select(AdvisoryDocument, Case)
                .join(Case, Case.id == AdvisoryDocument.case_id)
                .where(AdvisoryDocument.kind.in_(("csaf", "csaf_vex")))
                .order_by(AdvisoryDocument.case_id, AdvisoryDocument.version)
            )
        ]
    latest: dict[tuple[int, str], tuple[AdvisoryDocument, Case]] = {}
    for doc, case in rows:
        embargo_rules.require_public(cases_service.embargo_of(case), what="a feed entry")
        latest[(doc.case_id, doc.kind)] = (doc, case)
    first_release: dict[int, dt.datetime] = {}
    for doc, _ in rows:
        first_release.setdefault(doc.case_id, doc.published_at)
    documents = [
        PublishedDocument(
            tracking_id=case.public_id + ("-VEX" if doc.kind == "csaf_vex" else ""),
            filename=doc.name,
            tlp="CLEAR",
            initial_release=first_release[doc.case_id],
            current_release=doc.published_at,
            title=case.title,
            body=doc.body.encode(),
        )
        for doc, case in latest.values()
    ]
    s = rt.settings
    config = ProviderConfig(
        base_url=s.public_base_url.rstrip("/"),
        publisher_name=s.publisher_name,
        publisher_namespace=s.public_base_url.rstrip("/"),
        publisher_contact=s.publisher_contact,
    )
    last = max((d.current_release for d in documents), default=rt.clock.now())
    return build_provider_tree(config, documents, signing_key(rt), last_updated=last)


def export_provider(rt: Runtime, *, directory: Path) -> dict[str, Any]:
    tree = provider_tree(rt)
    write_tree(tree, directory)
    return {"directory": str(directory), "files": len(tree), "paths": sorted(tree)[:50]}


# --- operators' answers ---------------------------------------------------------------------


def list_notifications(rt: Runtime, *, viewer: Viewer) -> list[dict[str, Any]]:
    with rt.db.session() as session:
        query = select(Notification, Case.public_id).join(Case, Case.id == Notification.case_id)
        if not viewer.superuser:
            query = query.where(Notification.organization_id == viewer.organization_id)
        return [
            _notification_json(n, case_public)
            for n, case_public in session.execute(query.order_by(Notification.id).limit(10_000))
        ]


def _notification_json(n: Notification, case_public: str) -> dict[str, Any]:
    return {
        "id": n.id,
        "case": case_public,
        "kind": n.kind,
        "version": n.version,
        "tlp": n.tlp,
        "subject": n.subject,
        "body": n.body,
        "deadline": n.deadline.isoformat() if n.deadline else None,
        "created_at": n.created_at.isoformat(),
        "response": n.response,
        "responded_at": n.responded_at.isoformat() if n.responded_at else None,
    }


def respond(
    rt: Runtime, *, viewer: Viewer, notification_id: int, response: str, statement: str = ""
) -> dict[str, Any]:
    """An operator acknowledges a notification or reports remediated/mitigated/not_affected."""
    if response not in RESPONSES:
        raise InputError(f"status: one of {', '.join(RESPONSES)}")
    if len(statement) > 5_000:
        raise InputError("statement: at most 5000 characters")
    if not viewer.superuser and viewer.role.value == "viewer":
        raise PermissionDeniedError("the viewer role may only read")
    with rt.db.session() as session:
        row = session.get(Notification, notification_id)
        if row is None or not (viewer.superuser or row.organization_id == viewer.organization_id):
            raise NotFoundError(f"notification {notification_id} does not exist")
        row.response = response
        row.response_statement = statement
        row.responded_at = rt.clock.now()
        case = session.get(Case, row.case_id)
        audit_service.append(
            session,
            clock=rt.clock,
            viewer=viewer,
            action="notification.respond",
            object_type="case",
            object_id=case.public_id if case else row.case_id,
            detail={"notification": row.id, "response": response},
        )
        return _notification_json(row, case.public_id if case else "")


def response_rates(rt: Runtime, *, viewer: Viewer, case_id: str) -> dict[str, Any]:
    """The coordinator's view: how many exposed operators were told, answered, and how."""
    case_flow.require_coordinator(viewer, "reading response rates")
    with rt.db.session() as session:
        case = cases_service.get_case_or_raise(session, public_id=case_id)
        rows = session.execute(
            select(Notification.organization_id, Notification.kind, Notification.response).where(
                Notification.case_id == case.id,
                Notification.kind.in_(("prenotify", "advisory")),
            )
        ).all()
        delivered = session.execute(
            select(OutboxMessage.status, func.count(OutboxMessage.id))
            .join(Notification, Notification.id == OutboxMessage.notification_id)
            .where(Notification.case_id == case.id)
            .group_by(OutboxMessage.status)
        ).all()
    latest: dict[int, str | None] = {}
    for org_id, _, response in rows:
        if response is not None or org_id not in latest:
            latest[org_id] = response or latest.get(org_id)
    counts: dict[str, int] = dict.fromkeys(RESPONSES, 0)
    for response in latest.values():
        if response:
            counts[response] += 1
    told = len(latest)
    answered = sum(counts.values())
    return {
        "case": case_id,
        "operators_notified": told,
        "answered": answered,
        "answer_rate": round(answered / told, 3) if told else None,
        "responses": counts,
        "remediated_rate": round(counts["remediated"] / told, 3) if told else None,
        "deliveries": dict(delivered),
    }
