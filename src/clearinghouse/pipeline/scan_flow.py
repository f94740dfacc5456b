"""Scan coordination end to end: claimed scope and its ownership proof, owners' throttle and
kill switch, authorizations, declared campaigns (ticket or precise refusal), the source-address
lookup and owners' allow-list exports, and open-source leases with coverage.

The rules are pure and live in ``scans/`` (scope, windows, decision, index, leases,
criticality, allowlist); this module loads what they need, stores what they decide and audits
it. An organization acts on its own scope and campaigns; coordinators may act for anyone.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
import threading
import weakref
from collections.abc import Sequence
from typing import Any

import orjson
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from clearinghouse.access import service as access_service
from clearinghouse.access.models import Organization
from clearinghouse.access.roles import OrgKind, Role
from clearinghouse.access.visibility import Viewer
from clearinghouse.audit import service as audit_service
from clearinghouse.core.clock import to_utc
from clearinghouse.core.errors import (
    ConflictError,
    InputError,
    NotFoundError,
    PermissionDeniedError,
)
from clearinghouse.infra.db import Database
from clearinghouse.inventory import service as inventory_service
from clearinghouse.pipeline.runtime import Runtime
from clearinghouse.scans import allowlist, challenge, criticality, decision, leases, scope
from clearinghouse.scans.index import IndexHolder, SourceIndex, Span
from clearinghouse.scans.models import (
    Campaign,
    CampaignRange,
    Coverage,
    OwnerPolicy,
    Project,
    ScanAuthorization,
    ScanLease,
    ScopeClaim,
)
from clearinghouse.scans.windows import Schedule
from clearinghouse.vulns import service as vulns_service

MAX_ENTRIES = 200
DEFAULT_CAP_PPS = 1000  # an owner's shared throttle until it sets one


def _hex(value: int) -> str:
    return f"{value:032x}"


def _acting(
    viewer: Viewer, organization: str, session: Session, *, write: bool = True
) -> Organization:
    """The organization acted for: one's own, or any for coordinators."""
    org = access_service.get_org_by_name_or_raise(session, name=organization)
    if not (viewer.superuser or viewer.kind is OrgKind.COORDINATOR) and (
        viewer.organization_id != org.id
    ):
        raise PermissionDeniedError("an organization manages its own scope and scans")
    if write and not viewer.superuser and viewer.role is Role.VIEWER:
        raise PermissionDeniedError("the viewer role may only read")
    return org


def _audit(
    session: Session, rt: Runtime, viewer: Viewer, action: str, obj: Any, **detail: Any
) -> None:
    audit_service.append(
        session,
        clock=rt.clock,
        viewer=viewer,
        action=action,
        object_type="scan",
        object_id=str(obj),
        detail=detail,
    )


# --- scope ----------------------------------------------------------------------------------


