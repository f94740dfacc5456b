"""What the scanning pages read: the campaign calendar per target, one campaign with the
campaigns that conflict with it, and the lease queue (projects awaiting a scan, live leases,
coverage freshness), each as a viewer may see it and in a fixed number of queries.

Who sees a campaign, as the API and the allow-list decide it: coordinators every campaign; the
scanning organization its own, whole; an owner the campaigns touching its assets, with the
targets cut down to its own verified scope (never another owner's addresses). A campaign of
another scanner that overlaps a visible one is a conflict the viewer learns of by ticket and
overlap only, as ``scan_flow.declare_campaign`` reports it. Leases and coverage details are the
viewer's organization's own (coordinators: everyone's).

It writes nothing; the source-address lookup stays ``scan_flow.lookup`` (audited there).
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import orjson
from sqlalchemy import ColumnElement, Select, and_, false, func, or_, select, true
from sqlalchemy.orm import Session, aliased

from clearinghouse.access.models import Organization
from clearinghouse.access.roles import OrgKind
from clearinghouse.access.visibility import Viewer
from clearinghouse.core.clock import to_utc
from clearinghouse.core.errors import InputError, NotFoundError
from clearinghouse.pipeline.runtime import Runtime
from clearinghouse.scans import calendar, scope
from clearinghouse.scans import leases as lease_rules
from clearinghouse.scans.models import (
    Campaign,
    CampaignRange,
    Coverage,
    Project,
    ScanLease,
    ScopeClaim,
)
from clearinghouse.scans.scope import NetworkRange

MAX_CAMPAIGNS = 500  # per calendar page; more is said, not silently dropped
MAX_ROWS = 200
MAX_AWAITING = 20
MAX_COVERAGE = 200
CODE_ROW = "Code targets (scanning service)"


def sees_everything(viewer: Viewer) -> bool:
    return viewer.superuser or viewer.kind is OrgKind.COORDINATOR


def _visible(viewer: Viewer) -> ColumnElement[bool]:
    """The campaigns ``viewer`` may see, as SQL: its own as scanner, or those whose owners
    (a JSON list of ids, ``[3,5]`` as orjson writes it) include its organization."""
    if sees_everything(viewer):
        return true()
    org = viewer.organization_id
    if org is None:
        return false()
    return or_(
        Campaign.scanner_id == org,
        Campaign.owners == f"[{org}]",
        Campaign.owners.like(f"[{org},%"),
        Campaign.owners.like(f"%,{org},%"),
        Campaign.owners.like(f"%,{org}]"),
    )


def _owner_ids(text: str) -> list[int]:
    return [int(i) for i in orjson.loads(text)]


def _ranges(text: str) -> tuple[NetworkRange, ...]:
    return tuple(scope.parse_network(t) for t in orjson.loads(text))


# --- values the pages render ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ConflictView:
    """Another scanner's campaign over the same addresses at the same time: ``scanner`` and
    a link only when the viewer may see that campaign too."""

    ticket: str
    scanner: str | None
    visible: bool
    start: dt.datetime
    end: dt.datetime
    shared: tuple[NetworkRange, ...]

    @property
    def shared_text(self) -> list[str]:
        return [r.text for r in self.shared]


@dataclass(frozen=True, slots=True)
class CampaignView:
    id: int
    ticket: str
    scanner: str
    mine: bool  # the viewer's organization declared it
    whole: bool  # the viewer sees every target (scanner or coordinator)
    technique: str
    rate_pps: int
    concurrency: int
    start: dt.datetime
    end: dt.datetime
    contact: str
    sources: tuple[str, ...]
    targets: tuple[NetworkRange, ...]  # as the viewer may see them
    hostnames: tuple[str, ...]
    owners: tuple[str, ...]  # as the viewer may see them
    cancelled: bool
    conflicts: tuple[ConflictView, ...] = ()


@dataclass(frozen=True, slots=True)
class LeaseView:
    project: str
    holder: str
    mine: bool
    leased_at: dt.datetime
    expires_at: dt.datetime
    released_at: dt.datetime | None

    @property
    def ends(self) -> dt.datetime:
        return self.released_at or self.expires_at


@dataclass(frozen=True, slots=True)
class Bar:
    """One bar of the calendar: a campaign (with the conflicts on this row) or a lease."""

    campaign: CampaignView | None = None
    lease: LeaseView | None = None
    conflicts: tuple[ConflictView, ...] = ()


@dataclass
class Row:
    kind: str  # network | hostname | code | project
    label: str
    note: str
    bars: list[calendar.Placed[Bar]] = field(default_factory=list)
    network: NetworkRange | None = None

    def lanes(self, days: int) -> list[list[calendar.Cell[Bar]]]:
        stacked = calendar.lanes(self.bars) or [[]]
        return [calendar.cells(lane, days) for lane in stacked]

    @property
    def conflicted(self) -> bool:
        return any(bar.item.conflicts for bar in self.bars)


@dataclass(frozen=True, slots=True)
class CalendarPage:
    window: calendar.Window
    rows: list[Row]
    campaigns: int
    conflicts: int
    truncated: bool  # more campaigns or rows than one page shows


# --- loading campaigns ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Scope:
    """What an owner may see of targets: its verified networks and hostnames."""

    networks: tuple[NetworkRange, ...]
    network_text: dict[NetworkRange, str]
    hostnames: tuple[str, ...]


def _own_scope(session: Session, viewer: Viewer) -> _Scope:
    if viewer.organization_id is None:
        return _Scope((), {}, ())
    rows = session.execute(
        select(ScopeClaim.kind, ScopeClaim.value).where(
            ScopeClaim.organization_id == viewer.organization_id,
            ScopeClaim.verified_at.is_not(None),
            ScopeClaim.kind.in_(("network", "hostname")),
        )
    ).all()
    networks = {scope.parse_network(value): value for kind, value in rows if kind == "network"}
    names = tuple(sorted(value for kind, value in rows if kind == "hostname"))
    return _Scope(tuple(sorted(networks)), networks, names)


@dataclass(frozen=True, slots=True)
class _Other:
    id: int
    ticket: str
    scanner_id: int
    owners: tuple[int, ...]
    start: dt.datetime
    end: dt.datetime
    targets: tuple[NetworkRange, ...]


def _overlapping(
    session: Session, visible_ids: Select[int], *, start: dt.datetime, end: dt.datetime
) -> dict[int, list[_Other]]:
    """For each visible campaign, the live campaigns sharing a target address with it and
    running at some time in ``[start, end)``; one self-join over the stored hex bounds."""
    mine, theirs, other = aliased(CampaignRange), aliased(CampaignRange), aliased(Campaign)
    rows = session.execute(
        select(
            mine.campaign_id,
            other.id,
            other.ticket,
            other.scanner_id,
            other.owners,
            other.starts_at,
            other.ends_at,
            other.targets,
        )
        .join(
            theirs,
            and_(
                theirs.role == "target",
                theirs.version == mine.version,
                theirs.first_hex <= mine.last_hex,
                theirs.last_hex >= mine.first_hex,
                theirs.campaign_id != mine.campaign_id,
            ),
        )
        .join(other, other.id == theirs.campaign_id)
        .where(
            mine.role == "target",
            mine.campaign_id.in_(visible_ids),
            other.cancelled_at.is_(None),
            other.starts_at < end,
            other.ends_at > start,
        )
        .distinct()
    ).all()
    found: dict[int, dict[int, _Other]] = {}
    for campaign_id, oid, ticket, scanner_id, owners, o_start, o_end, targets in rows:
        found.setdefault(campaign_id, {})[oid] = _Other(
            oid, ticket, scanner_id, tuple(_owner_ids(owners)), o_start, o_end, _ranges(targets)
        )
    return {key: list(others.values()) for key, others in found.items()}


def _names(session: Session, ids: Iterable[int]) -> dict[int, str]:
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    return dict(
        session.execute(
            select(Organization.id, Organization.name).where(Organization.id.in_(wanted))
        ).all()
    )


def _view(
    row: Campaign,
    viewer: Viewer,
    own: _Scope,
    names: dict[int, str],
    others: Sequence[_Other],
) -> CampaignView:
    everything = sees_everything(viewer)
    org = viewer.organization_id
    mine = row.scanner_id == org
    whole = everything or mine
    targets = _ranges(row.targets)
    hostnames = tuple(orjson.loads(row.hostnames))
    owners = _owner_ids(row.owners)
    if not whole:  # an owner: its own assets only
        targets = tuple(calendar.clip(targets, own.networks))
        hostnames = tuple(
            h for h in hostnames if any(scope.hostname_matches(p, h) for p in own.hostnames)
        )
        owners = [o for o in owners if o == org]
    subject = calendar.Scheduled(row.id, row.scanner_id, row.starts_at, row.ends_at, targets)
    by_id = {o.id: o for o in others}
    conflicts = []
    for found in calendar.conflicts(
        subject,
        (calendar.Scheduled(o.id, o.scanner_id, o.start, o.end, o.targets) for o in others),
    ):
        other = by_id[int(str(found.other))]
        visible = everything or other.scanner_id == org or (org is not None and org in other.owners)
        conflicts.append(
            ConflictView(
                ticket=other.ticket,
                scanner=names.get(other.scanner_id, "?") if visible else None,
                visible=visible,
                start=found.start,
                end=found.end,
                shared=found.shared,
            )
        )
    return CampaignView(
        id=row.id,
        ticket=row.ticket,
        scanner=names.get(row.scanner_id, "?"),
        mine=mine,
        whole=whole,
        technique=row.technique,
        rate_pps=row.rate_pps,
        concurrency=row.concurrency,
        start=row.starts_at,
        end=row.ends_at,
        contact=row.contact,
        sources=tuple(orjson.loads(row.sources)),
        targets=targets,
        hostnames=hostnames,
        owners=tuple(sorted(names.get(o, "?") for o in owners)),
        cancelled=row.cancelled_at is not None,
        conflicts=tuple(conflicts),
    )


def _load(
    session: Session,
    viewer: Viewer,
    conditions: Sequence[ColumnElement[bool]],
    *,
    start: dt.datetime | None,
    end: dt.datetime | None,
    limit: int,
) -> tuple[list[CampaignView], _Scope, bool]:
    """The visible campaigns matching ``conditions`` (at most ``limit``), with their conflicts
    in ``[start, end)`` (default: each one's own interval): four queries whatever the count."""
    where = [_visible(viewer), *conditions]
    rows = list(
        session.scalars(
            select(Campaign)
            .where(*where)
            .order_by(Campaign.starts_at, Campaign.id)
            .limit(limit + 1)
        )
    )
    truncated = len(rows) > limit
    rows = rows[:limit]
    own = _own_scope(session, viewer) if not sees_everything(viewer) else _Scope((), {}, ())
    if not rows:
        return [], own, truncated
    lo = start or min(r.starts_at for r in rows)
    hi = end or max(r.ends_at for r in rows)
    others = _overlapping(session, select(Campaign.id).where(*where), start=lo, end=hi)
    names = _names(
        session,
        [r.scanner_id for r in rows]
        + [o for r in rows for o in _owner_ids(r.owners)]
        + [o.scanner_id for found in others.values() for o in found],
    )
    views = [_view(r, viewer, own, names, others.get(r.id, ())) for r in rows]
    return views, own, truncated


def _live_in(start: dt.datetime, end: dt.datetime) -> list[ColumnElement[bool]]:
    return [Campaign.cancelled_at.is_(None), Campaign.starts_at < end, Campaign.ends_at > start]


# --- the calendar ---------------------------------------------------------------------------


def calendar_page(rt: Runtime, *, viewer: Viewer, frame: calendar.Window) -> CalendarPage:
    """Every target the viewer may see with the campaigns (and its own leases) in ``frame``,
    bars stacked per target, conflicts marked on the rows where they share addresses."""
    with rt.db.session() as session:
        views, own, truncated = _load(
            session,
            viewer,
            _live_in(frame.start, frame.end),
            start=frame.start,
            end=frame.end,
            limit=MAX_CAMPAIGNS,
        )
        lease_rows = _leases_in(session, viewer, frame.start, frame.end)
    rows: dict[tuple[object, ...], Row] = {}
    everything = sees_everything(viewer)

    def row_for(key: tuple[object, ...], kind: str, label: str, note: str) -> Row:
        if key not in rows:
            rows[key] = Row(kind=kind, label=label, note=note)
        return rows[key]

    if not everything:  # an owner's assets are rows even on quiet weeks
        for asset in own.networks:
            row = row_for((0, asset), "network", own.network_text[asset], "your asset")
            row.network = asset
    conflicted: set[str] = set()
    for view in views:
        placed = calendar.place(Bar(campaign=view), view.start, view.end, frame)
        if placed is None:
            continue
        targets: list[tuple[tuple[object, ...], str, str, NetworkRange | None]] = []
        if view.whole:
            note = ", ".join(view.owners) if everything else ""
            targets += [((0, t), t.text, note, t) for t in view.targets]
        else:
            targets += [
                ((0, n), own.network_text[n], "your asset", n)
                for n in own.networks
                if any(n.overlaps(t) for t in view.targets)
            ]
        kinds: list[tuple[tuple[object, ...], str, str]] = [
            ((1, h), h, "hostname") for h in view.hostnames
        ]
        if not view.targets and not view.hostnames and view.whole:
            kinds.append(((2,), CODE_ROW, "code"))
        for key, label, note, network in targets:
            row = row_for(key, "network", label, note)
            row.network = network
            here = tuple(
                c for c in view.conflicts if network and any(s.overlaps(network) for s in c.shared)
            )
            conflicted.update(c.ticket for c in here)
            row.bars.append(_with(placed, Bar(campaign=view, conflicts=here)))
        for key, label, kind in kinds:
            row_for(key, kind, label, "").bars.append(placed)
    for lease in lease_rows:
        placed_lease = calendar.place(Bar(lease=lease), lease.leased_at, lease.ends, frame)
        if placed_lease is not None:
            key = (3, lease.project)
            row_for(key, "project", lease.project, "open-source project").bars.append(placed_lease)
    ordered = [rows[key] for key in sorted(rows, key=_row_order)]
    return CalendarPage(
        window=frame,
        rows=ordered[:MAX_ROWS],
        campaigns=len(views),
        conflicts=len(conflicted),
        truncated=truncated or len(ordered) > MAX_ROWS,
    )


def _row_order(key: tuple[object, ...]) -> tuple[int, str, int, int]:
    group = int(str(key[0]))
    value = key[1] if len(key) > 1 else ""
    if isinstance(value, NetworkRange):
        return (group, "", value.version, value.first)
    return (group, str(value), 0, 0)


def _with(placed: calendar.Placed[Bar], item: Bar) -> calendar.Placed[Bar]:
    return calendar.Placed(item, placed.first, placed.last, placed.before, placed.after)


def _leases_in(
    session: Session, viewer: Viewer, start: dt.datetime, end: dt.datetime
) -> list[LeaseView]:
    """Leases held at some time in ``[start, end)``: the viewer's own (coordinators: all)."""
    ends = func.coalesce(ScanLease.released_at, ScanLease.expires_at)
    query = (
        select(ScanLease, Project.name, Organization.name)
        .join(Project, Project.id == ScanLease.project_id)
        .join(Organization, Organization.id == ScanLease.organization_id)
        .where(ScanLease.created_at < end, ends > start)
        .order_by(ScanLease.created_at, ScanLease.id)
        .limit(MAX_CAMPAIGNS)
    )
    if not sees_everything(viewer):
        query = query.where(ScanLease.organization_id == (viewer.organization_id or -1))
    return [
        _lease_view(lease, project, holder, viewer)
        for lease, project, holder in session.execute(query)
    ]


def _lease_view(lease: ScanLease, project: str, holder: str, viewer: Viewer) -> LeaseView:
    return LeaseView(
        project=project,
        holder=holder,
        mine=lease.organization_id == viewer.organization_id,
        leased_at=lease.created_at,
        expires_at=lease.expires_at,
        released_at=lease.released_at,
    )


# --- one campaign ---------------------------------------------------------------------------


def campaign(rt: Runtime, *, viewer: Viewer, ticket: str) -> CampaignView:
    """One campaign with every conflict over its interval; 404 when the viewer may not see it
    (the same answer as for a ticket that names nothing)."""
    with rt.db.session() as session:
        views, _, _ = _load(
            session, viewer, [Campaign.ticket == ticket], start=None, end=None, limit=1
        )
    if not views:
        raise NotFoundError(f"campaign {ticket} does not exist")
    return views[0]


# --- the lease queue ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ProjectView:
    name: str
    score: float
    last_covered_at: dt.datetime | None
    fresh_until: dt.datetime | None  # offered again after this (None: never scanned)
    state: str  # fresh | stale | never
    your_commit: str | None
    your_scan_at: dt.datetime | None


@dataclass(frozen=True, slots=True)
class LeaseQueue:
    awaiting: list[ProjectView]  # what the viewer's organization would be leased next
    leases: list[LeaseView]  # live leases (the viewer's own; coordinators: all)
    coverage: list[ProjectView]  # stalest first
    projects: int
    policy: lease_rules.LeasePolicy


def lease_queue(rt: Runtime, *, viewer: Viewer) -> LeaseQueue:
    """The scanning-as-a-service queue for the viewer's organization, in three queries:
    projects, live leases, the organization's own last scan of each project."""
    policy = lease_rules.LeasePolicy()
    now = rt.clock.now()
    org = viewer.organization_id if viewer.organization_id is not None else -1
    with rt.db.session() as session:
        projects = list(session.scalars(select(Project).order_by(Project.id)))
        live = session.execute(
            select(ScanLease, Project.name, Organization.name)
            .join(Project, Project.id == ScanLease.project_id)
            .join(Organization, Organization.id == ScanLease.organization_id)
            .where(ScanLease.released_at.is_(None), ScanLease.expires_at > now)
            .order_by(ScanLease.expires_at, ScanLease.id)
        )
        live_rows = list(live)
        latest = (
            select(Coverage.project_id, func.max(Coverage.completed_at).label("at"))
            .where(Coverage.organization_id == org)
            .group_by(Coverage.project_id)
            .subquery()
        )
        mine = {
            project_id: (commit, at)
            for project_id, commit, at in session.execute(
                select(Coverage.project_id, Coverage.commit, Coverage.completed_at)
                .join(
                    latest,
                    and_(
                        latest.c.project_id == Coverage.project_id,
                        latest.c.at == Coverage.completed_at,
                    ),
                )
                .where(Coverage.organization_id == org)
            )
        }

    def project_view(p: Project) -> ProjectView:
        covered = p.last_covered_at
        fresh_until = covered + policy.stale_after if covered else None
        state = "never" if covered is None else ("fresh" if now < (fresh_until or now) else "stale")
        commit, at = mine.get(p.id, (None, None))
        return ProjectView(p.name, p.score, covered, fresh_until, state, commit, at)

    chosen = lease_rules.next_targets(
        organization_id=org,
        projects=[lease_rules.Project(p.id, p.name, p.score, p.last_covered_at) for p in projects],
        leases=[
            lease_rules.Lease(lease.project_id, lease.organization_id, lease.expires_at)
            for lease, _, _ in live_rows
        ],
        now=now,
        count=MAX_AWAITING,
        policy=policy,
        covered_by_org={pid: at for pid, (_, at) in mine.items()},
    )
    by_id = {p.id: p for p in projects}
    shown = [
        _lease_view(lease, name, holder, viewer)
        for lease, name, holder in live_rows
        if sees_everything(viewer) or lease.organization_id == org
    ]
    views = [project_view(p) for p in projects]
    stalest = sorted(
        views,
        key=lambda v: (
            v.state != "never",
            v.last_covered_at or now,
            -v.score,
            v.name,
        ),
    )
    return LeaseQueue(
        awaiting=[project_view(by_id[p.id]) for p in chosen],
        leases=shown,
        coverage=stalest[:MAX_COVERAGE],
        projects=len(projects),
        policy=policy,
    )


# --- the lookup form ------------------------------------------------------------------------


def parse_address(text: str) -> str:
    """The address a defender typed, canonical (``2001:DB8::1`` -> ``2001:db8::1``); refused
    with a message naming the field."""
    text = text.strip()
    if not text:
        raise InputError("address: enter the IPv4 or IPv6 address that reached you")
    if len(text) > 64:
        raise InputError("address: at most 64 characters")
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        raise InputError(
            f"address: {text!r} is not an IPv4 or IPv6 address (like 198.51.100.7 or 2001:db8::7)"
        ) from None


def parse_instant(text: str) -> dt.datetime | None:
    """``at`` as typed in a ``datetime-local`` input, read as UTC; empty means now."""
    text = text.strip()
    if not text:
        return None
    try:
        parsed = dt.datetime.fromisoformat(text) if len(text) <= 40 else None
    except ValueError:
        parsed = None
    if parsed is None:
        raise InputError("at: a date and time like 2026-11-27T14:05 (UTC)")
    return parsed.replace(tzinfo=dt.UTC) if parsed.tzinfo is None else to_utc(parsed, "at")
