"""The campaign decision: each refusal rule and its message, and two brute-force properties.

The world of the unit tests: owner 1 claims 203.0.113.0/25, owner 2 claims 203.0.113.128/25,
owner 3 claims 198.51.100.0/24; nobody claims 192.0.2.0/24. Scanner 7 asks; scanner 8 is
another scanning organization.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clearinghouse.core.errors import InputError, IntegrityError
from clearinghouse.scans.decision import (
    ActiveCampaign,
    Authorization,
    CampaignRequest,
    Decision,
    Owner,
    Technique,
    decide,
)
from clearinghouse.scans.scope import NetworkRange, from_bounds, parse_network
from clearinghouse.scans.windows import Schedule

NOW = datetime(2026, 3, 1, 12, tzinfo=UTC)
START = datetime(2026, 3, 2, 22, tzinfo=UTC)  # a Monday night
END = START + timedelta(hours=4)
SCANNER, OTHER = 7, 8
ALWAYS = Schedule.parse("UTC", "daily 00:00-24:00")
ALL = frozenset(Technique)


def _net(*cidrs: str) -> tuple[NetworkRange, ...]:
    return tuple(parse_network(cidr) for cidr in cidrs)


CLAIMS = [
    (1, parse_network("203.0.113.0/25")),
    (2, parse_network("203.0.113.128/25")),
    (3, parse_network("198.51.100.0/24")),
]


def _owner(owner_id: int, **changes: Any) -> Owner:
    base = Owner(id=owner_id, rate_cap_pps=1000, paused=False, exclusive=False, excluded=())
    return dataclasses.replace(base, **changes)


OWNERS = {i: _owner(i) for i in (1, 2, 3)}


def _grant(auth_id: int, owner_id: int, *cidrs: str, **changes: Any) -> Authorization:
    base = Authorization(
        id=auth_id,
        owner_id=owner_id,
        scanner_id=SCANNER,
        ranges=_net(*cidrs),
        hostnames=(),
        schedule=ALWAYS,
        techniques=ALL,
        max_rate_pps=500,
        max_concurrency=10,
        expires_at=NOW + timedelta(days=60),
        revoked_at=None,
    )
    return dataclasses.replace(base, **changes)


def _request(*cidrs: str, **changes: Any) -> CampaignRequest:
    base = CampaignRequest(
        scanner_id=SCANNER,
        targets=_net(*cidrs),
        hostnames=(),
        sources=_net("192.0.2.10"),
        start=START,
        end=END,
        technique=Technique.VULN_SCAN,
        rate_pps=100,
        concurrency=4,
    )
    return dataclasses.replace(base, **changes)


def _campaign(campaign_id: int, owner_id: int, *cidrs: str, **changes: Any) -> ActiveCampaign:
    base = ActiveCampaign(
        id=campaign_id,
        scanner_id=OTHER,
        owner_id=owner_id,
        ranges=_net(*cidrs),
        start=START,
        end=END,
        rate_pps=100,
    )
    return dataclasses.replace(base, **changes)


def _decide(
    request: CampaignRequest,
    grants: Sequence[Authorization],
    *,
    active: Sequence[ActiveCampaign] = (),
    owners: dict[int, Owner] | None = None,
) -> Decision:
    return decide(
        request,
        owners=OWNERS if owners is None else owners,
        owner_of=CLAIMS,
        authorizations=grants,
        active=active,
        now=NOW,
    )


def _codes(decision: Decision) -> list[str]:
    return [reason.code for reason in decision.reasons]


def _reason(decision: Decision, code: str) -> Any:
    (found,) = [reason for reason in decision.reasons if reason.code == code]
    return found


# --- coverage ----------------------------------------------------------------------------------


def test_a_fully_authorized_campaign_is_approved() -> None:
    decision = _decide(_request("203.0.113.0/26"), [_grant(1, 1, "203.0.113.0/25")])
    assert decision == Decision(approved=True, reasons=(), overlaps=(), owners=(1,))


def test_targets_spanning_owners_need_each_owners_grant() -> None:
    request = _request("203.0.113.0/24")
    grants = [_grant(1, 1, "203.0.113.0/25"), _grant(2, 2, "203.0.113.128/25")]
    assert _decide(request, grants).approved
    refused = _decide(request, grants[:1])
    assert _codes(refused) == ["unauthorized_addresses"]
    reason = _reason(refused, "unauthorized_addresses")
    assert reason.detail["cidrs"] == ["203.0.113.128/25"]
    assert "no authorization of owner 2 to scanner 7 covers 203.0.113.128/25" in reason.message
    assert refused.owners == (1, 2)


def test_the_refusal_names_exactly_the_uncovered_cidrs() -> None:
    decision = _decide(
        _request("203.0.113.0/25"),
        [_grant(1, 1, "203.0.113.0/26"), _grant(2, 1, "203.0.113.96/27")],
    )
    reason = _reason(decision, "unauthorized_addresses")
    assert reason.detail["cidrs"] == ["203.0.113.64/27"]
    assert reason.message.startswith("scanner 7 is not authorized for 203.0.113.64/27")


def test_addresses_nobody_owns_are_unauthorized() -> None:
    decision = _decide(_request("203.0.113.0/26", "192.0.2.0/28"), [_grant(1, 1, "203.0.113.0/25")])
    reason = _reason(decision, "unauthorized_addresses")
    assert reason.detail["unowned"] == ["192.0.2.0/28"]
    assert "no owner claims 192.0.2.0/28" in reason.message


def test_only_the_address_owners_grants_to_this_scanner_count() -> None:
    request = _request("203.0.113.0/26")
    not_the_owner = _grant(1, 2, "203.0.113.0/25")  # owner 2 grants owner 1's addresses
    other_scanner = _grant(2, 1, "203.0.113.0/25", scanner_id=OTHER)
    decision = _decide(request, [not_the_owner, other_scanner])
    assert _reason(decision, "unauthorized_addresses").detail["cidrs"] == ["203.0.113.0/26"]


def test_owner_of_may_be_a_lookup_function() -> None:
    def lookup(target: NetworkRange) -> list[tuple[int, NetworkRange]]:
        return [(owner, claimed) for owner, claimed in CLAIMS if claimed.overlaps(target)]

    grants = [_grant(1, 1, "203.0.113.0/25")]
    for target, approved in (("203.0.113.0/26", True), ("203.0.113.0/24", False)):
        decision = decide(
            _request(target),
            owners=OWNERS,
            owner_of=lookup,
            authorizations=grants,
            active=(),
            now=NOW,
        )
        assert decision.approved is approved


# --- conditions of one authorization -----------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "phrase"),
    [
        ({"expires_at": NOW - timedelta(days=1)}, "expired at 2026-02-28T12:00:00Z"),
        ({"expires_at": START + timedelta(hours=1)}, "expires at 2026-03-02T23:00:00Z, before"),
        ({"revoked_at": NOW - timedelta(hours=1)}, "was revoked at 2026-03-01T11:00:00Z"),
        ({"revoked_at": START + timedelta(hours=2)}, "is revoked from 2026-03-03T00:00:00Z"),
        ({"starts_at": NOW + timedelta(hours=1)}, "not valid before 2026-03-01T13:00:00Z"),
    ],
)
def test_a_grant_must_be_live_now_and_through_the_campaign(
    changes: dict[str, Any], phrase: str
) -> None:
    decision = _decide(_request("203.0.113.0/26"), [_grant(4, 1, "203.0.113.0/25", **changes)])
    assert _codes(decision) == ["authorization_expired"]
    reason = _reason(decision, "authorization_expired")
    assert phrase in reason.message
    assert reason.detail["cidrs"] == ["203.0.113.0/26"]
    assert reason.detail["authorizations"] == [4]


def test_a_grant_that_ends_exactly_when_the_campaign_ends_suffices() -> None:
    grant = _grant(4, 1, "203.0.113.0/25", expires_at=END, starts_at=NOW)
    assert _decide(_request("203.0.113.0/26"), [grant]).approved


def test_the_technique_must_be_granted() -> None:
    grant = _grant(4, 1, "203.0.113.0/25", techniques=frozenset({Technique.DISCOVERY}))
    decision = _decide(_request("203.0.113.0/26"), [grant])
    reason = _reason(decision, "technique_not_allowed")
    assert reason.message == (
        "technique vulnerability-scan is not authorized for 203.0.113.0/26: "
        "authorization 4 allows discovery"
    )
    discovery = _request("203.0.113.0/26", technique=Technique.DISCOVERY)
    assert _decide(discovery, [grant]).approved


def test_the_campaign_must_lie_inside_the_grants_windows() -> None:
    # Monday 23:00 CET .. Tuesday 03:00 CET; the owner allows 22:00-02:00 Berlin time.
    nights = Schedule.parse("Europe/Berlin", "mon-fri 22:00-02:00")
    grant = _grant(4, 1, "203.0.113.0/25", schedule=nights)
    decision = _decide(_request("203.0.113.0/26"), [grant])
    reason = _reason(decision, "outside_window")
    assert "outside it from 2026-03-03T01:00:00Z (Tue 2026-03-03 02:00 CET)" in reason.message
    assert "mon 22:00-02:00" in reason.message
    shorter = _request("203.0.113.0/26", end=START + timedelta(hours=3))
    assert _decide(shorter, [grant]).approved


def test_rate_and_concurrency_limits_of_the_grant() -> None:
    grant = _grant(4, 1, "203.0.113.0/25", max_rate_pps=50, max_concurrency=2)
    decision = _decide(_request("203.0.113.0/26"), [grant])
    assert _codes(decision) == ["over_authorized_rate", "over_concurrency"]
    assert "100 pps exceeds the authorized rate" in decision.reasons[0].message
    assert "authorization 4 allows at most 50 pps" in decision.reasons[0].message
    assert "authorization 4 allows a concurrency of at most 2" in decision.reasons[1].message
    assert _decide(_request("203.0.113.0/26", rate_pps=50, concurrency=2), [grant]).approved


def test_one_grant_must_permit_everything_at_once() -> None:
    # Discovery at any time, vulnerability scans at night: a daytime vulnerability scan is
    # permitted by neither grant, though each condition is met by one of them.
    nights = Schedule.parse("UTC", "daily 20:00-06:00")
    any_time = _grant(4, 1, "203.0.113.0/25", techniques=frozenset({Technique.DISCOVERY}))
    at_night = _grant(5, 1, "203.0.113.0/25", schedule=nights)
    assert _decide(_request("203.0.113.0/26"), [any_time, at_night]).approved
    daytime = _request("203.0.113.0/26", start=START - timedelta(hours=10), end=START)
    decision = _decide(daytime, [any_time, at_night])
    assert _codes(decision) == ["unauthorized_addresses"]
    assert "no single authorization of owner 1 permits all" in decision.reasons[0].message


def test_different_parts_may_be_covered_by_different_grants() -> None:
    grants = [_grant(4, 1, "203.0.113.0/26"), _grant(5, 1, "203.0.113.64/26", max_rate_pps=50)]
    decision = _decide(_request("203.0.113.0/25"), grants)
    reason = _reason(decision, "over_authorized_rate")
    assert reason.detail == {
        "cidrs": ["203.0.113.64/26"],
        "hostnames": [],
        "authorizations": [5],
    }


# --- hostnames ---------------------------------------------------------------------------------


def test_hostnames_need_a_grant_listing_them() -> None:
    grant = _grant(4, 1, hostnames=("www.example.com", "*.api.example.com"))
    ok = _request(hostnames=("WWW.example.com", "v1.api.example.com", "*.api.example.com"))
    assert _decide(ok, [grant]) == Decision(True, (), (), (1,))
    decision = _decide(_request(hostnames=("mail.example.com", "api.example.com")), [grant])
    reason = _reason(decision, "unauthorized_hostnames")
    assert reason.detail == {"hostnames": ["mail.example.com", "api.example.com"]}


def test_hostname_grants_are_held_to_the_same_conditions() -> None:
    grant = _grant(4, 1, hostnames=("www.example.com",), techniques=frozenset({Technique.PASSIVE}))
    decision = _decide(_request(hostnames=("www.example.com",)), [grant])
    reason = _reason(decision, "technique_not_allowed")
    assert reason.detail["hostnames"] == ["www.example.com"]
    assert reason.message.startswith(
        "technique vulnerability-scan is not authorized for www.example.com"
    )


# --- owner policy ------------------------------------------------------------------------------


def test_a_paused_owner_refuses_every_campaign_on_its_assets() -> None:
    owners = {**OWNERS, 1: _owner(1, paused=True)}
    grants = [_grant(4, 1, "203.0.113.0/25"), _grant(5, 2, "203.0.113.128/25")]
    decision = _decide(_request("203.0.113.0/24"), grants, owners=owners)
    assert _codes(decision) == ["owner_paused"]
    assert decision.reasons[0].detail == {"owners": [1]}
    assert _decide(_request("203.0.113.128/26"), grants, owners=owners).approved


def test_excluded_assets_allow_only_passive_techniques() -> None:
    owners = {**OWNERS, 1: _owner(1, excluded=_net("203.0.113.8/29", "203.0.113.100"))}
    grants = [_grant(4, 1, "203.0.113.0/25")]
    decision = _decide(_request("203.0.113.0/26"), grants, owners=owners)
    reason = _reason(decision, "excluded_asset")
    assert reason.detail["cidrs"] == ["203.0.113.8/29"]
    assert reason.message.startswith("203.0.113.8/29 are fragile assets")
    passive = _request("203.0.113.0/26", technique=Technique.PASSIVE)
    assert _decide(passive, grants, owners=owners).approved


def test_the_owners_shared_throttle_counts_every_concurrent_campaign() -> None:
    grants = [_grant(4, 1, "203.0.113.0/25")]  # owner 1's cap is 1000 pps
    active = [
        # Overlapping the middle of the request: 350 + 250 = 600 pps at 23:00.
        _campaign(10, 1, "203.0.113.64/26", rate_pps=350, start=START - timedelta(hours=1)),
        _campaign(11, 1, "203.0.113.0/28", rate_pps=250, start=START + timedelta(hours=1)),
        # The same campaign listed again for another owner counts once.
        _campaign(11, 2, "203.0.113.0/28", rate_pps=250, start=START + timedelta(hours=1)),
        # Ends exactly when the request starts: half-open intervals do not meet.
        _campaign(12, 1, "203.0.113.0/28", rate_pps=900, end=START, start=START - timedelta(1)),
        # Another owner's campaign, on other addresses.
        _campaign(13, 2, "203.0.113.128/25", rate_pps=900),
    ]
    assert _decide(_request("203.0.113.0/26", rate_pps=400), grants, active=active).approved
    decision = _decide(_request("203.0.113.0/26", rate_pps=401), grants, active=active)
    assert _codes(decision) == ["over_throttle"]
    reason = decision.reasons[0]
    assert reason.detail == {
        "owners": [
            {
                "owner": 1,
                "cap_pps": 1000,
                "granted_pps": 600,
                "at": "2026-03-02T23:00:00Z",
                "requested_pps": 401,
            }
        ]
    }
    assert "owner 1 allows 1000 pps in total and 600 pps are already granted" in reason.message


def test_back_to_back_campaigns_do_not_add_up() -> None:
    grants = [_grant(4, 1, "203.0.113.0/25")]
    handover = START + timedelta(hours=2)
    active = [
        _campaign(10, 1, "203.0.113.0/26", rate_pps=600, end=handover),
        _campaign(11, 1, "203.0.113.0/26", rate_pps=600, start=handover),
    ]
    assert _decide(_request("203.0.113.0/26", rate_pps=400), grants, active=active).approved
    overlapping = [active[0], dataclasses.replace(active[1], start=handover - timedelta(seconds=1))]
    decision = _decide(_request("203.0.113.0/26", rate_pps=400), grants, active=overlapping)
    assert _codes(decision) == ["over_throttle"]


def test_a_rate_above_the_cap_alone_is_refused() -> None:
    owners = {**OWNERS, 1: _owner(1, rate_cap_pps=50)}
    decision = _decide(_request("203.0.113.0/26"), [_grant(4, 1, "203.0.113.0/25")], owners=owners)
    assert _codes(decision) == ["over_throttle"]


def test_overlapping_campaigns_are_reported_and_block_only_exclusive_owners() -> None:
    grants = [_grant(4, 1, "203.0.113.0/25")]
    active = [
        _campaign(20, 1, "203.0.113.32/27"),  # another scanner, same time, shared addresses
        _campaign(21, 1, "203.0.113.32/27", scanner_id=SCANNER),  # our own campaign
        _campaign(22, 1, "203.0.113.96/27"),  # other addresses
        _campaign(23, 1, "203.0.113.32/27", start=END, end=END + timedelta(hours=1)),  # later
    ]
    request = _request("203.0.113.0/26")
    decision = _decide(request, grants, active=active)
    assert decision.approved
    assert decision.overlaps == (20,)
    exclusive = {**OWNERS, 1: _owner(1, exclusive=True)}
    refused = _decide(request, grants, active=active, owners=exclusive)
    reason = _reason(refused, "exclusive_conflict")
    assert reason.detail == {"owners": [1], "campaigns": [20], "cidrs": ["203.0.113.32/27"]}
    assert refused.overlaps == (20,)


# --- the request itself ------------------------------------------------------------------------


def test_bad_intervals_are_refused_with_the_other_reasons() -> None:
    grants = [_grant(4, 1, "203.0.113.0/25", techniques=frozenset({Technique.PASSIVE}))]
    backwards = _decide(_request("203.0.113.0/26", end=START), grants)
    assert _codes(backwards) == ["bad_window", "technique_not_allowed"]
    assert "is not after its start" in backwards.reasons[0].message
    too_long = _request("203.0.113.0/26", end=START + timedelta(days=30, seconds=1))
    assert "longer than the maximum of 30 days" in _decide(too_long, grants).reasons[0].message
    week = decide(
        _request("203.0.113.0/26", end=START + timedelta(days=8), technique=Technique.PASSIVE),
        owners=OWNERS,
        owner_of=CLAIMS,
        authorizations=grants,
        active=(),
        now=NOW,
        max_duration=timedelta(days=7),
    )
    assert _codes(week) == ["bad_window"]


def test_every_reason_is_collected() -> None:
    owners = {**OWNERS, 1: _owner(1, paused=True, rate_cap_pps=10, excluded=_net("203.0.113.1"))}
    grant = _grant(
        4,
        1,
        "203.0.113.0/27",
        techniques=frozenset({Technique.DISCOVERY}),
        schedule=Schedule.parse("UTC", "sun 10:00-11:00"),
        max_rate_pps=1,
        max_concurrency=1,
        expires_at=START,
    )
    request = _request("203.0.113.0/26", "192.0.2.0/30", hostnames=("www.example.com",))
    decision = _decide(request, [grant], owners=owners)
    assert not decision.approved
    assert _codes(decision) == [
        "unauthorized_addresses",
        "unauthorized_hostnames",
        "authorization_expired",
        "technique_not_allowed",
        "outside_window",
        "over_authorized_rate",
        "over_concurrency",
        "owner_paused",
        "excluded_asset",
        "over_throttle",
    ]
    assert _reason(decision, "unauthorized_addresses").detail["cidrs"] == [
        "192.0.2.0/30",
        "203.0.113.32/27",
    ]


def test_malformed_requests_raise() -> None:
    grants = [_grant(4, 1, "203.0.113.0/25")]
    with pytest.raises(InputError, match="no time zone"):
        _decide(_request("203.0.113.0/26", start=START.replace(tzinfo=None)), grants)
    with pytest.raises(InputError, match="at least one target"):
        _decide(_request(), grants)
    with pytest.raises(InputError, match="at least 1"):
        _decide(_request("203.0.113.0/26", rate_pps=0), grants)
    with pytest.raises(IntegrityError, match=r"owners \[3\]"):
        _decide(_request("198.51.100.0/28"), grants, owners={1: OWNERS[1]})


# --- property 1: approval agrees with a brute-force oracle -------------------------------------

SCOPE = (parse_network("198.51.100.0/24"), parse_network("203.0.113.0/24"))
ANCHORS = (  # a Saturday before each DST change of Berlin and New York in 2026, and June
    datetime(2026, 3, 28, 18, tzinfo=UTC),
    datetime(2026, 10, 24, 18, tzinfo=UTC),
    datetime(2026, 3, 7, 22, tzinfo=UTC),
    datetime(2026, 10, 31, 22, tzinfo=UTC),
    datetime(2026, 6, 13, 18, tzinfo=UTC),
)
SPECS = ("daily 00:00-24:00", "sat,sun 00:00-24:00", "daily 22:00-06:00", "sun 01:00-04:00")
ZONES = ("UTC", "Europe/Berlin", "America/New_York")


@st.composite
def _cidr(draw: st.DrawFn, shortest: int, longest: int) -> NetworkRange:
    block = draw(st.sampled_from(SCOPE))
    prefix = draw(st.integers(shortest, longest))
    size = 2 ** (32 - prefix)
    first = block.first + draw(st.integers(0, 256 // size - 1)) * size
    return from_bounds(4, first, first + size - 1)[0]


def _first_claim(claims: Sequence[tuple[int, NetworkRange]], owner: int) -> NetworkRange:
    return next(cidr for o, cidr in claims if o == owner)


def _mostly(usual: Any, *rare: Any) -> st.SearchStrategy[Any]:
    """``usual`` three times in four, else one of ``rare``: permissive worlds approve often."""
    return st.sampled_from((usual,) * 3 * len(rare) + rare)


@st.composite
def _world(draw: st.DrawFn) -> dict[str, Any]:
    claims: list[tuple[int, NetworkRange]] = []
    for owner in range(1, draw(st.integers(1, 4)) + 1):
        for cidr in draw(st.lists(_cidr(24, 28), min_size=1, max_size=2)):
            if not any(cidr.overlaps(taken) for _, taken in claims):  # claims never overlap
                claims.append((owner, cidr))
    owner_ids = sorted({owner for owner, _ in claims})
    owners = {
        owner: Owner(
            id=owner,
            rate_cap_pps=draw(_mostly(1000, 50)),
            paused=draw(_mostly(False, True)),
            exclusive=False,
            excluded=draw(_mostly((), (draw(_within(_first_claim(claims, owner))),))),
        )
        for owner in owner_ids
    }
    anchor = draw(st.sampled_from(ANCHORS))
    start = anchor + timedelta(minutes=30 * draw(st.integers(0, 24)))
    end = start + timedelta(minutes=30 * draw(st.integers(1, 12)))
    far = anchor + timedelta(days=3)
    grants = []
    for auth_id in range(draw(st.integers(1, 5))):
        owner = draw(st.sampled_from(owner_ids))
        own = st.sampled_from([cidr for o, cidr in claims if o == owner])
        inside = own | own.flatmap(_within)
        ranges = draw(
            st.lists(st.one_of(inside, inside, inside, _cidr(24, 30)), min_size=1, max_size=2)
        )
        techniques = draw(_mostly(ALL, *(frozenset({t}) for t in Technique)))
        grants.append(
            Authorization(
                id=auth_id,
                owner_id=owner,
                scanner_id=draw(_mostly(SCANNER, OTHER)),
                ranges=tuple(ranges),
                hostnames=(),
                schedule=Schedule.parse(draw(st.sampled_from(ZONES)), draw(_mostly(*SPECS))),
                techniques=techniques,
                max_rate_pps=draw(_mostly(1000, 10)),
                max_concurrency=draw(_mostly(8, 1)),
                expires_at=draw(_mostly(far, start, end)),
                revoked_at=draw(_mostly(None, anchor - timedelta(days=1), start, end)),
                starts_at=draw(_mostly(None, anchor - timedelta(days=2), start)),
            )
        )
    # Aim mostly at granted space, so that approvals are common.
    pool = [r for g in grants for r in g.ranges] or [cidr for _, cidr in claims]
    granted = st.sampled_from(pool).flatmap(_within)
    target = st.one_of(granted, granted, granted, granted, _cidr(25, 30))
    request = CampaignRequest(
        scanner_id=SCANNER,
        targets=tuple(draw(st.lists(target, min_size=1, max_size=2))),
        hostnames=(),
        sources=(),
        start=start,
        end=end,
        technique=draw(st.sampled_from(list(Technique))),
        rate_pps=draw(_mostly(10, 100)),
        concurrency=draw(_mostly(1, 4)),
    )
    return {
        "claims": claims,
        "owners": owners,
        "grants": grants,
        "request": request,
        "now": anchor - timedelta(days=1),
    }


def _within(outer: NetworkRange) -> st.SearchStrategy[NetworkRange]:
    def pick(prefix: int, index: int) -> NetworkRange:
        size = 2 ** (32 - prefix)
        first = outer.first + (index % (outer.size // size)) * size
        return from_bounds(4, first, first + size - 1)[0]

    return st.builds(pick, st.integers(outer.prefixlen, 32), st.integers(0, 255))


def _wall_clock_allows(schedule: Schedule, instant: datetime) -> bool:
    """The window rule read off the owner's wall clock, without the module's span arithmetic."""
    local = instant.astimezone(ZoneInfo(schedule.tz))
    minute = local.weekday() * 1440 + local.hour * 60 + local.minute
    for w in schedule.windows:
        first = w.day * 1440 + w.start.hour * 60 + w.start.minute
        length = (w.end.hour * 60 + w.end.minute - w.start.hour * 60 - w.start.minute) % 1440
        if (minute - first) % 10080 < (length or 1440):
            return True
    return False


def _valid_at(grant: Authorization, instant: datetime) -> bool:
    return (
        (grant.starts_at is None or grant.starts_at <= instant)
        and instant < grant.expires_at
        and (grant.revoked_at is None or instant < grant.revoked_at)
    )


def _oracle(world: dict[str, Any]) -> bool:
    """Address by address, minute by minute: is every address allowed at every instant?"""
    request: CampaignRequest = world["request"]
    minutes = []
    instant = request.start
    while instant < request.end:
        minutes.append(instant)
        instant += timedelta(minutes=1)

    def fits(grant: Authorization) -> bool:
        return (
            grant.scanner_id == request.scanner_id
            and request.technique in grant.techniques
            and request.rate_pps <= grant.max_rate_pps
            and request.concurrency <= grant.max_concurrency
            and all(_valid_at(grant, m) for m in [world["now"], *minutes])
            and all(_wall_clock_allows(grant.schedule, m) for m in minutes)
        )

    fitting = [g for g in world["grants"] if fits(g)]
    for target in request.targets:
        for address in range(target.first, target.last + 1):
            owners = [o for o, cidr in world["claims"] if cidr.first <= address <= cidr.last]
            if not owners:
                return False
            for owner_id in owners:
                owner: Owner = world["owners"][owner_id]
                if owner.paused or request.rate_pps > owner.rate_cap_pps:
                    return False
                if request.technique is not Technique.PASSIVE and any(
                    x.first <= address <= x.last for x in owner.excluded
                ):
                    return False
                if not any(
                    g.owner_id == owner_id and any(r.first <= address <= r.last for r in g.ranges)
                    for g in fitting
                ):
                    return False
    return True


@settings(max_examples=300, deadline=None)
@given(_world())
def test_approval_matches_a_brute_force_oracle(world: dict[str, Any]) -> None:
    decision = decide(
        world["request"],
        owners=world["owners"],
        owner_of=world["claims"],
        authorizations=world["grants"],
        active=(),
        now=world["now"],
    )
    # Soundness is the acceptance criterion (nothing outside a live grant is ever approved);
    # equality also catches a decision that refuses what the rules allow.
    assert decision.approved == _oracle(world), decision.reasons
    assert decision.approved == (not decision.reasons)


# --- property 2: granted rates never exceed an owner's cap -------------------------------------


@st.composite
def _traffic(draw: st.DrawFn) -> dict[str, Any]:
    claims: list[tuple[int, NetworkRange]] = []
    for owner in (1, 2, 3):
        for cidr in draw(st.lists(_cidr(24, 27), min_size=1, max_size=2)):
            if not any(cidr.overlaps(taken) for _, taken in claims):
                claims.append((owner, cidr))
    owner_ids = sorted({owner for owner, _ in claims})
    caps = {owner: draw(st.sampled_from((100, 300, 1000))) for owner in owner_ids}
    requests = []
    base = datetime(2026, 3, 2, tzinfo=UTC)
    # A coarse hourly grid, so that campaigns often start exactly when others end.
    for _ in range(draw(st.integers(1, 12))):
        start = base + timedelta(hours=draw(st.integers(0, 12)))
        pool = [cidr for _, cidr in claims]
        requests.append(
            CampaignRequest(
                scanner_id=draw(st.sampled_from((7, 8, 9))),
                targets=tuple(
                    draw(st.lists(st.sampled_from(pool).flatmap(_within), min_size=1, max_size=2))
                ),
                hostnames=(),
                sources=(),
                start=start,
                end=start + timedelta(hours=draw(st.integers(1, 6))),
                technique=Technique.DISCOVERY,
                rate_pps=draw(st.sampled_from((10, 50, 100, 250))),
                concurrency=1,
            )
        )
    return {"claims": claims, "caps": caps, "requests": requests}


def _load(
    owner: int, instant: datetime, campaigns: Sequence[ActiveCampaign], claims: Sequence[Any]
) -> int:
    """Total rate of distinct campaigns touching ``owner``'s addresses at ``instant``."""
    assets = [cidr for o, cidr in claims if o == owner]
    touching = {
        c.id: c.rate_pps
        for c in campaigns
        if c.start <= instant < c.end and any(r.overlaps(a) for r in c.ranges for a in assets)
    }
    return sum(touching.values())