def claim_scope(
    rt: Runtime,
    *,
    viewer: Viewer,
    organization: str,
    networks: Sequence[str] = (),
    hostnames: Sequence[str] = (),
    code: Sequence[str] = (),
    domain: str,
    fragile: bool = False,
) -> dict[str, Any]:
    """Claim scope, pending proof: the answer carries the DNS TXT record and the HTTP token
    that prove control of ``domain``. Overlaps with another owner's claims, special-purpose
    ranges and over-broad claims are refused, naming the range."""
    if len(networks) + len(hostnames) + len(code) == 0:
        raise InputError("scope: give at least one network, hostname or code target")
    if len(networks) + len(hostnames) + len(code) > MAX_ENTRIES:
        raise InputError(f"scope: at most {MAX_ENTRIES} entries per claim")
    ranges = [scope.parse_network(text) for text in networks]
    for item in ranges:
        scope.check_claim(item)
    names = [scope.parse_hostname(text) for text in hostnames]
    targets = [scope.parse_code_target(text) for text in code]
    issued = challenge.new_challenge(domain)
    now = rt.clock.now()
    with rt.db.session() as session:
        org = _acting(viewer, organization, session)
        existing = [
            (row.organization_id, scope.parse_network(row.value))
            for row in session.scalars(
                select(ScopeClaim).where(
                    ScopeClaim.kind == "network", ScopeClaim.organization_id != org.id
                )
            )
        ]
        clashes = scope.find_overlaps(ranges, existing)
        if clashes:
            new, _, other = clashes[0]
            raise ConflictError(
                f"scope: {new.text} overlaps {other.text}, claimed by another organization"
            )
        taken = session.scalars(
            select(ScopeClaim.value).where(
                ScopeClaim.kind.in_(("hostname", "code")),
                ScopeClaim.value.in_(names + targets),
                ScopeClaim.organization_id != org.id,
            )
        ).first()
        if taken is not None:
            raise ConflictError(f"scope: {taken} is claimed by another organization")
        rows = [
            ScopeClaim(
                organization_id=org.id,
                kind="network",
                value=item.text,
                version=item.version,
                first_hex=_hex(item.first),
                last_hex=_hex(item.last),
                domain=issued.dns_name.split(".", 1)[1],
                challenge_token=issued.token,
                fragile=fragile,
                created_at=now,
            )
            for item in ranges
        ]
        rows += [
            ScopeClaim(
                organization_id=org.id,
                kind=kind,
                value=value,
                domain=issued.dns_name.split(".", 1)[1],
                challenge_token=issued.token,
                fragile=fragile,
                created_at=now,
            )
            for kind, values in (("hostname", names), ("code", targets))
            for value in values
        ]
        mine = {
            (c.kind, c.value)
            for c in session.scalars(select(ScopeClaim).where(ScopeClaim.organization_id == org.id))
        }
        rows = [r for r in rows if (r.kind, r.value) not in mine]
        session.add_all(rows)
        session.flush()
        _audit(session, rt, viewer, "scope.claim", org.name, claims=[r.value for r in rows])
        return {
            "organization": org.name,
            "claims": [{"id": r.id, "kind": r.kind, "value": r.value} for r in rows],
            "challenge": {
                "dns_name": issued.dns_name,
                "dns_value": issued.dns_value,
                "http_path": issued.http_path,
            },
        }


def verify_scope(
    rt: Runtime,
    *,
    viewer: Viewer,
    organization: str,
    method: str,
    nameservers: Sequence[str] | None = None,
    dns_port: int = 53,
    base_url: str | None = None,
) -> dict[str, Any]:
    """Check the pending claims' challenge by DNS TXT or by the HTTP well-known token; on
    success they become verified (and usable in authorizations)."""
    with rt.db.session() as session:
        org = _acting(viewer, organization, session)
        pending = list(
            session.scalars(
                select(ScopeClaim).where(
                    ScopeClaim.organization_id == org.id, ScopeClaim.verified_at.is_(None)
                )
            )
        )
        if not pending:
            raise NotFoundError(f"{org.name} has no claim awaiting proof")
        domain, token = pending[0].domain or "", pending[0].challenge_token or ""
    issued = challenge.Challenge(
        token=token,
        dns_name=f"{challenge.DNS_LABEL}.{domain}",
        dns_value=f"{challenge.VALUE_PREFIX}{token}",
        http_path=f"{challenge.WELL_KNOWN_PREFIX}{token}",
    )
    if method == "dns":
        result = challenge.verify_dns(issued, nameservers=nameservers, port=dns_port)
    elif method == "http":
        result = challenge.verify_http(issued, base_url=base_url or f"https://{domain}")
    else:
        raise InputError("method: dns or http")
    with rt.db.session() as session:
        verified = []
        if result.ok:
            for claim in session.scalars(
                select(ScopeClaim).where(
                    ScopeClaim.organization_id == org.id,
                    ScopeClaim.verified_at.is_(None),
                    ScopeClaim.challenge_token == token,
                )
            ):
                claim.verified_at = rt.clock.now()
                claim.verified_by = method
                verified.append(claim.value)
        _audit(session, rt, viewer, "scope.verify", org.name, ok=result.ok, method=method)
        return {"ok": result.ok, "method": method, "detail": result.detail, "verified": verified}


