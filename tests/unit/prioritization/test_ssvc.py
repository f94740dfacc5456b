"""SSVC decisions against every row of the SSVC project's published decision tables."""

from __future__ import annotations

import csv
import itertools
import json
import math
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from clearinghouse.core.errors import InputError
from clearinghouse.prioritization import ssvc
from clearinghouse.prioritization.ssvc import (
    Automatable,
    CisaLevel,
    Decision,
    Exploitation,
    HumanImpact,
    InvalidSsvcValueError,
    MissionAndWellBeingImpact,
    MissionImpact,
    MissionPrevalence,
    Priority,
    PublicSafetyImpact,
    PublicValueAdded,
    PublicWellBeingImpact,
    PublishDecision,
    ReportCredibility,
    ReportPublic,
    SafetyImpact,
    SsvcValue,
    SupplierCardinality,
    SupplierContacted,
    SupplierEngagement,
    SupplierInvolvement,
    SystemExposure,
    TechnicalImpact,
    TriageDecision,
    Utility,
    ValueDensity,
    point_name,
)

TABLES = Path("ssvc/data/csv")

# csv file -> (function, input decision points in column order, outcome decision point, rows)
CASES: dict[
    str, tuple[Callable[..., Decision[Any]], list[type[SsvcValue]], type[SsvcValue], int]
] = {
    "ssvc/deployer_patch_application_priority_1_0_0.csv": (
        ssvc.deployer_priority,
        [Exploitation, SystemExposure, Automatable, HumanImpact],
        Priority,
        72,
    ),
    "ssvc/supplier_patch_development_priority_1_0_0.csv": (
        ssvc.supplier_priority,
        [Exploitation, Utility, TechnicalImpact, PublicSafetyImpact],
        Priority,
        36,
    ),
    "cisa/cisa_coordinator_2_0_3.csv": (
        ssvc.cisa_coordinator,
        [Exploitation, Automatable, TechnicalImpact, MissionAndWellBeingImpact],
        CisaLevel,
        36,
    ),
    "ssvc/human_impact_1_0_0.csv": (
        ssvc.human_impact,
        [SafetyImpact, MissionImpact],
        HumanImpact,
        16,
    ),
    "ssvc/public_safety_impact_1_0_0.csv": (
        ssvc.public_safety_impact,
        [SafetyImpact],
        PublicSafetyImpact,
        4,
    ),
    "ssvc/utility_1_0_0.csv": (ssvc.utility, [Automatable, ValueDensity], Utility, 4),
    "ssvc/coordinator_triage_1_0_0.csv": (
        ssvc.coordinator_triage,
        [
            ReportPublic,
            SupplierContacted,
            ReportCredibility,
            SupplierCardinality,
            SupplierEngagement,
            Utility,
            PublicSafetyImpact,
        ],
        TriageDecision,
        192,
    ),
    "ssvc/coordinator_publish_decision_table_1_0_0.csv": (
        ssvc.coordinator_publish,
        [SupplierInvolvement, Exploitation, PublicValueAdded],
        PublishDecision,
        27,
    ),
}

_HEADER = re.compile(r"^(?P<name>.+) v(?P<version>\d+\.\d+\.\d+)(?: \(\w+\))?$")


def _read(corpus: Path, name: str) -> tuple[list[str], list[list[str]]]:
    with (corpus / TABLES / name).open(newline="") as handle:
        header, *rows = csv.reader(handle)
    return header[1:], [row[1:] for row in rows]  # drop the row-number column


@pytest.mark.corpus
@pytest.mark.parametrize("name", CASES)
def test_every_row_of_the_published_table(corpus: Path, name: str) -> None:
    function, points, outcome_point, count = CASES[name]
    header, rows = _read(corpus, name)
    assert len(rows) == count == math.prod(len(point) for point in points)

    # the columns are the decision points (and versions) the enums document
    for column, point in zip(header, [*points, outcome_point], strict=True):
        match = _HEADER.match(column)
        assert match, column
        assert (point.__doc__ or "").startswith(f"{match['name']} {match['version']}"), column

    # every value each column uses is a value of its enum, spelled as SSVC spells it, and
    # the table covers every combination of input values exactly once
    seen = set()
    wrong = []
    for row in rows:
        *cells, expected = row
        inputs = [point.parse(cell) for point, cell in zip(points, cells, strict=True)]
        assert [value.label for value in inputs] == cells
        seen.add(tuple(inputs))
        decision = function(*inputs)
        assert isinstance(decision.outcome, outcome_point)
        assert decision.inputs == tuple(inputs)
        if decision.label != expected or decision.outcome is not outcome_point.parse(expected):
            wrong.append((row, decision.label))
    assert not wrong, wrong
    assert seen == set(itertools.product(*points))
    assert {row[-1] for row in rows} <= {value.label for value in outcome_point}


def _holds(definition: str, values: dict[str, str]) -> bool:
    """Evaluate a decision-point value definition such as ``A:X AND B:(Y OR Z)``."""
    # split on the connective outside parentheses: [clause, connective, clause, ...]
    parts = re.split(r" (AND|OR) (?![^(]*\))", definition)
    clauses, connectives = parts[::2], set(parts[1::2])
    assert len(connectives) <= 1, definition
    results = []
    for clause in clauses:
        point, _, choices = clause.partition(":")
        results.append(values[point] in choices.strip("()").split(" OR "))
    return any(results) if connectives == {"OR"} else all(results)


