"""Behaviour of the CSAF 2.0 mandatory tests that the OASIS suite does not pin down: time zones
and fractional seconds in revision dates, language tags, CVSS arithmetic, relationship chains,
pointers, and robustness against documents of any shape."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clearinghouse.formats.csaf_validation import (
    MANDATORY_TESTS,
    SCHEMA,
    CsafProblem,
    check_mandatory,
    mandatory_test_ids,
    validate_csaf,
)
from clearinghouse.formats.csaf_validation.language import language_tag_problem
from clearinghouse.formats.csaf_validation.mandatory import MAX_SCHEMA_PROBLEMS


def _doc(**document: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "document": {
            "category": "csaf_base",
            "csaf_version": "2.0",
            "publisher": {"category": "other", "name": "Example", "namespace": "https://e.test"},
            "title": "Unit test document",
            "tracking": {
                "current_release_date": "2024-01-02T10:00:00Z",
                "id": "UNIT-1",
                "initial_release_date": "2024-01-01T10:00:00Z",
                "revision_history": [
                    {"date": "2024-01-01T10:00:00Z", "number": "1", "summary": "First."},
                    {"date": "2024-01-02T10:00:00Z", "number": "2", "summary": "Second."},
                ],
                "status": "final",
                "version": "2",
            },
        },
        "product_tree": {
            "full_product_names": [
                {"product_id": "A", "name": "Product A"},
                {"product_id": "B", "name": "Product B"},
            ],
            "product_groups": [{"group_id": "G", "product_ids": ["A", "B"]}],
        },
        "vulnerabilities": [
            {"cve": "CVE-2024-0001", "product_status": {"known_affected": ["A"], "fixed": ["B"]}}
        ],
    }
    base["document"].update(document)
    return base


def _ids(doc: dict[str, Any]) -> list[str]:
    return [problem.test_id for problem in check_mandatory(doc)]


def test_a_clean_document_has_no_problem() -> None:
    assert validate_csaf(_doc()) == []


def test_ids_are_the_43_of_section_6_1_in_order() -> None:
    ids = mandatory_test_ids()
    assert len(ids) == len(set(ids)) == 43
    assert ids[0] == "6.1.1"
    assert ids[-1] == "6.1.33"
    assert [f"6.1.27.{n}" for n in range(1, 12)] == [i for i in ids if i.startswith("6.1.27.")]
    assert ids == tuple(test_id for test_id, _ in MANDATORY_TESTS)


def _history(*revisions: tuple[str, str]) -> dict[str, Any]:
    doc = _doc()
    doc["document"]["tracking"]["revision_history"] = [
        {"date": date, "number": number, "summary": "x"} for date, number in revisions
    ]
    doc["document"]["tracking"]["version"] = revisions[-1][1]
    return doc


def test_revision_dates_compare_as_instants_not_strings() -> None:
    # 11:00+02:00 is 09:00Z, before the 10:00Z revision: as strings they would sort the other way.
    doc = _history(("2024-01-01T10:00:00Z", "1"), ("2024-01-01T11:00:00+02:00", "2"))
    assert {"6.1.14", "6.1.16", "6.1.21"} <= set(_ids(doc))
    assert _ids(_history(("2024-01-01T08:00:00Z", "1"), ("2024-01-01T11:00:00+02:00", "2"))) == []


def test_fractional_seconds_of_any_length_are_compared() -> None:
    later_first = _history(("2024-01-01T10:00:00.00010Z", "1"), ("2024-01-01T10:00:00.000Z", "2"))
    assert "6.1.14" in _ids(later_first)
    # Same instant: the ties are ordered by number, so the history is sorted.
    tie = _history(("2024-01-01T10:00:00.000Z", "2"), ("2024-01-01T10:00:00Z", "1"))
    tie["document"]["tracking"]["version"] = "2"
    assert _ids(tie) == []


def test_draft_ignores_prerelease_and_build_metadata_is_always_ignored() -> None:
    doc = _history(("2024-01-01T10:00:00Z", "1.0.0"), ("2024-01-02T10:00:00Z", "2.0.0"))
    doc["document"]["tracking"].update(status="draft", version="2.0.0-rc.1+build.7")
    assert _ids(doc) == []
    doc["document"]["tracking"]["status"] = "final"
    assert sorted(set(_ids(doc))) == ["6.1.16", "6.1.17", "6.1.20"]


def test_semantic_version_precedence_orders_prerelease_identifiers() -> None:
    ordered = ("0.1.0-alpha", "0.1.0-alpha.1", "0.1.0-alpha.beta", "0.1.0-beta.2", "0.1.0-beta.11")
    doc = _history(*[(f"2024-01-0{n + 1}T10:00:00Z", v) for n, v in enumerate(ordered)])
    doc["document"]["tracking"]["status"] = "draft"
    assert "6.1.14" not in _ids(doc)
    swapped = _history(
        *[(f"2024-01-0{n + 1}T10:00:00Z", v) for n, v in enumerate(reversed(ordered))]
    )
    assert "6.1.14" in _ids(swapped)


def test_missing_major_version_is_named() -> None:
    doc = _history(("2024-01-01T10:00:00Z", "1"), ("2024-01-02T10:00:00Z", "3"))
    problems = [p for p in check_mandatory(doc) if p.test_id == "6.1.21"]
    assert problems == [
        CsafProblem(
            "6.1.21",
            "/document/tracking/revision_history",
            "Version 2 is missing from the revision history (the next revision after 1 is 3).",
        )
    ]


@pytest.mark.parametrize(
    "tag",
    [
        "en",
        "en-US",
        "de-CH-1901",
        "zh-Hant-TW",
        "es-419",
        "ar-aao",
        "qtx",
        "en-GB-oed",
        "x-klingon",
        "i-default",
        "en-a-bbb-x-ccc",
        "sr-Latn-RS",
        "tlh",
        "en-QM",
    ],
)
def test_registered_language_tags_are_valid(tag: str) -> None:
    assert language_tag_problem(tag) is None


@pytest.mark.parametrize(
    "tag",
    [
        "EZ",
        "en-YY",
        "xx",
        "en-US-US",
        "de-1901-1901",
        "en-aao",
        "abcd",
        "en-Qabz",
        "en--US",
        "",
        "en-a",
        "en-a-bb-a-cc",
        "x",
        "1a",
    ],
)
def test_unregistered_or_malformed_language_tags_are_invalid(tag: str) -> None:
    assert language_tag_problem(tag) is not None


def test_language_problem_points_at_the_field() -> None:
    assert [(p.test_id, p.pointer) for p in check_mandatory(_doc(lang="en", source_lang="EZ"))] == [
        ("6.1.12", "/document/source_lang")
    ]
    assert _ids(_doc(lang="en-US", source_lang="en-us")) == ["6.1.28"]


@pytest.mark.parametrize(
    ("name", "is_range"),
    [
        ("prior to 4.2", True),
        ("<4.2", True),
        ("4.1 and EARLIER", True),
        ("3.X versions", True),
        ("after-eight", False),
        ("4.2", False),
        ("allegro 1", False),
        ("v>=2", True),
    ],
)
def test_version_ranges_are_words_or_operators(name: str, is_range: bool) -> None:
    doc = _doc()
    doc["product_tree"]["branches"] = [
        {"category": "product_version", "name": name, "product": {"product_id": "C", "name": "C"}}
    ]
    assert ("6.1.31" in _ids(doc)) is is_range


def _score(**cvss: Any) -> dict[str, Any]:
    doc = _doc()
    doc["vulnerabilities"][0]["scores"] = [{"products": ["A"], **cvss}]
    return doc


def test_cvss_v2_temporal_score_without_temporal_metrics_is_the_base_score() -> None:
    v2 = {"version": "2.0", "vectorString": "AV:N/AC:L/Au:N/C:C/I:C/A:C", "baseScore": 10.0}
    assert _ids(_score(cvss_v2={**v2, "temporalScore": 10.0, "environmentalScore": 10.0})) == []
    problems = check_mandatory(_score(cvss_v2={**v2, "temporalScore": 8.0}))
    assert [(p.test_id, p.pointer) for p in problems] == [
        ("6.1.9", "/vulnerabilities/0/scores/0/cvss_v2/temporalScore")
    ]


def test_cvss_v3_environmental_score_and_severity_are_recomputed() -> None:
    vector = "CVSS:3.1/AV:P/AC:H/PR:L/UI:R/S:C/C:L/I:N/A:N/CR:H/MAV:N/MS:U/MC:H"
    v3 = {"version": "3.1", "vectorString": vector, "baseScore": 1.9, "baseSeverity": "LOW"}
    good = {**v3, "environmentalScore": 6.6, "environmentalSeverity": "MEDIUM"}
    assert _ids(_score(cvss_v3=good)) == []
    bad = {**v3, "environmentalScore": 1.9, "environmentalSeverity": "LOW"}
    assert _ids(_score(cvss_v3=bad)) == ["6.1.9", "6.1.9"]


def test_cvss_properties_are_compared_with_the_metrics_the_vector_writes() -> None:
    vector = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/E:P"
    v3 = {"version": "3.1", "vectorString": vector, "baseScore": 9.8, "baseSeverity": "CRITICAL"}
    consistent = {**v3, "attackVector": "NETWORK", "exploitCodeMaturity": "PROOF_OF_CONCEPT"}
    # The vector says nothing about MAV: the OASIS suite counts such documents as valid.
    assert _ids(_score(cvss_v3={**consistent, "modifiedAttackVector": "LOCAL"})) == []
    problems = check_mandatory(_score(cvss_v3={**v3, "scope": "CHANGED"}))
    assert [(p.test_id, p.pointer) for p in problems] == [
        ("6.1.10", "/vulnerabilities/0/scores/0/cvss_v3/scope")
    ]


def test_cvss_3_0_and_3_1_scores_are_different_versions() -> None:
    doc = _doc()
    v30 = "CVSS:3.0/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"
    v31 = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"
    common = {"baseScore": 9.8, "baseSeverity": "CRITICAL"}
    doc["vulnerabilities"][0]["scores"] = [
        {"products": ["A"], "cvss_v3": {"version": "3.0", "vectorString": v30, **common}},
        {"products": ["A"], "cvss_v3": {"version": "3.1", "vectorString": v31, **common}},
    ]
    assert _ids(doc) == []
    doc["vulnerabilities"][0]["scores"][1]["cvss_v3"].update(version="3.0", vectorString=v30)
    assert _ids(doc) == ["6.1.7"]


def test_cwe_name_must_be_the_catalogue_name() -> None:
    doc = _doc()
    doc["vulnerabilities"][0]["cwe"] = {"id": "CWE-79", "name": "Improper Input Validation"}
    (problem,) = check_mandatory(doc)
    assert problem.pointer == "/vulnerabilities/0/cwe/name"
    assert "Cross-site Scripting" in problem.message
    # A category is not a weakness.
    doc["vulnerabilities"][0]["cwe"] = {"id": "CWE-16", "name": "Configuration"}
    assert _ids(doc) == ["6.1.11"]


def test_a_relationship_leading_into_a_circle_is_circular_too() -> None:
    doc = _doc()
    doc["product_tree"]["relationships"] = [
        {
            "category": "installed_on",
            "full_product_name": {"product_id": product, "name": product},
            "product_reference": reference,
            "relates_to_product_reference": "A",
        }
        for product, reference in (("R1", "R2"), ("R2", "R1"), ("R3", "R1"), ("R4", "B"))
    ]
    circular = [p.pointer for p in check_mandatory(doc) if p.test_id == "6.1.3"]
    assert circular == [
        f"/product_tree/relationships/{n}/full_product_name/product_id" for n in (0, 1, 2)
    ]


def test_vex_flags_count_products_reached_through_groups() -> None:
    doc = _doc(category="csaf_vex")
    vulnerability = doc["vulnerabilities"][0]
    vulnerability.update(
        notes=[{"category": "description", "text": "x"}],
        product_status={"known_not_affected": ["A", "B"]},
        flags=[
            {"label": "component_not_present", "group_ids": ["G"]},
            {"label": "vulnerable_code_not_present", "product_ids": ["B"]},
        ],
    )
    assert [(p.test_id, p.message) for p in check_mandatory(doc)] == [
        (
            "6.1.33",
            "Product 'B' already has a VEX justification flag at /vulnerabilities/0/flags/0.",
        )
    ]


@pytest.mark.parametrize(
    ("category", "prohibited"),
    [
        ("Security\u2013Advisory", True),
        ("v\uff3fex", True),
        ("Csaf_a", True),
        ("csaf_BASE", True),
        ("csaf base", False),
        ("Vendor advisory", False),
        ("csaf_vex", False),
    ],
)
def test_category_may_not_pose_as_another_profile(category: str, prohibited: bool) -> None:
    assert ("6.1.26" in _ids(_doc(category=category))) is prohibited


def test_deeply_nested_branches_do_not_recurse() -> None:
    doc = _doc()
    leaf: dict[str, Any] = {
        "category": "product_version",
        "name": "prior to 2",
        "product": {"product_id": "DEEP", "name": "Deep"},
    }
    for _ in range(5000):
        leaf = {"category": "product_family", "name": "level", "branches": [leaf]}
    doc["product_tree"]["branches"] = [leaf]
    assert _ids(doc) == ["6.1.31"]


def test_schema_problems_are_listed_with_pointers_and_capped() -> None:
    doc = _doc()
    del doc["document"]["title"]
    doc["vulnerabilities"][0]["cve"] = "CVE-1"
    problems = validate_csaf(doc)
    assert {(p.test_id, p.pointer) for p in problems} == {
        (SCHEMA, "/document"),
        (SCHEMA, "/vulnerabilities/0/cve"),
    }
    flood = _doc()
    flood["vulnerabilities"] = [{"cve": "nope"} for _ in range(3 * MAX_SCHEMA_PROBLEMS)]
    assert len([p for p in validate_csaf(flood) if p.test_id == SCHEMA]) == MAX_SCHEMA_PROBLEMS


def test_numbers_beyond_float_and_int_parsing_limits_are_findings_not_crashes() -> None:
    doc = _score(
        cvss_v2={
            "version": "2.0",
            "vectorString": "AV:N/AC:L/Au:N/C:C/I:C/A:C",
            "baseScore": 10**400,
        }
    )
    history = doc["document"]["tracking"]["revision_history"]
    history[0]["number"] = "1.0.0-" + "9" * 5000  # a numeric pre-release identifier
    doc["document"]["tracking"]["version"] = "9" * 5000  # beyond int("...")'s digit limit
    found = {p.test_id for p in validate_csaf(doc)}
    assert {SCHEMA, "6.1.8", "6.1.9", "6.1.19", "6.1.30"} <= found


def test_a_document_that_is_not_an_object_is_only_a_schema_problem() -> None:
    wrong: Any = ["not", "a", "document"]
    assert check_mandatory(wrong) == []
    assert [p.test_id for p in validate_csaf(wrong)] == [SCHEMA]


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)
_RICH = _doc()
_RICH["vulnerabilities"][0].update(
    scores=[
        {
            "products": ["A"],
            "cvss_v2": {
                "version": "2.0",
                "vectorString": "AV:N/AC:L/Au:N/C:C/I:C/A:C",
                "baseScore": 10.0,
            },
        }
    ],
    flags=[{"label": "component_not_present", "group_ids": ["G"]}],
    involvements=[{"party": "vendor", "status": "completed", "date": "2024-01-01T00:00:00Z"}],
    cwe={"id": "CWE-79", "name": "x"},
)
_RICH["product_tree"]["branches"] = [{"category": "vendor", "name": "V", "branches": []}]
_RICH["product_tree"]["relationships"] = [
    {
        "category": "installed_on",
        "full_product_name": {"product_id": "R", "name": "R"},
        "product_reference": "A",
        "relates_to_product_reference": "B",
    }
]


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix]
    if isinstance(node, dict):
        for key, value in node.items():
            found += _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found += _paths(value, (*prefix, index))
    return found


_PLACES = _paths(_RICH)[1:]


def _replace(doc: Any, path: tuple[Any, ...], value: Any) -> None:
    """Put ``value`` at ``path`` unless an earlier replacement removed the way there."""
    node = doc
    for part in path[:-1]:
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            return
    if isinstance(node, dict) and not isinstance(path[-1], str):
        return  # decoded JSON has string keys only
    try:
        node[path[-1]] = value
    except (IndexError, TypeError):
        return


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(_PLACES), _JSON), min_size=1, max_size=4))
def test_any_value_anywhere_never_makes_a_test_raise(replacements: list[tuple[Any, Any]]) -> None:
    doc = copy.deepcopy(_RICH)
    for path, value in replacements:
        _replace(doc, path, value)
    problems = validate_csaf(doc)
    assert all(
        isinstance(p, CsafProblem) and p.pointer.startswith("/") for p in problems if p.pointer
    )
    assert {p.test_id for p in problems} <= {SCHEMA, *mandatory_test_ids()}


@settings(max_examples=200, deadline=None)
@given(_JSON)
def test_arbitrary_json_never_makes_a_test_raise(value: Any) -> None:
    for doc in (value, {"document": value}, {"product_tree": value}, {"vulnerabilities": value}):
        if isinstance(doc, dict):
            assert isinstance(check_mandatory(doc), list)