# --- owners: throttle, kill switch ----------------------------------------------------------


def _policy(session: Session, org_id: int, rt: Runtime) -> OwnerPolicy:
    row = session.get(OwnerPolicy, org_id)
    if row is None:
        row = OwnerPolicy(
            organization_id=org_id,
            timezone="UTC",
            rate_cap_pps=DEFAULT_CAP_PPS,
            exclusive=False,
            updated_at=rt.clock.now(),
        )
        session.add(row)
        session.flush()
    return row


def set_policy(
    rt: Runtime,
    *,
    viewer: Viewer,
    organization: str,
    timezone: str | None = None,
    rate_cap_pps: int | None = None,
    exclusive: bool | None = None,
) -> dict[str, Any]:
    if rate_cap_pps is not None and not 1 <= rate_cap_pps <= 10_000_000:
        raise InputError("rate_cap_pps: between 1 and 10,000,000")
    if timezone is not None:
        Schedule.parse(timezone, "mon 00:00-00:01")  # refuses an unknown zone, naming it
    with rt.db.session() as session:
        org = _acting(viewer, organization, session)
        row = _policy(session, org.id, rt)
        row.timezone = timezone or row.timezone
        row.rate_cap_pps = rate_cap_pps or row.rate_cap_pps
        row.exclusive = row.exclusive if exclusive is None else exclusive
        row.updated_at = rt.clock.now()
        _audit(session, rt, viewer, "scan.policy", org.name, cap=row.rate_cap_pps)
        return _policy_json(org, row)


def _policy_json(org: Organization, row: OwnerPolicy) -> dict[str, Any]:
    return {
        "organization": org.name,
        "timezone": row.timezone,
        "rate_cap_pps": row.rate_cap_pps,
        "exclusive": row.exclusive,
        "paused": row.paused_at is not None,
        "paused_at": row.paused_at.isoformat() if row.paused_at else None,
    }


def kill_switch(rt: Runtime, *, viewer: Viewer, organization: str, on: bool) -> dict[str, Any]:
    """Pause (or resume) every scan of the owner's assets at once; audited. Lookups stop
    vouching for paused campaigns at the same instant."""
    with rt.db.session() as session:
        org = _acting(viewer, organization, session)
        row = _policy(session, org.id, rt)
        row.paused_at = rt.clock.now() if on else None
        row.updated_at = rt.clock.now()
        _audit(session, rt, viewer, "scan.kill_switch", org.name, paused=on)
        return _policy_json(org, row)


# --- authorizations -------------------------------------------------------------------------


