"""SSVC decisions (Stakeholder-Specific Vulnerability Categorization, CERT/CC and CISA).

Each decision table is a pure function over enums returning a :class:`Decision` that keeps its
inputs, so a caller can print why (``Decision.reason()``). The tables are written out here, in
our own notation, from the SSVC project's published decision tables (CERTCC/SSVC
``data/csv``; the tests check every row against them):

* Deployer Patch Application Priority 1.0.0 (:func:`deployer_priority`) and the helper tables
  it and the others rest on: Human Impact 1.0.0, Public Safety Impact 1.0.0, Utility 1.0.0;
* Supplier Patch Development Priority 1.0.0 (:func:`supplier_priority`);
* CISA Coordinator 2.0.3 (:func:`cisa_coordinator`) and the Mission and Well-Being Impact
  table it depends on (from CISA's SSVC guide; SSVC publishes no table for it);
* CERT/CC Coordinator Triage 1.0.0 and Coordinator Publish Decision 1.0.0.

SSVC's own Python package (``certcc-ssvc``) carries these tables, but needs Python 3.12 and
pulls in pandas, scikit-learn, mkdocs and FastAPI, so it is not a dependency.

Every enum lists its values from the least to the most urgent or severe; :attr:`rank` gives
that order (comparing the members directly would compare their strings).
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final, Generic, Self, TypeVar

from clearinghouse.core.errors import InputError

# --- values ---------------------------------------------------------------------------------


class SsvcValue(enum.StrEnum):
    """A decision point's value: ``value`` is an identifier, ``label`` SSVC's own spelling."""

    @property
    def label(self) -> str:
        return _LABELS.get(self.value, self.value.replace("_", " "))

    @property
    def rank(self) -> int:
        """Position from the least (0) to the most urgent or severe value."""
        return list(type(self)).index(self)

    @classmethod
    def parse(cls, text: str) -> Self:
        """The member named by ``text``: its value or its label, in any case
        (``public poc``, ``Public PoC``, ``public_poc``, ``out-of-cycle``)."""
        key = _KEY_SEPARATORS.sub("_", text.strip().lower())
        for member in cls:
            if member.value == key:
                return member
        raise InvalidSsvcValueError(point_name(cls), text, [m.label for m in cls])


_KEY_SEPARATORS: Final = re.compile(r"[\s/-]+")
_LABELS: Final = {
    "out_of_cycle": "out-of-cycle",
    "uncooperative_unresponsive": "uncooperative/unresponsive",
}
_POINT_NAMES: Final = {
    "MissionAndWellBeingImpact": "Mission and Well-Being Impact",
    "PublicWellBeingImpact": "Public Well-Being Impact",
    "CisaLevel": "CISA Level",
    "Priority": "Priority",
}


def point_name(point: type[SsvcValue] | SsvcValue) -> str:
    """The decision point's name as SSVC writes it (``System Exposure``)."""
    cls = point if isinstance(point, type) else type(point)
    return _POINT_NAMES.get(cls.__name__) or re.sub(r"(?<!^)(?=[A-Z])", " ", cls.__name__)


class InvalidSsvcValueError(InputError):
    """Text that names no value of an SSVC decision point."""

    title = "Invalid SSVC value"
    type_slug = "invalid-ssvc-value"

    def __init__(self, point: str, text: str, allowed: list[str]) -> None:
        super().__init__(f"{point}: {text!r} is not one of {', '.join(allowed)}")
        self.point = point


class Exploitation(SsvcValue):
    """Exploitation 1.1.0."""

    NONE = "none"
    PUBLIC_POC = "public_poc"
    ACTIVE = "active"


class SystemExposure(SsvcValue):
    """System Exposure 1.0.1."""

    SMALL = "small"
    CONTROLLED = "controlled"
    OPEN = "open"


class Automatable(SsvcValue):
    """Automatable 2.0.0."""

    NO = "no"
    YES = "yes"


