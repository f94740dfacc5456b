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
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from clearinghouse.core.errors import InputError
from clearinghouse.prioritization import cvss
from clearinghouse.prioritization.policy import Deadline, Signals, deadline
from clearinghouse.prioritization.ssvc import (
    Automatable,
    Decision,
    Exploitation,
    HumanImpact,
    Priority,
    SystemExposure,
    deployer_priority,
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


@dataclass(frozen=True, slots=True)
class Assessment:
    cvss: cvss.CvssScore | None
    ssvc: Decision[Priority]
    deadline: Deadline


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
) -> Assessment:
    """The SSVC deployer decision and the remediation deadline for one match."""
    score = best_cvss(vectors)
    if in_kev or validated:
        exploitation = Exploitation.ACTIVE
    elif epss_percentile is not None and epss_percentile >= EPSS_POC_PERCENTILE:
        exploitation = Exploitation.PUBLIC_POC
    else:
        exploitation = Exploitation.NONE
    decision = deployer_priority(
        exploitation,
        SystemExposure.CONTROLLED,
        automatable(score),
        SECTOR_HUMAN_IMPACT.get(sector or "", HumanImpact.LOW),
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
    return Assessment(cvss=score, ssvc=decision, deadline=deadline(signals, today=today))