def authorize(
    rt: Runtime,
    *,
    viewer: Viewer,
    owner: str,
    scanner: str,
    ranges: Sequence[str] = (),
    hostnames: Sequence[str] = (),
    windows: str,
    techniques: Sequence[str],
    max_rate_pps: int,
    max_concurrency: int,
    expires_at: dt.datetime,
    starts_at: dt.datetime | None = None,
) -> dict[str, Any]:
    """Grant ``scanner`` a subset of the owner's verified scope, in weekly windows of the
    owner's time zone, for some techniques, at most a rate and a concurrency, until expiry."""
    parsed = [scope.parse_network(text) for text in ranges]
    names = [scope.parse_hostname(text) for text in hostnames]
    kinds = [decision.Technique(t) for t in techniques]
    if not kinds:
        raise InputError("techniques: at least one")
    if not 1 <= max_rate_pps <= 10_000_000 or not 1 <= max_concurrency <= 10_000:
        raise InputError("max_rate_pps / max_concurrency: out of range")
    now = rt.clock.now()
    if expires_at.tzinfo is None or expires_at <= now:
        raise InputError("expires_at: a future instant with its zone")
    with rt.db.session() as session:
        org = _acting(viewer, owner, session)
        grantee = access_service.get_org_by_name_or_raise(session, name=scanner)
        policy = _policy(session, org.id, rt)
        Schedule.parse(policy.timezone, windows)  # refuses a bad spec before anything is stored
        verified = [
            scope.parse_network(c.value)
            for c in session.scalars(
                select(ScopeClaim).where(
                    ScopeClaim.organization_id == org.id,
                    ScopeClaim.kind == "network",
                    ScopeClaim.verified_at.is_not(None),
                )
            )
        ]
        outside = [str(r) for item in parsed for r in scope.uncovered(verified, item)]
        if outside:
            raise InputError(f"ranges: not in {org.name}'s verified scope: {', '.join(outside)}")
        own_names = set(
            session.scalars(
                select(ScopeClaim.value).where(
                    ScopeClaim.organization_id == org.id,
                    ScopeClaim.kind == "hostname",
                    ScopeClaim.verified_at.is_not(None),
                )
            )
        )
        foreign = [n for n in names if not any(scope.hostname_matches(p, n) for p in own_names)]
        if foreign:
            raise InputError(f"hostnames: not in {org.name}'s verified scope: {', '.join(foreign)}")
        row = ScanAuthorization(
            owner_id=org.id,
            scanner_id=grantee.id,
            ranges=orjson.dumps([r.text for r in parsed]).decode(),
            hostnames=orjson.dumps(names).decode(),
            windows=windows,
            timezone=policy.timezone,
            techniques=orjson.dumps([k.value for k in kinds]).decode(),
            max_rate_pps=max_rate_pps,
            max_concurrency=max_concurrency,
            starts_at=starts_at or now,
            expires_at=expires_at,
            created_at=now,
        )
        session.add(row)
        session.flush()
        _audit(session, rt, viewer, "scan.authorize", row.id, owner=org.name, scanner=grantee.name)
        return _authorization_json(row, org.name, grantee.name)


def _authorization_json(row: ScanAuthorization, owner: str, scanner: str) -> dict[str, Any]:
    return {
        "id": row.id,
        "owner": owner,
        "scanner": scanner,
        "ranges": orjson.loads(row.ranges),
        "hostnames": orjson.loads(row.hostnames),
        "windows": row.windows,
        "timezone": row.timezone,
        "techniques": orjson.loads(row.techniques),
        "max_rate_pps": row.max_rate_pps,
        "max_concurrency": row.max_concurrency,
        "expires_at": row.expires_at.isoformat(),
        "revoked_at": row.revoked_at.isoformat() if row.revoked_at else None,
    }


def revoke(rt: Runtime, *, viewer: Viewer, authorization_id: int) -> dict[str, Any]:
    """Immediate: campaigns under it stop being vouched for by lookups at once."""
    with rt.db.session() as session:
        row = session.get(ScanAuthorization, authorization_id)
        owner = session.get(Organization, row.owner_id) if row else None
        if row is None or owner is None:
            raise NotFoundError(f"authorization {authorization_id} does not exist")
        _acting(viewer, owner.name, session)
        row.revoked_at = row.revoked_at or rt.clock.now()
        scanner = session.get(Organization, row.scanner_id)
        _audit(session, rt, viewer, "scan.revoke", row.id, owner=owner.name)
        return _authorization_json(row, owner.name, scanner.name if scanner else "?")


# --- campaigns ------------------------------------------------------------------------------


def _rule_authorization(row: ScanAuthorization) -> decision.Authorization:
    return decision.Authorization(
        id=row.id,
        owner_id=row.owner_id,
        scanner_id=row.scanner_id,
        ranges=tuple(scope.parse_network(t) for t in orjson.loads(row.ranges)),
        hostnames=tuple(orjson.loads(row.hostnames)),
        schedule=Schedule.parse(row.timezone, row.windows),
        techniques=frozenset(decision.Technique(t) for t in orjson.loads(row.techniques)),
        max_rate_pps=row.max_rate_pps,
        max_concurrency=row.max_concurrency,
        expires_at=row.expires_at,
        revoked_at=row.revoked_at,
        starts_at=row.starts_at,
    )


