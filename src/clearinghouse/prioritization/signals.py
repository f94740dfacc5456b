"""From what is known about one match to its SSVC decision and deadline inputs (pure).

The deployer tree needs four answers nobody types in for every match, so each has a stated
default an operator can see in the reason line:

- Exploitation: ``active`` when the CVE is in KEV or the clearinghouse reproduced a proof,
  else ``public_poc`` when EPSS puts it in the top 5 % (a proxy CISA's own guidance uses for
  "likely exploited soon"), else ``none``.
- Automatable: ``yes`` when the CVSS vector says network-reachable without privileges or user
  interaction (``AV:N``, ``PR:N``, ``UI:N``), the reading CISA's Vulnrichment applies.
- System Exposure: ``controlled`` unless the operator says otherwise (not yet recorded).
- Human Impact: from the operator's sector: hospitals, water and energy utilities put lives at
  stake (``very_high``/``high``); banks, communications and government carry essential
  services (``medium``); everything else ``low``.

CISA's coordinator tree (what a coordinator does about the vulnerability for this operator)
takes the same Exploitation and Automatable, Technical Impact ``total`` when the vector gives
high confidentiality and integrity impact (an attacker controls the system) else ``partial``,
and Mission and Well-being from the sector: Mission Prevalence ``essential`` for hospitals and
utilities, ``support`` for banks, communications and government, else ``minimal``; Public
Well-being ``irreversible`` for hospitals and water, ``material`` for energy, banks,
communications and government, else ``minimal``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from clearinghouse.core.errors import InputError
from clearinghouse.prioritization import cvss
from clearinghouse.prioritization.policy import DEFAULT_TABLE, Deadline, Rule, Signals, deadline
from clearinghouse.prioritization.ssvc import (
    Automatable,
    CisaLevel,
    Decision,
    Exploitation,
    HumanImpact,
    MissionPrevalence,
    Priority,
    PublicWellBeingImpact,
    SystemExposure,
    TechnicalImpact,
    cisa_coordinator,
    deployer_priority,
    mission_and_well_being_impact,
)

SECTOR_HUMAN_IMPACT: Final = {
    "healthcare": HumanImpact.VERY_HIGH,
    "water": HumanImpact.HIGH,
    "energy": HumanImpact.HIGH,
    "finance": HumanImpact.MEDIUM,
    "communications": HumanImpact.MEDIUM,
    "government": HumanImpact.MEDIUM,
}
EPSS_POC_PERCENTILE: Final = 0.95
SECTOR_MISSION: Final = {
    "healthcare": (MissionPrevalence.ESSENTIAL, PublicWellBeingImpact.IRREVERSIBLE),
    "water": (MissionPrevalence.ESSENTIAL, PublicWellBeingImpact.IRREVERSIBLE),
    "energy": (MissionPrevalence.ESSENTIAL, PublicWellBeingImpact.MATERIAL),
    "finance": (MissionPrevalence.SUPPORT, PublicWellBeingImpact.MATERIAL),
    "communications": (MissionPrevalence.SUPPORT, PublicWellBeingImpact.MATERIAL),
    "government": (MissionPrevalence.SUPPORT, PublicWellBeingImpact.MATERIAL),
}


@dataclass(frozen=True, slots=True)
class Assessment:
    cvss: cvss.CvssScore | None
    ssvc: Decision[Priority]
    coordinator: Decision[CisaLevel]
    deadline: Deadline


def technical_impact(score: cvss.CvssScore | None) -> TechnicalImpact:
    if score is None or score.version == "2.0":
        return TechnicalImpact.PARTIAL
    metrics = dict(part.split(":", 1) for part in score.vector.split("/")[1:] if ":" in part)
    if score.version == "4.0":
        total = metrics.get("VC") == "H" and metrics.get("VI") == "H"
    else:
        total = metrics.get("C") == "H" and metrics.get("I") == "H"
    return TechnicalImpact.TOTAL if total else TechnicalImpact.PARTIAL


def automatable(score: cvss.CvssScore | None) -> Automatable:
    if score is None or score.version == "2.0":
        return Automatable.NO
    metrics = dict(part.split(":", 1) for part in score.vector.split("/")[1:] if ":" in part)
    network = metrics.get("AV") == "N" and metrics.get("PR") == "N" and metrics.get("UI") == "N"
    return Automatable.YES if network else Automatable.NO


def best_cvss(vectors: Sequence[str]) -> cvss.CvssScore | None:
    """The preferred score among the valid vectors (an invalid one is skipped, not fatal)."""
    valid = []
    for vector in vectors:
        try:
            valid.append(cvss.score(vector))
        except InputError:
            continue
    return cvss.highest(s.vector for s in valid) if valid else None


def assess(
    *,
    vectors: Sequence[str],
    in_kev: bool,
    kev_due: dt.date | None,
    epss: float | None,
    epss_percentile: float | None,
    validated: bool,
    sector: str | None,
    today: dt.date,
    policy: tuple[Rule, ...] = DEFAULT_TABLE,
) -> Assessment:
    """The SSVC deployer and coordinator decisions and the remediation deadline of one match."""
    score = best_cvss(vectors)
    if in_kev or validated:
        exploitation = Exploitation.ACTIVE
    elif epss_percentile is not None and epss_percentile >= EPSS_POC_PERCENTILE:
        exploitation = Exploitation.PUBLIC_POC
    else:
        exploitation = Exploitation.NONE
    can_automate = automatable(score)
    decision = deployer_priority(
        exploitation,
        SystemExposure.CONTROLLED,
        can_automate,
        SECTOR_HUMAN_IMPACT.get(sector or "", HumanImpact.LOW),
    )
    prevalence, well_being = SECTOR_MISSION.get(
        sector or "", (MissionPrevalence.MINIMAL, PublicWellBeingImpact.MINIMAL)
    )
    coordinator = cisa_coordinator(
        exploitation,
        can_automate,
        technical_impact(score),
        mission_and_well_being_impact(prevalence, well_being).outcome,
    )
    signals = Signals(
        in_kev=in_kev,
        kev_due_date=kev_due if in_kev else None,
        cvss_severity=score.score_severity if score else None,
        cvss_score=score.score if score else None,
        ssvc=decision.outcome,
        validated=validated,
        sector=sector,
        epss=epss,
        epss_percentile=epss_percentile,
    )
    return Assessment(
        cvss=score,
        ssvc=decision,
        coordinator=coordinator,
        deadline=deadline(signals, today=today, table=policy),
    )