class SafetyImpact(SsvcValue):
    """Safety Impact 2.0.1."""

    NEGLIGIBLE = "negligible"
    MARGINAL = "marginal"
    CRITICAL = "critical"
    CATASTROPHIC = "catastrophic"


class MissionImpact(SsvcValue):
    """Mission Impact 2.0.0 (MEF: mission essential function)."""

    DEGRADED = "degraded"
    MEF_SUPPORT_CRIPPLED = "mef_support_crippled"
    MEF_FAILURE = "mef_failure"
    MISSION_FAILURE = "mission_failure"


class HumanImpact(SsvcValue):
    """Human Impact 2.0.2."""

    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    VERY_HIGH = "very_high"


class PublicSafetyImpact(SsvcValue):
    """Public Safety Impact 2.0.1."""

    MINIMAL = "minimal"
    SIGNIFICANT = "significant"


class TechnicalImpact(SsvcValue):
    """Technical Impact 1.0.0."""

    PARTIAL = "partial"
    TOTAL = "total"


class ValueDensity(SsvcValue):
    """Value Density 1.0.0."""

    DIFFUSE = "diffuse"
    CONCENTRATED = "concentrated"


class Utility(SsvcValue):
    """Utility 1.0.1."""

    LABORIOUS = "laborious"
    EFFICIENT = "efficient"
    SUPER_EFFECTIVE = "super_effective"


class MissionPrevalence(SsvcValue):
    """Mission Prevalence 1.0.0 (CISA)."""

    MINIMAL = "minimal"
    SUPPORT = "support"
    ESSENTIAL = "essential"


class PublicWellBeingImpact(SsvcValue):
    """Public Well-Being Impact 1.1.0."""

    MINIMAL = "minimal"
    MATERIAL = "material"
    IRREVERSIBLE = "irreversible"


class MissionAndWellBeingImpact(SsvcValue):
    """Mission and Well-Being Impact 1.0.0."""

    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


class ReportPublic(SsvcValue):
    """Report Public 1.0.0: is the vulnerability already public?"""

    NO = "no"
    YES = "yes"


class SupplierContacted(SsvcValue):
    """Supplier Contacted 1.0.0: has the reporter told the supplier?"""

    NO = "no"
    YES = "yes"


class ReportCredibility(SsvcValue):
    """Report Credibility 1.0.0."""

    NOT_CREDIBLE = "not_credible"
    CREDIBLE = "credible"


class SupplierCardinality(SsvcValue):
    """Supplier Cardinality 1.0.0: how many suppliers must fix it."""

    ONE = "one"
    MULTIPLE = "multiple"


class SupplierEngagement(SsvcValue):
    """Supplier Engagement 1.0.0."""

    ACTIVE = "active"
    UNRESPONSIVE = "unresponsive"


class SupplierInvolvement(SsvcValue):
    """Supplier Involvement 1.0.0."""

    FIX_READY = "fix_ready"
    COOPERATIVE = "cooperative"
    UNCOOPERATIVE_UNRESPONSIVE = "uncooperative_unresponsive"


class PublicValueAdded(SsvcValue):
    """Public Value Added 1.0.0: what publishing would add to what is already public."""

    LIMITED = "limited"
    AMPLIATIVE = "ampliative"
    PRECEDENCE = "precedence"


# --- outcomes -------------------------------------------------------------------------------


class Priority(SsvcValue):
    """Defer, Scheduled, Out-of-Cycle, Immediate 1.0.0 (the deployer and supplier outcome)."""

    DEFER = "defer"
    SCHEDULED = "scheduled"
    OUT_OF_CYCLE = "out_of_cycle"
    IMMEDIATE = "immediate"


class CisaLevel(SsvcValue):
    """CISA Levels 1.1.0: Track, Track* (track closely), Attend, Act."""

    TRACK = "track"
    TRACK_STAR = "track*"
    ATTEND = "attend"
    ACT = "act"