def declare_campaign(
    rt: Runtime,
    *,
    viewer: Viewer,
    scanner: str,
    targets: Sequence[str],
    sources: Sequence[str],
    start: dt.datetime,
    end: dt.datetime,
    technique: str,
    rate_pps: int,
    concurrency: int = 1,
    hostnames: Sequence[str] = (),
    contact: str = "",
) -> dict[str, Any]:
    """A ticket, or a refusal with every reason (unauthorized addresses listed, outside the
    windows, over the owner's shared throttle, paused, technique not allowed, ...)."""
    if not targets and not hostnames:
        raise InputError("targets: at least one CIDR or hostname")
    if not sources:
        raise InputError("sources: the addresses the scan comes from")
    if len(targets) + len(sources) + len(hostnames) > MAX_ENTRIES:
        raise InputError(f"targets/sources: at most {MAX_ENTRIES} entries")
    if start.tzinfo is None or end.tzinfo is None:
        raise InputError("start/end: instants with their zone")
    if not 1 <= rate_pps <= 10_000_000 or not 1 <= concurrency <= 10_000:
        raise InputError("rate_pps / concurrency: out of range")
    request = decision.CampaignRequest(
        scanner_id=0,
        targets=tuple(scope.parse_network(t) for t in targets),
        hostnames=tuple(scope.parse_hostname(h) for h in hostnames),
        sources=tuple(scope.parse_network(s) for s in sources),
        start=to_utc(start, "start"),
        end=to_utc(end, "end"),
        technique=decision.Technique(technique),
        rate_pps=rate_pps,
        concurrency=concurrency,
    )
    now = rt.clock.now()
    with rt.db.session() as session:
        org = _acting(viewer, scanner, session)
        request = dataclasses.replace(request, scanner_id=org.id)
        # One read of every network claim: verified ones say who owns what, fragile ones what
        # must never be actively scanned; an owner without a stored policy has the defaults.
        claims: list[tuple[int, scope.NetworkRange]] = []
        fragile: dict[int, list[scope.NetworkRange]] = {}
        for claim in session.scalars(select(ScopeClaim).where(ScopeClaim.kind == "network")):
            parsed = scope.parse_network(claim.value)
            if claim.verified_at is not None:
                claims.append((claim.organization_id, parsed))
            if claim.fragile:
                fragile.setdefault(claim.organization_id, []).append(parsed)
        owner_ids = sorted({owner for owner, _ in claims})
        policies = {
            row.organization_id: row
            for row in session.scalars(
                select(OwnerPolicy).where(OwnerPolicy.organization_id.in_(owner_ids))
            )
        }
        owners = {
            oid: decision.Owner(
                id=oid,
                rate_cap_pps=policies[oid].rate_cap_pps if oid in policies else DEFAULT_CAP_PPS,
                paused=oid in policies and policies[oid].paused_at is not None,
                exclusive=oid in policies and policies[oid].exclusive,
                excluded=tuple(fragile.get(oid, ())),
            )
            for oid in owner_ids
        }
        auths = [
            _rule_authorization(row)
            for row in session.scalars(
                select(ScanAuthorization).where(ScanAuthorization.expires_at > now)
            )
        ]
        active = [
            decision.ActiveCampaign(
                id=c.id,
                scanner_id=c.scanner_id,
                owner_id=owner,
                ranges=tuple(scope.parse_network(t) for t in orjson.loads(c.targets)),
                start=c.starts_at,
                end=c.ends_at,
                rate_pps=c.rate_pps,
            )
            for c in session.scalars(
                select(Campaign).where(
                    Campaign.cancelled_at.is_(None),
                    Campaign.ends_at > request.start,
                    Campaign.starts_at < request.end,
                )
            )
            for owner in orjson.loads(c.owners)
        ]
        verdict = decision.decide(
            request,
            owners=owners,
            owner_of=claims,
            authorizations=auths,
            active=active,
            now=now,
        )
        overlaps = _tickets(session, verdict.overlaps)
        if not verdict.approved:
            _audit(
                session,
                rt,
                viewer,
                "scan.campaign.refused",
                org.name,
                reasons=[r.code for r in verdict.reasons],
            )
            session.commit()
            reasons = "; ".join(_named(session, r.message) for r in verdict.reasons)
            raise ConflictError(f"campaign refused: {reasons}")
        year = now.year
        number = vulns_service.allocate_numbers(session, scope=f"SCAN-{year}", count=1)
        campaign = Campaign(
            ticket=f"SCAN-{year}-{number:06d}",
            scanner_id=org.id,
            targets=orjson.dumps([t.text for t in request.targets]).decode(),
            hostnames=orjson.dumps(list(request.hostnames)).decode(),
            sources=orjson.dumps([s.text for s in request.sources]).decode(),
            owners=orjson.dumps(list(verdict.owners)).decode(),
            technique=request.technique.value,
            rate_pps=rate_pps,
            concurrency=concurrency,
            starts_at=request.start,
            ends_at=request.end,
            contact=contact[:500],
            created_at=now,
        )
        session.add(campaign)
        session.flush()
        session.add_all(
            CampaignRange(
                campaign_id=campaign.id,
                role=role,
                version=item.version,
                first_hex=_hex(item.first),
                last_hex=_hex(item.last),
            )
            for role, items in (("source", request.sources), ("target", request.targets))
            for item in items
        )
        _audit(session, rt, viewer, "scan.campaign", campaign.ticket, owners=list(verdict.owners))
        return {
            "ticket": campaign.ticket,
            "scanner": org.name,
            "owners": _names(session, verdict.owners),
            "start": campaign.starts_at.isoformat(),
            "end": campaign.ends_at.isoformat(),
            "overlapping_campaigns": overlaps,
        }


