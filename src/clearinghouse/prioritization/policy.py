"""Remediation deadlines: the first matching rule of an ordered table decides.

The table is data (a tuple of :class:`Rule`), so a deployment can pass its own. The default
mirrors US federal practice:

* CISA BOD 22-01: a vulnerability in the Known Exploited Vulnerabilities catalog is fixed by
  the catalog's due date (two weeks for CVEs from 2021 on, hence 14 days when none is known);
* CISA BOD 19-02: critical vulnerabilities within 15 days, high within 30;
* beyond the directives, the common 90 days for medium (FedRAMP's moderate) and 180 for the
  rest (FedRAMP's low).

An SSVC deployer decision counts as the severity of the same step (``immediate`` as critical,
``out-of-cycle`` as high, ``scheduled`` as medium), so whichever of CVSS and SSVC is the more
urgent decides, and a missing one never delays the other.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Final

from clearinghouse.core.errors import InputError
from clearinghouse.prioritization.cvss import Severity
from clearinghouse.prioritization.ssvc import Priority


class PolicyError(InputError):
    """A policy table or the signals given to it cannot be used."""

    title = "Invalid remediation policy"
    type_slug = "invalid-policy"


@dataclass(frozen=True, slots=True)
class Signals:
    """What is known about one vulnerability; everything is optional.

    ``cvss_severity`` and ``cvss_score`` should be what to prioritize by
    (``CvssScore.score_severity`` and ``CvssScore.score``). ``exploited`` is exploitation
    known from elsewhere than KEV; ``validated`` means the clearinghouse reproduced it.
    ``sector`` is the affected organization's sector (``access.roles.Sector`` values).
    ``epss`` and ``epss_percentile`` are FIRST EPSS figures, both in [0, 1].
    """

    in_kev: bool = False
    kev_due_date: date | None = None
    cvss_severity: Severity | None = None
    cvss_score: float | None = None
    ssvc: Priority | None = None
    exploited: bool = False
    validated: bool = False
    sector: str | None = None
    epss: float | None = None
    epss_percentile: float | None = None

    def __post_init__(self) -> None:
        if self.kev_due_date is not None and not self.in_kev:
            raise PolicyError("a KEV due date was given for a vulnerability not in KEV")
        _check_range("CVSS score", self.cvss_score, 10.0)
        _check_range("EPSS probability", self.epss, 1.0)
        _check_range("EPSS percentile", self.epss_percentile, 1.0)


@dataclass(frozen=True, slots=True)
class Rule:
    """One row of a policy table: when it applies, and how many days it allows.

    A rule applies when any of its conditions holds (listed in KEV, one of ``ssvc``, one of
    ``severities``, exploited, validated); a rule with no condition applies to everything
    and belongs last. ``sectors``, when given, limits the rule to those sectors.
    ``use_kev_due_date`` makes a KEV-listed vulnerability's catalog due date the deadline
    when there is one (even one already past: the vulnerability is then overdue).
    """

    name: str
    days: int
    kev: bool = False
    ssvc: frozenset[Priority] = field(default_factory=frozenset)
    severities: frozenset[Severity] = field(default_factory=frozenset)
    exploited: bool = False
    validated: bool = False
    sectors: frozenset[str] = field(default_factory=frozenset)
    use_kev_due_date: bool = False
    description: str = ""

    def __post_init__(self) -> None:
        if self.days < 0:
            raise PolicyError(f"policy rule {self.name!r}: days must be 0 or more")

    @property
    def conditional(self) -> bool:
        return any((self.kev, self.ssvc, self.severities, self.exploited, self.validated))

    @property
    def catch_all(self) -> bool:
        """Applies to every vulnerability (no condition, every sector)."""
        return not self.conditional and not self.sectors

    def matches(self, signals: Signals) -> bool:
        if self.sectors and signals.sector not in self.sectors:
            return False
        if not self.conditional:
            return True
        return (
            (self.kev and signals.in_kev)
            or signals.ssvc in self.ssvc
            or signals.cvss_severity in self.severities
            or (self.exploited and signals.exploited)
            or (self.validated and signals.validated)
        )


DEFAULT_TABLE: Final[tuple[Rule, ...]] = (
    Rule(
        "kev",
        14,
        kev=True,
        use_kev_due_date=True,
        description="in CISA KEV: the catalog's due date, else two weeks (BOD 22-01)",
    ),
    Rule(
        "immediate-or-critical",
        15,
        ssvc=frozenset({Priority.IMMEDIATE}),
        severities=frozenset({Severity.CRITICAL}),
        description="critical within 15 days (BOD 19-02)",
    ),
    Rule(
        "out-of-cycle-or-high",
        30,
        ssvc=frozenset({Priority.OUT_OF_CYCLE}),
        severities=frozenset({Severity.HIGH}),
        description="high within 30 days (BOD 19-02)",
    ),
    Rule(
        "scheduled-or-medium",
        90,
        ssvc=frozenset({Priority.SCHEDULED}),
        severities=frozenset({Severity.MEDIUM}),
        description="medium within 90 days (FedRAMP moderate)",
    ),
    Rule("default", 180, description="everything else within 180 days (FedRAMP low)"),
)


@dataclass(frozen=True, slots=True)
class Deadline:
    due: date
    rule: Rule
    signals: Signals

    def explain(self) -> str:
        """``due 2026-12-01 (rule kev): KEV (due 2026-12-01); CVSS 9.8 CRITICAL``."""
        return f"due {self.due.isoformat()} (rule {self.rule.name}): {reason(self.signals)}"


def check_table(table: tuple[Rule, ...]) -> tuple[Rule, ...]:
    """``table`` if it can decide every vulnerability: rule names unique and a catch-all
    rule last (rules after a catch-all could never apply). For loading a configured table."""
    if not table:
        raise PolicyError("the policy table is empty")
    names = [rule.name for rule in table]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise PolicyError(f"policy rules named more than once: {', '.join(duplicates)}")
    catch_alls = [index for index, rule in enumerate(table) if rule.catch_all]
    if catch_alls != [len(table) - 1]:
        raise PolicyError(
            "the policy table must end with a rule without conditions or sectors, its only one"
        )
    return table


def deadline(signals: Signals, *, today: date, table: tuple[Rule, ...] = DEFAULT_TABLE) -> Deadline:
    """The remediation deadline from ``today`` under the first rule of ``table`` that matches."""
    for rule in table:
        if rule.matches(signals):
            if rule.use_kev_due_date and signals.in_kev and signals.kev_due_date is not None:
                return Deadline(signals.kev_due_date, rule, signals)
            return Deadline(today + timedelta(days=rule.days), rule, signals)
    raise PolicyError(f"no rule of the policy table matches: {reason(signals)}")


def reason(signals: Signals) -> str:
    """One line of what is known, most decisive first:
    ``KEV (due 2026-12-01); CVSS 9.8 CRITICAL; SSVC immediate; EPSS 0.97 (99th pct)``."""
    parts = []
    if signals.in_kev:
        due = signals.kev_due_date
        parts.append(f"KEV (due {due.isoformat()})" if due else "KEV")
    if signals.cvss_score is not None or signals.cvss_severity is not None:
        cvss = [f"{signals.cvss_score:.1f}"] if signals.cvss_score is not None else []
        cvss += [signals.cvss_severity.value] if signals.cvss_severity is not None else []
        parts.append(" ".join(["CVSS", *cvss]))
    if signals.ssvc is not None:
        parts.append(f"SSVC {signals.ssvc.label}")
    if signals.epss is not None:
        epss = f"EPSS {_probability(signals.epss)}"
        if signals.epss_percentile is not None:
            epss += f" ({_ordinal(_percent(signals.epss_percentile))} pct)"
        parts.append(epss)
    if signals.exploited:
        parts.append("exploited")
    if signals.validated:
        parts.append("validated")
    return "; ".join(parts) or "no KEV listing, CVSS, SSVC or EPSS signal"


def _check_range(what: str, value: float | None, highest: float) -> None:
    if value is not None and not 0.0 <= value <= highest:
        raise PolicyError(f"{what} {value} is outside [0, {highest:g}]")


def _probability(value: float) -> str:
    """Two decimals, or two significant digits below 0.01 (most EPSS scores are tiny)."""
    return f"{value:.2f}" if value >= 0.01 or value == 0 else f"{value:.2g}"


def _percent(fraction: float) -> int:
    """Whole percent, rounded down (0.999 is the 99th, not the 100th), ignoring float noise
    (0.29 * 100 is 28.999999999999996)."""
    return math.floor(round(fraction * 100, 6))


def _ordinal(number: int) -> str:
    if number % 100 in (11, 12, 13):
        return f"{number}th"
    return f"{number}{({1: 'st', 2: 'nd', 3: 'rd'}).get(number % 10, 'th')}"


_RULE_FIELDS: Final = frozenset(
    {
        "name",
        "days",
        "kev",
        "ssvc",
        "severities",
        "exploited",
        "validated",
        "sectors",
        "use_kev_due_date",
        "description",
    }
)


def load_table(data: bytes) -> tuple[Rule, ...]:
    """A policy table from JSON: a list of rules, each an object with ``name`` and ``days``
    and any of ``kev``, ``ssvc``, ``severities``, ``exploited``, ``validated``, ``sectors``,
    ``use_kev_due_date``, ``description``. Refused, naming the rule and field, if anything is
    unknown or the table cannot decide every vulnerability (``check_table``)."""
    try:
        raw = json.loads(data)
    except ValueError as error:
        raise PolicyError(f"policy table is not JSON: {error}") from None
    if not isinstance(raw, list) or not raw:
        raise PolicyError("policy table: a non-empty JSON array of rules")
    rules = []
    for i, item in enumerate(raw):
        at = f"policy rule {i}"
        if not isinstance(item, dict):
            raise PolicyError(f"{at}: an object")
        unknown = sorted(set(item) - _RULE_FIELDS)
        if unknown:
            raise PolicyError(f"{at}: unknown field {unknown[0]!r}")
        if not isinstance(item.get("name"), str) or not isinstance(item.get("days"), int):
            raise PolicyError(f"{at}: needs a string 'name' and an integer 'days'")
        try:
            rules.append(
                Rule(
                    item["name"],
                    item["days"],
                    kev=bool(item.get("kev", False)),
                    ssvc=frozenset(Priority.parse(v) for v in item.get("ssvc", [])),
                    severities=frozenset(
                        Severity(str(v).upper()) for v in item.get("severities", [])
                    ),
                    exploited=bool(item.get("exploited", False)),
                    validated=bool(item.get("validated", False)),
                    sectors=frozenset(str(v) for v in item.get("sectors", [])),
                    use_kev_due_date=bool(item.get("use_kev_due_date", False)),
                    description=str(item.get("description", "")),
                )
            )
        except (ValueError, InputError) as error:
            raise PolicyError(f"{at} ({item['name']}): {error}") from None
    return check_table(tuple(rules))