class TriageDecision(SsvcValue):
    """Decline, Track, Coordinate 1.0.1."""

    DECLINE = "decline"
    TRACK = "track"
    COORDINATE = "coordinate"


class PublishDecision(SsvcValue):
    """Publish, Do Not Publish 1.0.0."""

    DO_NOT_PUBLISH = "do_not_publish"
    PUBLISH = "publish"


OutcomeT = TypeVar("OutcomeT", bound=SsvcValue)


@dataclass(frozen=True, slots=True)
class Decision(Generic[OutcomeT]):
    """A table's outcome with the inputs that produced it."""

    table: str
    """The decision table's name and version, e.g. ``CISA Coordinator 2.0.3``."""
    outcome: OutcomeT
    inputs: tuple[SsvcValue, ...]

    @property
    def label(self) -> str:
        return self.outcome.label

    def reason(self) -> str:
        """One line: ``CISA Coordinator 2.0.3: act (Exploitation: active, …)``."""
        inputs = ", ".join(f"{point_name(value)}: {value.label}" for value in self.inputs)
        return f"{self.table}: {self.label} ({inputs})"


# --- tables ---------------------------------------------------------------------------------
# Each table maps the leading inputs to a string with one letter per value of the last input,
# in that input's order (least to most). Letters are decoded per outcome enum.

_PRIORITY_LETTERS: Final = {
    "D": Priority.DEFER,
    "S": Priority.SCHEDULED,
    "O": Priority.OUT_OF_CYCLE,
    "I": Priority.IMMEDIATE,
}
_CISA_LETTERS: Final = {
    "T": CisaLevel.TRACK,
    "*": CisaLevel.TRACK_STAR,
    "A": CisaLevel.ATTEND,
    "!": CisaLevel.ACT,
}

_E = Exploitation
_X = SystemExposure
_A = Automatable
_T = TechnicalImpact
_U = Utility

# Deployer Patch Application Priority 1.0.0; letters by Human Impact (low, medium, high,
# very high).
_DEPLOYER: Final[Mapping[tuple[SsvcValue, ...], str]] = {
    (_E.NONE, _X.SMALL, _A.NO): "DDSS",
    (_E.NONE, _X.SMALL, _A.YES): "DSSS",
    (_E.NONE, _X.CONTROLLED, _A.NO): "DSSS",
    (_E.NONE, _X.CONTROLLED, _A.YES): "SSSS",
    (_E.NONE, _X.OPEN, _A.NO): "DSSS",
    (_E.NONE, _X.OPEN, _A.YES): "SSSO",
    (_E.PUBLIC_POC, _X.SMALL, _A.NO): "DSSS",
    (_E.PUBLIC_POC, _X.SMALL, _A.YES): "SSSS",
    (_E.PUBLIC_POC, _X.CONTROLLED, _A.NO): "DSSS",
    (_E.PUBLIC_POC, _X.CONTROLLED, _A.YES): "SSSO",
    (_E.PUBLIC_POC, _X.OPEN, _A.NO): "SSSO",
    (_E.PUBLIC_POC, _X.OPEN, _A.YES): "SSOO",
    (_E.ACTIVE, _X.SMALL, _A.NO): "SSOO",
    (_E.ACTIVE, _X.SMALL, _A.YES): "SOOO",
    (_E.ACTIVE, _X.CONTROLLED, _A.NO): "SSOO",
    (_E.ACTIVE, _X.CONTROLLED, _A.YES): "OOOO",
    (_E.ACTIVE, _X.OPEN, _A.NO): "SOOI",
    (_E.ACTIVE, _X.OPEN, _A.YES): "OOII",
}