_ORG_ID = re.compile(r"\b(owners?|scanner) (\d+)\b")


def _named(session: Session, message: str) -> str:
    """The rules speak of organization ids; people read names."""

    def name(match: re.Match[str]) -> str:
        org = session.get(Organization, int(match.group(2)))
        return f"{match.group(1)} {org.name}" if org else match.group(0)

    return _ORG_ID.sub(name, message)


def _tickets(session: Session, ids: Sequence[int]) -> list[str]:
    if not ids:
        return []
    return list(session.scalars(select(Campaign.ticket).where(Campaign.id.in_(list(ids)))))


def _names(session: Session, ids: Sequence[int]) -> list[str]:
    if not ids:
        return []
    return sorted(session.scalars(select(Organization.name).where(Organization.id.in_(list(ids)))))


# --- the lookup -----------------------------------------------------------------------------

# One index per database object (not per URL: a database re-created at the same URL, as tests
# do, must not answer from the old one's index). Weak keys: a closed runtime's index goes too.
_HOLDERS: weakref.WeakKeyDictionary[Database, IndexHolder] = weakref.WeakKeyDictionary()
_HOLDERS_LOCK = threading.Lock()


def _holder(rt: Runtime) -> IndexHolder:
    with _HOLDERS_LOCK:
        holder = _HOLDERS.get(rt.db)
        if holder is None:
            database = weakref.ref(rt.db)  # the holder must not keep its own key alive

            def load() -> list[Span]:
                db = database()
                return _load_spans(db) if db is not None else []

            holder = IndexHolder(load)
            _HOLDERS[rt.db] = holder
        return holder


def _load_spans(db: Database) -> list[Span]:
    with db.session() as session:
        rows = session.execute(
            select(
                CampaignRange.campaign_id,
                CampaignRange.version,
                CampaignRange.first_hex,
                CampaignRange.last_hex,
                Campaign.starts_at,
                Campaign.ends_at,
            )
            .join(Campaign, Campaign.id == CampaignRange.campaign_id)
            .where(CampaignRange.role == "source", Campaign.cancelled_at.is_(None))
        )
        return [
            Span(campaign_id, version, int(first, 16), int(last, 16), start, end)
            for campaign_id, version, first, last, start, end in rows
        ]


