"""Scan coordination records for the scanning pages, built through ``scan_flow`` on top of the
web world: two owners proving their networks by an HTTP token on a loopback web server, both
labs authorized, campaigns placed on known days of the current calendar window (two of them
overlapping on the hospital's addresses), and open-source projects with a lease and coverage.

Days are counted from ``monday``, the first day of the calendar's default window (this week's
Monday, UTC), so a test can say on which columns a bar must stand.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Any

from sqlalchemy import event

from clearinghouse.access.visibility import Viewer
from clearinghouse.pipeline import demo_scans, scan_flow
from clearinghouse.pipeline.runtime import Runtime
from tests.web.world import COORDINATOR, GRANTED, OPERATOR, OWNER, UNRELATED, World

HOSPITAL_NET = "192.0.2.0/24"
ACME_NET = "203.0.113.0/24"
ALPHA_SOURCE = "198.51.100.7"
BETA_SOURCE = "198.51.100.9"
NOW_SOURCE = "198.51.100.77"
UNDECLARED = "198.51.100.66"
LEASED = "pkg:pypi/tlv-parser"
COVERED = "pkg:pypi/chunk-reader"
NEVER = "pkg:pypi/rle-decoder"
COMMIT = "0123456789abcdef0123456789abcdef01234567"


@dataclass(frozen=True, slots=True)
class ScansWorld:
    monday: dt.datetime  # 00:00 UTC of the default window's first day
    alpha: str  # Lab Alpha on 192.0.2.0/26, Tue 10:00 to Thu 12:00 (days 1..3)
    beta: str  # Lab Beta on 192.0.2.32/27, Wed 00:00 to Fri 00:00: conflicts with alpha
    beta_alone: str  # Lab Beta on 192.0.2.128/26, days 5..5: the hospital's, not Alpha's
    spanning: str  # Lab Alpha on the hospital's 192.0.2.192/27 and Acme's 203.0.113.128/27
    later: str  # Lab Alpha on Acme's 203.0.113.0/25, day 22 (the next window)
    now: str  # Lab Alpha from NOW_SOURCE, running at the time the fixture ran


def prove(rt: Runtime, viewer: Viewer, organization: str, network: str, domain: str) -> None:
    """Claim ``network`` and prove it by the HTTP well-known token (a real request)."""
    claimed = scan_flow.claim_scope(
        rt, viewer=viewer, organization=organization, networks=[network], domain=domain
    )
    challenge = claimed["challenge"]
    with demo_scans.serving_token(challenge["http_path"], challenge["dns_value"]) as base_url:
        verified = scan_flow.verify_scope(
            rt, viewer=viewer, organization=organization, method="http", base_url=base_url
        )
    assert verified["verified"] == [network], verified


def build_scans(world: World) -> ScansWorld:
    rt = world.runtime
    now = rt.clock.now().astimezone(dt.UTC)
    today = now.date()
    monday = dt.datetime.combine(today - dt.timedelta(days=today.weekday()), dt.time(), dt.UTC)
    hospital, acme = world.viewers[OPERATOR.key], world.viewers[GRANTED.key]
    prove(rt, hospital, OPERATOR.name, HOSPITAL_NET, "valley-hospital.example")
    prove(rt, acme, GRANTED.name, ACME_NET, "acme.example")
    since = monday - dt.timedelta(days=7)  # campaigns earlier this week are authorized too
    until = monday + dt.timedelta(days=60)
    for owner, viewer, network in ((OPERATOR, hospital, HOSPITAL_NET), (GRANTED, acme, ACME_NET)):
        for lab in (OWNER, UNRELATED):
            scan_flow.authorize(
                rt,
                viewer=viewer,
                owner=owner.name,
                scanner=lab.name,
                ranges=[network],
                windows="mon-sun 00:00-24:00",
                techniques=["discovery", "vulnerability-scan"],
                max_rate_pps=100,
                max_concurrency=4,
                starts_at=since,
                expires_at=until,
            )

    def declare(lab: Any, targets: list[str], source: str, start: dt.datetime, hours: float) -> str:
        answer = scan_flow.declare_campaign(
            rt,
            viewer=world.viewers[lab.key],
            scanner=lab.name,
            targets=targets,
            sources=[source],
            start=start,
            end=start + dt.timedelta(hours=hours),
            technique="discovery",
            rate_pps=20,
            contact=f"soc@{lab.name.split()[-1].lower()}.example",
        )
        return str(answer["ticket"])

    day = dt.timedelta(days=1)
    alpha = declare(
        OWNER, ["192.0.2.0/26"], ALPHA_SOURCE, monday + day + dt.timedelta(hours=10), 50
    )
    beta = declare(UNRELATED, ["192.0.2.32/27"], BETA_SOURCE, monday + 2 * day, 48)
    beta_alone = declare(UNRELATED, ["192.0.2.128/26"], BETA_SOURCE, monday + 5 * day, 6)
    spanning = declare(
        OWNER, ["192.0.2.192/27", "203.0.113.128/27"], ALPHA_SOURCE, monday + 8 * day, 30
    )
    later = declare(OWNER, ["203.0.113.0/25"], ALPHA_SOURCE, monday + 22 * day, 5)
    current = declare(OWNER, ["192.0.2.64/28"], NOW_SOURCE, now - dt.timedelta(hours=1), 3)

    coordinator = world.viewers[COORDINATOR.key]
    for name, score_signal in ((LEASED, 5000.0), (COVERED, 3000.0), (NEVER, 10.0)):
        scan_flow.add_project(
            rt, viewer=coordinator, name=name, signals={"dependents_count": score_signal}
        )
    alpha_lab = world.viewers[OWNER.key]
    scan_flow.complete_scan(
        rt,
        viewer=alpha_lab,
        organization=OWNER.name,
        project=COVERED,
        commit=COMMIT,
        technique="vulnerability-scan",
    )
    leased = scan_flow.next_targets(rt, viewer=alpha_lab, organization=OWNER.name, count=1)
    assert [p["project"] for p in leased] == [LEASED], leased
    return ScansWorld(monday, alpha, beta, beta_alone, spanning, later, current)


# --- reading the pages ----------------------------------------------------------------------


@dataclass
class Cell:
    first_day: int
    span: int
    ticket: str | None
    conflict: bool
    text: str


class CalendarParser(HTMLParser):
    """The calendar table as rows: target -> cells (day index, colspan, bar ticket)."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: dict[str, list[list[Cell]]] = {}
        self.days = 0
        self._in_table = False
        self._in_head = False
        self._lane: list[Cell] | None = None
        self._day = 0
        self._cell: Cell | None = None
        self._depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "table" and a.get("id") == "calendar":
            self._in_table = True
        if not self._in_table:
            return
        if tag == "thead":
            self._in_head = True
        elif tag == "th" and self._in_head and (a.get("class") or "").startswith("day"):
            self.days += 1
        elif tag == "tr" and not self._in_head and a.get("data-target") is not None:
            self._lane = []
            self._day = 0
            self.rows.setdefault(str(a["data-target"]), []).append(self._lane)
        elif tag == "td" and self._lane is not None:
            span = int(a.get("colspan") or 1)
            self._cell = Cell(self._day, span, None, False, "")
            self._lane.append(self._cell)
            self._day += span
        elif tag == "div" and self._cell is not None and a.get("data-ticket"):
            self._cell.ticket = a["data-ticket"]
            self._cell.conflict = a.get("data-conflict") == "true"

    def handle_endtag(self, tag: str) -> None:
        if tag == "thead":
            self._in_head = False
        elif tag == "td":
            self._cell = None
        elif tag == "tr":
            self._lane = None
        elif tag == "table":
            self._in_table = False

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.text += data

    def bars(self) -> dict[str, list[tuple[str, Cell]]]:
        """ticket -> [(target, cell)] for every campaign bar."""
        out: dict[str, list[tuple[str, Cell]]] = {}
        for target, lanes in self.rows.items():
            for lane in lanes:
                for cell in lane:
                    if cell.ticket:
                        out.setdefault(cell.ticket, []).append((target, cell))
        return out


def parse_calendar(html: str) -> CalendarParser:
    parser = CalendarParser()
    parser.feed(html)
    return parser


@contextmanager
def counted(rt: Runtime) -> Iterator[list[str]]:
    """The SQL statements run while the block runs."""
    statements: list[str] = []

    def record(*args: Any) -> None:
        statements.append(str(args[2]))

    event.listen(rt.db.engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(rt.db.engine, "before_cursor_execute", record)