# Supplier Patch Development Priority 1.0.0; letters by Public Safety Impact (minimal,
# significant).
_SUPPLIER: Final[Mapping[tuple[SsvcValue, ...], str]] = {
    (_E.NONE, _U.LABORIOUS, _T.PARTIAL): "DS",
    (_E.NONE, _U.LABORIOUS, _T.TOTAL): "SO",
    (_E.NONE, _U.EFFICIENT, _T.PARTIAL): "SO",
    (_E.NONE, _U.EFFICIENT, _T.TOTAL): "SO",
    (_E.NONE, _U.SUPER_EFFECTIVE, _T.PARTIAL): "SO",
    (_E.NONE, _U.SUPER_EFFECTIVE, _T.TOTAL): "OO",
    (_E.PUBLIC_POC, _U.LABORIOUS, _T.PARTIAL): "SO",
    (_E.PUBLIC_POC, _U.LABORIOUS, _T.TOTAL): "SI",
    (_E.PUBLIC_POC, _U.EFFICIENT, _T.PARTIAL): "SI",
    (_E.PUBLIC_POC, _U.EFFICIENT, _T.TOTAL): "OI",
    (_E.PUBLIC_POC, _U.SUPER_EFFECTIVE, _T.PARTIAL): "OI",
    (_E.PUBLIC_POC, _U.SUPER_EFFECTIVE, _T.TOTAL): "OI",
    (_E.ACTIVE, _U.LABORIOUS, _T.PARTIAL): "OI",
    (_E.ACTIVE, _U.LABORIOUS, _T.TOTAL): "OI",
    (_E.ACTIVE, _U.EFFICIENT, _T.PARTIAL): "OI",
    (_E.ACTIVE, _U.EFFICIENT, _T.TOTAL): "OI",
    (_E.ACTIVE, _U.SUPER_EFFECTIVE, _T.PARTIAL): "II",
    (_E.ACTIVE, _U.SUPER_EFFECTIVE, _T.TOTAL): "II",
}

# CISA Coordinator 2.0.3; letters by Mission and Well-Being Impact (low, medium, high):
# T track, * track*, A attend, ! act.
_CISA_COORDINATOR: Final[Mapping[tuple[SsvcValue, ...], str]] = {
    (_E.NONE, _A.NO, _T.PARTIAL): "TTT",
    (_E.NONE, _A.NO, _T.TOTAL): "TT*",
    (_E.NONE, _A.YES, _T.PARTIAL): "TTA",
    (_E.NONE, _A.YES, _T.TOTAL): "TTA",
    (_E.PUBLIC_POC, _A.NO, _T.PARTIAL): "TT*",
    (_E.PUBLIC_POC, _A.NO, _T.TOTAL): "T*A",
    (_E.PUBLIC_POC, _A.YES, _T.PARTIAL): "TTA",
    (_E.PUBLIC_POC, _A.YES, _T.TOTAL): "T*A",
    (_E.ACTIVE, _A.NO, _T.PARTIAL): "TTA",
    (_E.ACTIVE, _A.NO, _T.TOTAL): "TA!",
    (_E.ACTIVE, _A.YES, _T.PARTIAL): "AA!",
    (_E.ACTIVE, _A.YES, _T.TOTAL): "A!!",
}

# Human Impact 1.0.0: Safety Impact x Mission Impact (degraded, MEF support crippled, MEF
# failure, mission failure). L low, M medium, H high, V very high.
_HUMAN_IMPACT_LETTERS: Final = {
    "L": HumanImpact.LOW,
    "M": HumanImpact.MEDIUM,
    "H": HumanImpact.HIGH,
    "V": HumanImpact.VERY_HIGH,
}
_HUMAN_IMPACT: Final[Mapping[SafetyImpact, str]] = {
    SafetyImpact.NEGLIGIBLE: "LLMV",
    SafetyImpact.MARGINAL: "LLMV",
    SafetyImpact.CRITICAL: "MHHV",
    SafetyImpact.CATASTROPHIC: "VVVV",
}