def _index(rt: Runtime) -> SourceIndex:
    with rt.db.session() as session:
        count, last = session.execute(select(func.count(Campaign.id), func.max(Campaign.id))).one()
        cancelled = session.scalar(
            select(func.count(Campaign.id)).where(Campaign.cancelled_at.is_not(None))
        )
    return _holder(rt).get((count, last, cancelled))


def lookup(
    rt: Runtime, *, ip: str, at: dt.datetime | None = None, viewer: Viewer | None = None
) -> dict[str, Any]:
    """Whether an authorized campaign was scanning from ``ip`` at ``at``: whose, and how to
    reach them. It says nothing about whose assets were scanned (no owner's scope leaks).
    A campaign counts only while its authorization holds and no owner has paused scanning."""
    when = (at or rt.clock.now()).astimezone(dt.UTC)
    ids = _index(rt).lookup(ip, when)
    found = []
    with rt.db.session() as session:
        for campaign in session.scalars(select(Campaign).where(Campaign.id.in_(ids))):
            if not _still_vouched(session, campaign, when):
                continue
            scanner = session.get(Organization, campaign.scanner_id)
            found.append(
                {
                    "ticket": campaign.ticket,
                    "organization": scanner.name if scanner else "?",
                    "contact": campaign.contact,
                    "technique": campaign.technique,
                    "start": campaign.starts_at.isoformat(),
                    "end": campaign.ends_at.isoformat(),
                }
            )
        if viewer is not None:
            _audit(session, rt, viewer, "scan.lookup", ip, at=when.isoformat(), hits=len(found))
    return {
        "ip": ip,
        "at": when.isoformat(),
        "authorized": bool(found),
        "campaigns": sorted(found, key=lambda c: c["ticket"]),
        "answer": (
            "an authorized scan was running from this address at that time"
            if found
            else "no authorized scan is known from this address at that time"
        ),
    }


def _still_vouched(session: Session, campaign: Campaign, when: dt.datetime) -> bool:
    for owner_id in orjson.loads(campaign.owners):
        policy = session.get(OwnerPolicy, owner_id)
        if policy is not None and policy.paused_at is not None and policy.paused_at <= when:
            return False
        live = session.scalar(
            select(func.count(ScanAuthorization.id)).where(
                ScanAuthorization.owner_id == owner_id,
                ScanAuthorization.scanner_id == campaign.scanner_id,
                ScanAuthorization.expires_at > when,
                or_(ScanAuthorization.revoked_at.is_(None), ScanAuthorization.revoked_at > when),
            )
        )
        if not live:
            return False
    return True


def export_allowlist(rt: Runtime, *, viewer: Viewer, organization: str, fmt: str) -> bytes:
    """The campaigns authorized against the owner's assets, for its SIEM: csv, json or stix."""
    if fmt not in ("csv", "json", "stix"):
        raise InputError("format: csv, json or stix")
    now = rt.clock.now()
    with rt.db.session() as session:
        org = _acting(viewer, organization, session, write=False)
        entries = []
        for campaign in session.scalars(
            select(Campaign).where(Campaign.cancelled_at.is_(None), Campaign.ends_at > now)
        ):
            if org.id not in orjson.loads(campaign.owners):
                continue
            scanner = session.get(Organization, campaign.scanner_id)
            entries.append(
                allowlist.AllowEntry(
                    campaign_ticket=campaign.ticket,
                    organization=scanner.name if scanner else "?",
                    contact=campaign.contact,
                    sources=tuple(orjson.loads(campaign.sources)),
                    start=campaign.starts_at,
                    end=campaign.ends_at,
                    technique=campaign.technique,
                )
            )
        _audit(session, rt, viewer, "scan.allowlist.export", org.name, entries=len(entries))
    if fmt == "csv":
        return allowlist.to_csv(entries).encode()
    if fmt == "json":
        return allowlist.to_json(entries)
    return allowlist.to_stix(entries, identity_name=org.name, now=now)


