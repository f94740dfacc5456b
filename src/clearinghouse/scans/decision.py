"""The campaign decision: may this scanner run this campaign, and if not, exactly why not.

What it does: given a scanner's campaign request, the owners' claimed ranges and policies, the
owners' authorizations and the campaigns already ticketed, returns a :class:`Decision` that
either approves or lists every reason for refusal (not just the first), each naming the CIDRs,
hostnames, authorizations, owners or campaigns at fault. Other scanners' campaigns that overlap
in space and time are reported even on approval, so the scanner can coordinate.

The rules, per target address and requested hostname:

* it must be owned (an address no owner claims is unauthorized) and, for every owner of it,
  covered by ONE authorization of that owner to this scanner that is live for the whole
  campaign (started, not expired, not revoked), whose windows contain the whole campaign
  interval, which allows the technique, and whose rate and concurrency limits the request
  respects. One authorization must satisfy all of these together: an owner who grants
  "discovery at any time" and "vulnerability scans at night" has not granted vulnerability
  scans by day. When no single authorization fits, each failing condition is reported with
  the addresses it fails for;
* no touched owner is paused; no active technique on an owner's excluded (fragile) ranges;
* for each touched owner, at every instant of the campaign, the rates of the ticketed
  campaigns touching its assets plus the requested rate stay within its one shared cap;
* an exclusive owner refuses a campaign that overlaps another scanner's in space and time.

What it does not do: read a clock or a database, resolve hostnames, issue tickets or record
anything. ``request.sources`` is carried for lookups ("who is scanning me?") and constrains
nothing here.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from clearinghouse.core.clock import to_utc
from clearinghouse.core.errors import InputError, IntegrityError
from clearinghouse.scans.scope import (
    NetworkRange,
    find_overlaps,
    from_bounds,
    hostname_matches,
    parse_hostname,
    subtract,
    union,
)
from clearinghouse.scans.windows import Schedule

MAX_CAMPAIGN_DURATION = timedelta(days=30)
_LISTED = 12  # CIDRs or hostnames spelled out in a message; the detail carries all of them


class Technique(enum.StrEnum):
    PASSIVE = "passive"
    DISCOVERY = "discovery"
    VULN_SCAN = "vulnerability-scan"
    EXPLOIT = "exploit-validation"
    AI_AGENT = "ai-agent"


@dataclass(frozen=True, slots=True)
class Authorization:
    """An owner's grant to one scanning organization.

    ``starts_at`` (not in the first sketch of this type; the stored authorization has it) is
    when the grant begins; None means "already valid". A grant is live for a campaign when it
    is valid both now and at every instant of the campaign: started, not expired, not revoked
    (a future ``revoked_at`` acts as an earlier expiry).
    """

    id: int
    owner_id: int
    scanner_id: int
    ranges: tuple[NetworkRange, ...]
    hostnames: tuple[str, ...]
    schedule: Schedule
    techniques: frozenset[Technique]
    max_rate_pps: int
    max_concurrency: int
    expires_at: datetime
    revoked_at: datetime | None
    starts_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Owner:
    """An owner's policy: ``rate_cap_pps`` is ONE shared throttle over all campaigns hitting
    its assets at any instant; ``excluded`` ranges are fragile and only passively observed."""

    id: int
    rate_cap_pps: int
    paused: bool
    exclusive: bool
    excluded: tuple[NetworkRange, ...]


@dataclass(frozen=True, slots=True)
class ActiveCampaign:
    """An already-ticketed campaign of any scanner.

    A campaign touching several owners may be passed once per owner with the same ``id``; it
    counts once per owner either way.
    """

    id: int
    scanner_id: int
    owner_id: int
    ranges: tuple[NetworkRange, ...]
    start: datetime
    end: datetime
    rate_pps: int


@dataclass(frozen=True, slots=True)
class CampaignRequest:
    scanner_id: int
    targets: tuple[NetworkRange, ...]
    hostnames: tuple[str, ...]
    sources: tuple[NetworkRange, ...]
    start: datetime
    end: datetime
    technique: Technique
    rate_pps: int
    concurrency: int


# Reason codes, in the order reasons appear in a decision.
REASON_CODES = (
    "bad_window",
    "unauthorized_addresses",
    "unauthorized_hostnames",
    "authorization_expired",
    "technique_not_allowed",
    "outside_window",
    "over_authorized_rate",
    "over_concurrency",
    "owner_paused",
    "excluded_asset",
    "exclusive_conflict",
    "over_throttle",
)


@dataclass(frozen=True, slots=True)
class Reason:
    """One ground for refusal: a stable ``code``, a sentence for people, JSON-ready detail."""

    code: str
    message: str
    detail: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class Decision:
    """``overlaps``: other scanners' campaigns overlapping in space and time (also when
    approved); ``owners``: every owner whose assets the request touches."""

    approved: bool
    reasons: tuple[Reason, ...]
    overlaps: tuple[int, ...]
    owners: tuple[int, ...]


OwnerLookup = Callable[[NetworkRange], list[tuple[int, NetworkRange]]]

# Conditions one authorization must meet, each with its refusal code. The per-authorization
# check returns None when met, else a clause naming the authorization and what it allows.
_CONDITIONS = (
    "authorization_expired",
    "technique_not_allowed",
    "outside_window",
    "over_authorized_rate",
    "over_concurrency",
)


@dataclass
class _Finding:
    """What one condition fails for, accumulated over owners and hostnames."""

    cidrs: list[NetworkRange] = field(default_factory=list)
    hostnames: list[str] = field(default_factory=list)
    clauses: dict[int, str] = field(default_factory=dict)  # authorization id -> clause


def decide(
    request: CampaignRequest,
    *,
    owners: Mapping[int, Owner],
    owner_of: OwnerLookup | Sequence[tuple[int, NetworkRange]],
    authorizations: Sequence[Authorization],
    active: Sequence[ActiveCampaign],
    now: datetime,
    max_duration: timedelta = MAX_CAMPAIGN_DURATION,
) -> Decision:
    """Approve ``request`` or refuse it with every applicable :class:`Reason`.

    ``owner_of`` is either a lookup returning the (owner id, claimed range) pairs overlapping
    a range, or all claims. Raises :class:`InputError` for a malformed request (no targets,
    non-positive rate or concurrency, naive datetimes) and :class:`IntegrityError` when a
    claim names an owner missing from ``owners``.
    """
    start, end, now = _utc(request.start, "start"), _utc(request.end, "end"), _utc(now, "now")
    _check_request(request)
    reasons: dict[str, Reason] = {}
    timed = end > start and end - start <= max_duration  # time-based rules need a sane interval
    if not timed:
        reasons["bad_window"] = _bad_window(start, end, max_duration)

    claims = _claims(request.targets, owner_of)
    mine = [a for a in authorizations if a.scanner_id == request.scanner_id]
    failures = {a.id: _failed_conditions(a, request, start, end, now, timed=timed) for a in mine}
    findings = {code: _Finding() for code in _CONDITIONS}
    unauthorized = _check_addresses(request, claims, mine, failures, findings)
    if unauthorized is not None:
        reasons["unauthorized_addresses"] = unauthorized
    touched: set[int] = {owner for owner, _ in claims}

    unauthorized_hosts, host_owners = _check_hostnames(request, mine, failures, findings)
    touched |= host_owners
    if unauthorized_hosts:
        reasons["unauthorized_hostnames"] = Reason(
            "unauthorized_hostnames",
            f"scanner {request.scanner_id} is not authorized for hostnames "
            f"{_listed(unauthorized_hosts)}: no live authorization lists them, or none permits "
            "all requested conditions together",
            {"hostnames": unauthorized_hosts},
        )
    for code in _CONDITIONS:
        if findings[code].cidrs or findings[code].hostnames:
            reasons[code] = _condition_reason(code, findings[code], request)

    missing_owners = sorted(owner for owner in touched if owner not in owners)
    if missing_owners:
        raise IntegrityError(f"owners {missing_owners} have claims or grants but no policy")
    paused = sorted(owner for owner in touched if owners[owner].paused)
    if paused:
        reasons["owner_paused"] = Reason(
            "owner_paused",
            f"{_owners_text(paused)} paused all scanning of their assets",
            {"owners": paused},
        )
    if request.technique is not Technique.PASSIVE:
        fragile = union(
            [
                piece
                for policy in owners.values()
                for excluded in policy.excluded
                for target in request.targets
                for piece in _intersection(target, excluded)
            ]
        )
        if fragile:
            reasons["excluded_asset"] = Reason(
                "excluded_asset",
                f"{_listed(fragile)} are fragile assets their owner excludes from active "
                f"scanning; only {Technique.PASSIVE} observation is allowed, "
                f"not {request.technique}",
                {"cidrs": _texts(fragile), "technique": str(request.technique)},
            )

    overlaps: list[int] = []
    if timed:
        concurrent = [
            c for c in active if _utc(c.start, "start") < end and start < _utc(c.end, "end")
        ]
        overlaps, conflict = _overlaps(request, concurrent, claims, owners)
        if conflict is not None:
            reasons["exclusive_conflict"] = conflict
        throttle = _throttle(request, start, end, concurrent, claims, touched, owners)
        if throttle is not None:
            reasons["over_throttle"] = throttle

    ordered = tuple(reasons[code] for code in REASON_CODES if code in reasons)
    return Decision(
        approved=not ordered,
        reasons=ordered,
        overlaps=tuple(overlaps),
        owners=tuple(sorted(touched)),
    )


def _utc(instant: datetime, what: str) -> datetime:
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise InputError(f"{what} {instant.isoformat()} has no time zone; pass an aware instant")
    return to_utc(instant, what)


def _iso(instant: datetime) -> str:
    return instant.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _texts(ranges: Iterable[NetworkRange]) -> list[str]:
    return [r.text for r in ranges]


def _listed(items: Sequence[object]) -> str:
    shown = ", ".join(str(item) for item in items[:_LISTED])
    return shown if len(items) <= _LISTED else f"{shown} and {len(items) - _LISTED} more"


def _owners_text(ids: Sequence[int]) -> str:
    return f"owner {ids[0]}" if len(ids) == 1 else f"owners {_listed(ids)}"


def _intersection(a: NetworkRange, b: NetworkRange) -> list[NetworkRange]:
    if not a.overlaps(b):
        return []
    return from_bounds(a.version, max(a.first, b.first), min(a.last, b.last))


def _check_request(request: CampaignRequest) -> None:
    if not request.targets and not request.hostnames:
        raise InputError("a campaign needs at least one target range or hostname")
    if request.rate_pps < 1 or request.concurrency < 1:
        raise InputError("a campaign's rate (pps) and concurrency must be at least 1")


def _bad_window(start: datetime, end: datetime, max_duration: timedelta) -> Reason:
    detail = {"start": _iso(start), "end": _iso(end), "max_days": max_duration / timedelta(days=1)}
    if end <= start:
        message = f"campaign end {_iso(end)} is not after its start {_iso(start)}"
    else:
        message = (
            f"campaign {_iso(start)} - {_iso(end)} lasts {end - start}, longer than the "
            f"maximum of {max_duration}; split it into shorter campaigns"
        )
    return Reason("bad_window", message, detail)


def _claims(
    targets: Sequence[NetworkRange], owner_of: OwnerLookup | Sequence[tuple[int, NetworkRange]]
) -> list[tuple[int, NetworkRange]]:
    """The (owner, claimed range) pairs sharing an address with some target, deduplicated."""
    if callable(owner_of):
        found = {
            (owner, claimed)
            for target in targets
            for owner, claimed in owner_of(target)
            if claimed.overlaps(target)
        }
    else:
        found = {(owner, claimed) for _, owner, claimed in find_overlaps(targets, owner_of)}
    return sorted(found, key=lambda pair: (pair[1], pair[0]))


def _failed_conditions(
    grant: Authorization,
    request: CampaignRequest,
    start: datetime,
    end: datetime,
    now: datetime,
    *,
    timed: bool,
) -> dict[str, str]:
    """The conditions ``grant`` does not meet for ``request``, each with a clause saying why."""
    failed: dict[str, str] = {}
    name = f"authorization {grant.id}"
    expires = _utc(grant.expires_at, "expires_at")
    revoked = None if grant.revoked_at is None else _utc(grant.revoked_at, "revoked_at")
    starts = None if grant.starts_at is None else _utc(grant.starts_at, "starts_at")
    # Live means valid now (started, not expired, not revoked) and through the whole campaign.
    if revoked is not None and revoked <= now:
        failed["authorization_expired"] = f"{name} was revoked at {_iso(revoked)}"
    elif revoked is not None and revoked < end:
        failed["authorization_expired"] = (
            f"{name} is revoked from {_iso(revoked)}, before the campaign ends at {_iso(end)}"
        )
    elif expires <= now:
        failed["authorization_expired"] = f"{name} expired at {_iso(expires)}"
    elif expires < end:
        failed["authorization_expired"] = (
            f"{name} expires at {_iso(expires)}, before the campaign ends at {_iso(end)}"
        )
    elif starts is not None and starts > min(now, start):
        failed["authorization_expired"] = f"{name} is not valid before {_iso(starts)}"
    if request.technique not in grant.techniques:
        allowed = ", ".join(sorted(grant.techniques)) or "nothing"
        failed["technique_not_allowed"] = f"{name} allows {allowed}"
    if timed:
        gap = grant.schedule.first_gap(start, end)
        if gap is not None:
            local = gap.astimezone(grant.schedule.zone).strftime("%a %Y-%m-%d %H:%M %Z")
            failed["outside_window"] = (
                f"{name} allows {grant.schedule}; the campaign is outside it from "
                f"{_iso(gap)} ({local})"
            )
    if request.rate_pps > grant.max_rate_pps:
        failed["over_authorized_rate"] = f"{name} allows at most {grant.max_rate_pps} pps"
    if request.concurrency > grant.max_concurrency:
        failed["over_concurrency"] = (
            f"{name} allows a concurrency of at most {grant.max_concurrency}"
        )
    return failed


def _check_addresses(
    request: CampaignRequest,
    claims: Sequence[tuple[int, NetworkRange]],
    mine: Sequence[Authorization],
    failures: Mapping[int, Mapping[str, str]],
    findings: Mapping[str, _Finding],
) -> Reason | None:
    """Per owner, split its part of the targets into: not granted at all, failing a condition
    in every grant covering it (recorded in ``findings``), and failing only because no single
    grant meets all conditions. Returns the ``unauthorized_addresses`` reason, if any."""
    unauthorized: list[str] = []  # clauses
    unauthorized_cidrs: list[NetworkRange] = []
    unowned = subtract(request.targets, [claimed for _, claimed in claims])
    if unowned:
        unauthorized_cidrs.extend(unowned)
        unauthorized.append(f"no owner claims {_listed(unowned)}")
    for owner in sorted({owner for owner, _ in claims}):
        parts = union(
            [
                piece
                for target in request.targets
                for owner_id, claimed in claims
                if owner_id == owner
                for piece in _intersection(target, claimed)
            ]
        )
        grants = [a for a in mine if a.owner_id == owner]
        missing = subtract(parts, [r for a in grants for r in a.ranges])
        if missing:
            unauthorized_cidrs.extend(missing)
            unauthorized.append(
                f"no authorization of owner {owner} to scanner {request.scanner_id} covers "
                f"{_listed(missing)}"
            )
        granted = subtract(parts, missing)
        failing: list[NetworkRange] = []
        for code in _CONDITIONS:
            passing = [r for a in grants if code not in failures[a.id] for r in a.ranges]
            fails = subtract(granted, passing)
            if fails:
                failing.extend(fails)
                finding = findings[code]
                finding.cidrs.extend(fails)
                for a in grants:
                    if code in failures[a.id] and any(
                        r.overlaps(f) for r in a.ranges for f in fails
                    ):
                        finding.clauses[a.id] = failures[a.id][code]
        fitting = [r for a in grants if not failures[a.id] for r in a.ranges]
        # Each condition is met by some authorization, but never all by the same one.
        mixed = subtract(granted, fitting + failing)
        if mixed:
            unauthorized_cidrs.extend(mixed)
            unauthorized.append(
                f"no single authorization of owner {owner} permits all requested conditions "
                f"together for {_listed(mixed)}"
            )
    if not unauthorized:
        return None
    cidrs = union(unauthorized_cidrs)
    return Reason(
        "unauthorized_addresses",
        f"scanner {request.scanner_id} is not authorized for {_listed(cidrs)}: "
        + "; ".join(unauthorized),
        {"cidrs": _texts(cidrs), "unowned": _texts(unowned)},
    )


def _check_hostnames(
    request: CampaignRequest,
    mine: Sequence[Authorization],
    failures: Mapping[int, Mapping[str, str]],
    findings: Mapping[str, _Finding],
) -> tuple[list[str], set[int]]:
    """Hostnames with no fitting authorization (reported as unauthorized or per condition),
    and the owners of the authorizations listing the requested hostnames."""
    unauthorized: list[str] = []
    touched: set[int] = set()
    for raw in request.hostnames:
        hostname = parse_hostname(raw)
        grants = [a for a in mine if any(hostname_matches(p, hostname) for p in a.hostnames)]
        touched.update(a.owner_id for a in grants)
        if not grants:
            unauthorized.append(hostname)
            continue
        if any(not failures[a.id] for a in grants):
            continue
        failed_somewhere = False
        for code in _CONDITIONS:
            if all(code in failures[a.id] for a in grants):
                failed_somewhere = True
                findings[code].hostnames.append(hostname)
                findings[code].clauses.update((a.id, failures[a.id][code]) for a in grants)
        if not failed_somewhere:
            unauthorized.append(hostname)
    return unauthorized, touched


_CONDITION_HEADLINES = {
    "authorization_expired": "no live authorization covers the whole campaign for",
    "technique_not_allowed": "technique {technique} is not authorized for",
    "outside_window": "the campaign interval is outside the authorized windows for",
    "over_authorized_rate": "{rate} pps exceeds the authorized rate for",
    "over_concurrency": "a concurrency of {concurrency} exceeds the authorized limit for",
}


def _condition_reason(code: str, finding: _Finding, request: CampaignRequest) -> Reason:
    cidrs = union(finding.cidrs)
    subjects = [*_texts(cidrs), *finding.hostnames]
    headline = _CONDITION_HEADLINES[code].format(
        technique=request.technique, rate=request.rate_pps, concurrency=request.concurrency
    )
    clauses = [finding.clauses[key] for key in sorted(finding.clauses)]
    return Reason(
        code,
        f"{headline} {_listed(subjects)}: {'; '.join(clauses)}",
        {
            "cidrs": _texts(cidrs),
            "hostnames": list(finding.hostnames),
            "authorizations": sorted(finding.clauses),
        },
    )


def _overlaps(
    request: CampaignRequest,
    concurrent: Sequence[ActiveCampaign],
    claims: Sequence[tuple[int, NetworkRange]],
    owners: Mapping[int, Owner],
) -> tuple[list[int], Reason | None]:
    """Other scanners' concurrent campaigns sharing target addresses, and the exclusivity
    refusal if any shared address belongs to an exclusive owner."""
    others = [c for c in concurrent if c.scanner_id != request.scanner_id]
    theirs = [(index, r) for index, c in enumerate(others) for r in c.ranges]
    shared: dict[int, list[NetworkRange]] = {}
    for target, index, theirs_range in find_overlaps(request.targets, theirs):
        shared.setdefault(others[index].id, []).extend(_intersection(target, theirs_range))
    exclusive_claims = [(o, r) for o, r in claims if owners[o].exclusive]
    blocking: set[int] = set()
    hit_owners: set[int] = set()
    contested: list[NetworkRange] = []
    for campaign_id, pieces in shared.items():
        for piece, owner, claimed in find_overlaps(pieces, exclusive_claims):
            blocking.add(campaign_id)
            hit_owners.add(owner)
            contested.extend(_intersection(piece, claimed))
    if not blocking:
        return sorted(shared), None
    cidrs = union(contested)
    return sorted(shared), Reason(
        "exclusive_conflict",
        f"{_owners_text(sorted(hit_owners))} allow one scanner at a time, and campaign "
        f"{_listed(sorted(blocking))} of another scanner covers {_listed(_texts(cidrs))} "
        "during the requested interval",
        {"owners": sorted(hit_owners), "campaigns": sorted(blocking), "cidrs": _texts(cidrs)},
    )


def _throttle(
    request: CampaignRequest,
    start: datetime,
    end: datetime,
    concurrent: Sequence[ActiveCampaign],
    claims: Sequence[tuple[int, NetworkRange]],
    touched: Iterable[int],
    owners: Mapping[int, Owner],
) -> Reason | None:
    """Refuse when, for some touched owner, the peak of granted rates over the campaign
    interval plus the requested rate exceeds the owner's cap."""
    over: list[dict[str, Any]] = []
    clauses: list[str] = []
    for owner in sorted(touched):
        assets = [claimed for owner_id, claimed in claims if owner_id == owner]
        hitting = {
            c.id: c
            for c in concurrent
            if c.owner_id == owner or any(r.overlaps(a) for r in c.ranges for a in assets)
        }
        peak, at = _peak(hitting.values(), start, end)
        cap = owners[owner].rate_cap_pps
        if peak + request.rate_pps > cap:
            over.append(
                {
                    "owner": owner,
                    "cap_pps": cap,
                    "granted_pps": peak,
                    "at": _iso(at),
                    "requested_pps": request.rate_pps,
                }
            )
            clauses.append(
                f"owner {owner} allows {cap} pps in total and {peak} pps are already granted "
                f"at {_iso(at)}"
            )
    if not over:
        return None
    return Reason(
        "over_throttle",
        f"{request.rate_pps} pps more would exceed the owners' shared limit: " + "; ".join(clauses),
        {"owners": over},
    )


def _peak(
    campaigns: Iterable[ActiveCampaign], start: datetime, end: datetime
) -> tuple[int, datetime]:
    """The highest total rate of ``campaigns`` over ``[start, end)`` and its first instant.

    Sweep over start/end events; at equal instants ends go first, because intervals are
    half-open and a campaign ending at 10:00 does not overlap one starting at 10:00.
    """
    events: list[tuple[datetime, int]] = []
    for c in campaigns:
        c_start, c_end = _utc(c.start, "start"), _utc(c.end, "end")
        if c_start < end and start < c_end:
            events.append((max(c_start, start), c.rate_pps))
            if c_end < end:
                events.append((c_end, -c.rate_pps))
    events.sort(key=lambda event: (event[0], event[1]))
    total, peak, at = 0, 0, start
    for instant, delta in events:
        total += delta
        if total > peak:
            peak, at = total, instant
    return peak, at