# Mission and Well-Being Impact (CISA SSVC guide, November 2022): Mission Prevalence x Public
# Well-Being Impact (minimal, material, irreversible). L low, M medium, H high.
_MWI_LETTERS: Final = {
    "L": MissionAndWellBeingImpact.LOW,
    "M": MissionAndWellBeingImpact.MEDIUM,
    "H": MissionAndWellBeingImpact.HIGH,
}
_MISSION_AND_WELL_BEING: Final[Mapping[MissionPrevalence, str]] = {
    MissionPrevalence.MINIMAL: "LMH",
    MissionPrevalence.SUPPORT: "MMH",
    MissionPrevalence.ESSENTIAL: "HHH",
}


def deployer_priority(
    exploitation: Exploitation,
    exposure: SystemExposure,
    automatable: Automatable,
    human_impact: HumanImpact,
) -> Decision[Priority]:
    """SSVC Deployer Patch Application Priority 1.0.0: how soon to apply a patch."""
    letters = _DEPLOYER[exploitation, exposure, automatable]
    return Decision(
        "SSVC Deployer Patch Application Priority 1.0.0",
        _PRIORITY_LETTERS[letters[human_impact.rank]],
        (exploitation, exposure, automatable, human_impact),
    )


def supplier_priority(
    exploitation: Exploitation,
    utility: Utility,
    technical_impact: TechnicalImpact,
    public_safety: PublicSafetyImpact,
) -> Decision[Priority]:
    """SSVC Supplier Patch Development Priority 1.0.0: how soon to build a fix."""
    letters = _SUPPLIER[exploitation, utility, technical_impact]
    return Decision(
        "SSVC Supplier Patch Development Priority 1.0.0",
        _PRIORITY_LETTERS[letters[public_safety.rank]],
        (exploitation, utility, technical_impact, public_safety),
    )


def cisa_coordinator(
    exploitation: Exploitation,
    automatable: Automatable,
    technical_impact: TechnicalImpact,
    mission_and_well_being: MissionAndWellBeingImpact,
) -> Decision[CisaLevel]:
    """CISA Coordinator 2.0.3: Track, Track*, Attend or Act."""
    letters = _CISA_COORDINATOR[exploitation, automatable, technical_impact]
    return Decision(
        "CISA Coordinator 2.0.3",
        _CISA_LETTERS[letters[mission_and_well_being.rank]],
        (exploitation, automatable, technical_impact, mission_and_well_being),
    )


def human_impact(safety: SafetyImpact, mission: MissionImpact) -> Decision[HumanImpact]:
    """SSVC Human Impact 1.0.0: the deployer tree's combined safety and mission impact."""
    letter = _HUMAN_IMPACT[safety][mission.rank]
    return Decision("SSVC Human Impact 1.0.0", _HUMAN_IMPACT_LETTERS[letter], (safety, mission))


def public_safety_impact(safety: SafetyImpact) -> Decision[PublicSafetyImpact]:
    """SSVC Public Safety Impact 1.0.0: anything above negligible safety impact is
    significant."""
    outcome = (
        PublicSafetyImpact.MINIMAL
        if safety is SafetyImpact.NEGLIGIBLE
        else PublicSafetyImpact.SIGNIFICANT
    )
    return Decision("SSVC Public Safety Impact 1.0.0", outcome, (safety,))


def utility(automatable: Automatable, value_density: ValueDensity) -> Decision[Utility]:
    """SSVC Utility 1.0.0: each of automatable and concentrated value adds one step."""
    steps = automatable.rank + value_density.rank
    return Decision("SSVC Utility 1.0.0", list(Utility)[steps], (automatable, value_density))