# --- open-source leases ---------------------------------------------------------------------


def add_project(
    rt: Runtime, *, viewer: Viewer, name: str, signals: dict[str, float]
) -> dict[str, Any]:
    """Register an open-source project with its criticality signals (coordinators)."""
    if not (viewer.superuser or viewer.kind is OrgKind.COORDINATOR):
        raise PermissionDeniedError("registering open-source projects is for coordinators")
    target = scope.parse_code_target(name)
    with rt.db.session() as session:
        if target.startswith("pkg:") and criticality.OPERATORS_RUNNING not in signals:
            # The clearinghouse's own signal: how many registered operators run it.
            signals = signals | {
                criticality.OPERATORS_RUNNING: inventory_service.organizations_running(
                    session, purl=target
                )
            }
        score = criticality.criticality(signals)
        row = session.scalars(select(Project).where(Project.name == target)).first()
        if row is None:
            row = Project(name=target, created_at=rt.clock.now())
            session.add(row)
        row.signals = orjson.dumps(signals).decode()
        row.score = score
        session.flush()
        return {"id": row.id, "name": row.name, "score": round(score, 4), "signals": signals}


def next_targets(
    rt: Runtime, *, viewer: Viewer, organization: str, count: int = 5
) -> list[dict[str, Any]]:
    """Time-boxed leases on the most critical projects no one else is scanning."""
    if not 1 <= count <= 100:
        raise InputError("count: 1 to 100")
    policy = leases.LeasePolicy()
    now = rt.clock.now()
    with rt.db.session() as session:
        org = _acting(viewer, organization, session)
        projects = [
            leases.Project(p.id, p.name, p.score, p.last_covered_at)
            for p in session.scalars(select(Project))
        ]
        live = [
            leases.Lease(row.project_id, row.organization_id, row.expires_at)
            for row in session.scalars(
                select(ScanLease).where(ScanLease.released_at.is_(None), ScanLease.expires_at > now)
            )
        ]
        chosen = leases.next_targets(
            organization_id=org.id,
            projects=projects,
            leases=live,
            now=now,
            count=count,
            policy=policy,
        )
        out = []
        for project in chosen:
            session.add(
                ScanLease(
                    project_id=project.id,
                    organization_id=org.id,
                    expires_at=now + policy.duration,
                    created_at=now,
                )
            )
            out.append(
                {
                    "project": project.name,
                    "score": round(project.score, 4),
                    "expires_at": (now + policy.duration).isoformat(),
                }
            )
        _audit(session, rt, viewer, "scan.lease", org.name, projects=[p.name for p in chosen])
        return out


def complete_scan(
    rt: Runtime,
    *,
    viewer: Viewer,
    organization: str,
    project: str,
    commit: str,
    technique: str,
) -> dict[str, Any]:
    """Record coverage (target, commit, technique, organization, date) and end the lease."""
    if not 7 <= len(commit) <= 64 or not all(c in "0123456789abcdef" for c in commit.lower()):
        raise InputError("commit: a hexadecimal commit id (7 to 64 digits)")
    decision.Technique(technique)
    now = rt.clock.now()
    with rt.db.session() as session:
        org = _acting(viewer, organization, session)
        row = session.scalars(
            select(Project).where(Project.name == scope.parse_code_target(project))
        ).first()
        if row is None:
            raise NotFoundError(f"project {project} is not registered")
        session.add(
            Coverage(
                project_id=row.id,
                organization_id=org.id,
                commit=commit.lower(),
                technique=technique,
                completed_at=now,
            )
        )
        row.last_covered_at = now
        for lease in session.scalars(
            select(ScanLease).where(
                ScanLease.project_id == row.id,
                ScanLease.organization_id == org.id,
                ScanLease.released_at.is_(None),
            )
        ):
            lease.released_at = now
        _audit(session, rt, viewer, "scan.coverage", row.name, commit=commit.lower())
        return {"project": row.name, "commit": commit.lower(), "covered_at": now.isoformat()}