@settings(max_examples=200, deadline=None)
@given(_traffic())
def test_granted_rates_never_exceed_an_owners_cap(traffic: dict[str, Any]) -> None:
    claims = traffic["claims"]
    owners = {o: _owner(o, rate_cap_pps=cap) for o, cap in traffic["caps"].items()}
    grants = [
        Authorization(
            id=10 * owner + scanner,
            owner_id=owner,
            scanner_id=scanner,
            ranges=tuple(cidr for o, cidr in claims if o == owner),
            hostnames=(),
            schedule=ALWAYS,
            techniques=ALL,
            max_rate_pps=10_000,
            max_concurrency=10,
            expires_at=datetime(2027, 1, 1, tzinfo=UTC),
            revoked_at=None,
        )
        for owner in owners
        for scanner in (7, 8, 9)
    ]
    active: list[ActiveCampaign] = []
    for number, request in enumerate(traffic["requests"]):
        touched = sorted({o for o, cidr in claims for t in request.targets if cidr.overlaps(t)})
        boundaries = {request.start} | {
            moment
            for c in active
            for moment in (c.start, c.end)
            if request.start <= moment < request.end
        }
        fits = all(
            _load(o, moment, active, claims) + request.rate_pps <= owners[o].rate_cap_pps
            for o in touched
            for moment in boundaries
        )
        decision = decide(
            request,
            owners=owners,
            owner_of=claims,
            authorizations=grants,
            active=active,
            now=datetime(2026, 3, 1, tzinfo=UTC),
        )
        assert decision.approved == fits, decision.reasons
        assert decision.owners == tuple(touched)
        if decision.approved:
            # Stored once per owner, as the campaign table lists its owners.
            active.extend(
                ActiveCampaign(
                    id=number,
                    scanner_id=request.scanner_id,
                    owner_id=owner,
                    ranges=request.targets,
                    start=request.start,
                    end=request.end,
                    rate_pps=request.rate_pps,
                )
                for owner in decision.owners
            )
    moments = {moment for c in active for moment in (c.start, c.end)}
    for owner in owners:
        for moment in moments:
            assert _load(owner, moment, active, claims) <= owners[owner].rate_cap_pps