@pytest.mark.corpus
def test_mission_and_well_being_matches_the_decision_point_definitions(corpus: Path) -> None:
    """SSVC publishes no table for it; its value definitions cover all cells but one."""
    path = corpus / "ssvc/data/json/decision_points/ssvc/mission_and_well_being_impact_1_0_0.json"
    definitions = {v["name"]: v["definition"] for v in json.loads(path.read_text())["values"]}
    assert set(definitions) == {value.label.title() for value in MissionAndWellBeingImpact}
    uncovered = []
    for prevalence, well_being in itertools.product(MissionPrevalence, PublicWellBeingImpact):
        decision = ssvc.mission_and_well_being_impact(prevalence, well_being)
        values = {
            "Mission Prevalence": prevalence.label.title(),
            "Public Well-Being Impact": well_being.label.title(),
        }
        holding = [name for name, text in definitions.items() if _holds(text, values)]
        if holding:
            assert holding == [decision.label.title()], (prevalence, well_being)
        else:
            uncovered.append((prevalence, well_being, decision.outcome))
    # CISA's SSVC guide rates this cell medium
    assert uncovered == [
        (
            MissionPrevalence.MINIMAL,
            PublicWellBeingImpact.MATERIAL,
            MissionAndWellBeingImpact.MEDIUM,
        )
    ]


def test_parse_accepts_values_and_labels_in_any_case() -> None:
    assert Exploitation.parse("Public PoC") is Exploitation.PUBLIC_POC
    assert Exploitation.parse(" public_poc ") is Exploitation.PUBLIC_POC
    assert Priority.parse("Out-of-Cycle") is Priority.OUT_OF_CYCLE
    assert CisaLevel.parse("Track*") is CisaLevel.TRACK_STAR
    assert HumanImpact.parse("very high") is HumanImpact.VERY_HIGH
    involvement = SupplierInvolvement.parse("Uncooperative/Unresponsive")
    assert involvement is SupplierInvolvement.UNCOOPERATIVE_UNRESPONSIVE
    assert involvement.label == "uncooperative/unresponsive"


def test_parse_refuses_unknown_values_naming_the_decision_point() -> None:
    with pytest.raises(InvalidSsvcValueError) as raised:
        SystemExposure.parse("wide open")
    assert isinstance(raised.value, InputError)
    assert str(raised.value) == "System Exposure: 'wide open' is not one of small, controlled, open"


def test_rank_orders_from_least_to_most() -> None:
    assert [p.rank for p in Priority] == [0, 1, 2, 3]
    assert Priority.IMMEDIATE.rank > Priority.SCHEDULED.rank
    assert max(CisaLevel, key=lambda level: level.rank) is CisaLevel.ACT


def test_decision_reason_is_one_line_with_the_inputs() -> None:
    decision = ssvc.cisa_coordinator(
        Exploitation.ACTIVE,
        Automatable.YES,
        TechnicalImpact.TOTAL,
        MissionAndWellBeingImpact.HIGH,
    )
    assert decision.label == "act"
    assert decision.reason() == (
        "CISA Coordinator 2.0.3: act (Exploitation: active, Automatable: yes, "
        "Technical Impact: total, Mission and Well-Being Impact: high)"
    )
    deployer = ssvc.deployer_priority(
        Exploitation.PUBLIC_POC, SystemExposure.OPEN, Automatable.YES, HumanImpact.HIGH
    )
    assert deployer.outcome is Priority.OUT_OF_CYCLE
    assert deployer.reason() == (
        "SSVC Deployer Patch Application Priority 1.0.0: out-of-cycle (Exploitation: public poc, "
        "System Exposure: open, Automatable: yes, Human Impact: high)"
    )


def test_helper_tables_feed_the_trees() -> None:
    impact = ssvc.human_impact(SafetyImpact.CRITICAL, MissionImpact.MEF_FAILURE).outcome
    safety = ssvc.public_safety_impact(SafetyImpact.MARGINAL).outcome
    useful = ssvc.utility(Automatable.YES, ValueDensity.CONCENTRATED).outcome
    assert (impact, safety, useful) == (
        HumanImpact.HIGH,
        PublicSafetyImpact.SIGNIFICANT,
        Utility.SUPER_EFFECTIVE,
    )
    patch = ssvc.deployer_priority(Exploitation.ACTIVE, SystemExposure.OPEN, Automatable.NO, impact)
    assert patch.outcome is Priority.OUT_OF_CYCLE
    fix = ssvc.supplier_priority(Exploitation.NONE, useful, TechnicalImpact.TOTAL, safety)
    assert fix.outcome is Priority.OUT_OF_CYCLE


def test_point_names() -> None:
    assert point_name(MissionAndWellBeingImpact) == "Mission and Well-Being Impact"
    assert point_name(SupplierCardinality.ONE) == "Supplier Cardinality"