def mission_and_well_being_impact(
    prevalence: MissionPrevalence, well_being: PublicWellBeingImpact
) -> Decision[MissionAndWellBeingImpact]:
    """Mission and Well-Being Impact, the CISA coordinator tree's input.

    SSVC publishes this one only as the decision point's value definitions, which leave
    minimal prevalence with material well-being impact unstated; the matrix in CISA's SSVC
    guide (and its calculator) rates it medium, as here.
    """
    letter = _MISSION_AND_WELL_BEING[prevalence][well_being.rank]
    return Decision(
        "CISA Mission and Well-Being Impact 1.0.0",
        _MWI_LETTERS[letter],
        (prevalence, well_being),
    )


def coordinator_triage(
    report_public: ReportPublic,
    supplier_contacted: SupplierContacted,
    credibility: ReportCredibility,
    cardinality: SupplierCardinality,
    engagement: SupplierEngagement,
    utility: Utility,
    public_safety: PublicSafetyImpact,
) -> Decision[TriageDecision]:
    """CERT/CC Coordinator Triage 1.0.0: decline, track or coordinate a report.

    The published table (192 rows) reads as these rules:

    * Public already, or the supplier not yet contacted: a coordinator adds value only when
      several suppliers must act on a super effective, safety-significant flaw.
    * A credible report the contacted supplier ignores: coordinate, except for one supplier,
      a laborious exploit and minimal safety impact, which is tracked.
    * Otherwise (an engaged supplier, or a report not found credible): with several
      suppliers, a super effective exploit is coordinated when it is safety-significant or
      credible and tracked otherwise, and anything else is tracked when safety-significant;
      with one supplier, a safety-significant flaw that is not laborious to exploit is
      tracked. The rest is declined.
    """
    decline, track, coordinate = TriageDecision
    significant = public_safety is PublicSafetyImpact.SIGNIFICANT
    multiple = cardinality is SupplierCardinality.MULTIPLE
    credible = credibility is ReportCredibility.CREDIBLE
    if report_public is ReportPublic.YES or supplier_contacted is SupplierContacted.NO:
        worth = multiple and utility is Utility.SUPER_EFFECTIVE and significant
        outcome = coordinate if worth else decline
    elif credible and engagement is SupplierEngagement.UNRESPONSIVE:
        minor = not multiple and utility is Utility.LABORIOUS and not significant
        outcome = track if minor else coordinate
    elif multiple and utility is Utility.SUPER_EFFECTIVE:
        outcome = coordinate if significant or credible else track
    elif multiple:
        outcome = track if significant else decline
    else:
        outcome = track if significant and utility is not Utility.LABORIOUS else decline
    return Decision(
        "SSVC Coordinator Triage 1.0.0",
        outcome,
        (
            report_public,
            supplier_contacted,
            credibility,
            cardinality,
            engagement,
            utility,
            public_safety,
        ),
    )


def coordinator_publish(
    involvement: SupplierInvolvement,
    exploitation: Exploitation,
    value_added: PublicValueAdded,
) -> Decision[PublishDecision]:
    """CERT/CC Coordinator Publish Decision 1.0.0: whether to publish our own advisory.

    As rules: publish whenever ours would be the first (precedence); when it would amplify
    what is public, publish once exploitation is active, or a public PoC exists and the
    supplier is not cooperating; when it adds little, publish only for active exploitation of
    a flaw the supplier is not fixing. A ready fix and a cooperative supplier count the same.
    """
    uncooperative = involvement is SupplierInvolvement.UNCOOPERATIVE_UNRESPONSIVE
    active = exploitation is Exploitation.ACTIVE
    if value_added is PublicValueAdded.PRECEDENCE:
        publish = True
    elif value_added is PublicValueAdded.AMPLIATIVE:
        publish = active or (exploitation is Exploitation.PUBLIC_POC and uncooperative)
    else:
        publish = active and uncooperative
    return Decision(
        "SSVC Coordinator Publish Decision 1.0.0",
        PublishDecision.PUBLISH if publish else PublishDecision.DO_NOT_PUBLISH,
        (involvement, exploitation, value_added),
    )
