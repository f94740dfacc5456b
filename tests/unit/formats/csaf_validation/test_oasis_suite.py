"""The OASIS CSAF 2.0 validator test suite and real advisories, run through our validator.

For every mandatory test id in the suite's ``testcases.json``: each ``failures`` document gets at
least one problem with exactly that id, each ``valid`` document gets none at all (the 60 valid
documents are clean, schema included). Documents of the optional and informative groups are
all marked valid (they fail only 6.2/6.3 tests), so they must pass too, bar two suite defects
listed below. The 19 official examples and 3 real Red Hat advisories are schema-valid, and
mandatory-clean bar one genuine defect in a Red Hat document.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from clearinghouse.formats.csaf_validation import (
    SCHEMA,
    check_mandatory,
    mandatory_test_ids,
    validate_csaf,
)
from tests.conftest import corpus_dir

SUITE = "csaf/csaf_2.0/test/validator/data"
EXAMPLES = "csaf/csaf_2.0/examples/csaf"
REDHAT = "osv/schema-testdata/redhat-csaf-to-osv/CSAF"

# Documents the suite marks valid that do fail a mandatory test; read and confirmed by hand.
SUITE_DEFECTS = {
    # "md5" twice in one file_hashes list: exactly 6.1.25's own failing example (spec example
    # 73, with sha256). The document exists to show md5 as the only algorithm (6.2.8).
    "optional/oasis_csaf_tc-csaf_2_0-2021-6-2-08-02.json": {"6.1.25"},
    # The same with "sha1" twice, written for 6.2.9.
    "optional/oasis_csaf_tc-csaf_2_0-2021-6-2-09-02.json": {"6.1.25"},
}
# Real advisories with genuine defects; read and confirmed by hand.
EXAMPLE_DEFECTS = {
    # Revision 2 is dated 2003-11-12T00:00:00+00:00, before revision 1 (14:16 the same day):
    # sorted by date the numbers go 2, 1, 3 (6.1.14) and the history starts at 2 (6.1.21).
    f"{REDHAT}/rhsa-2003_315.json": {"6.1.14", "6.1.21"},
}


def _load(path: Path) -> Any:
    return orjson.loads(path.read_bytes())


def _suite_tests() -> list[dict[str, Any]]:
    root = corpus_dir()
    if root is None or not (root / SUITE / "testcases.json").is_file():
        return []
    tests: list[dict[str, Any]] = _load(root / SUITE / "testcases.json")["tests"]
    return tests


def _short(name: str) -> str:
    """``mandatory/oasis_csaf_tc-csaf_2_0-2021-6-1-08-01.json`` -> ``6-1-08-01``."""
    return Path(name).stem.removeprefix("oasis_csaf_tc-csaf_2_0-2021-")


def _absent(arity: int = 2) -> list[Any]:
    # One case that the corpus fixture then skips, naming why.
    return [pytest.param(*[None] * arity, id="corpus-absent")]


def _mandatory_cases(kind: str) -> list[Any]:
    cases = [
        pytest.param(test["id"], entry["name"], id=f"{test['id']}:{_short(entry['name'])}")
        for test in _suite_tests()
        if test["group"] == "mandatory"
        for entry in test.get(kind, ())
    ]
    return cases or _absent()


def _other_group_cases() -> list[Any]:
    cases = [
        pytest.param(test["id"], entry["name"], id=f"{test['id']}:{_short(entry['name'])}")
        for test in _suite_tests()
        if test["group"] != "mandatory"
        for kind in ("failures", "valid")
        for entry in test.get(kind, ())
        if entry.get("valid") is True
    ]
    return cases or _absent()


def _example_cases() -> list[Any]:
    root = corpus_dir()
    if root is None or not (root / EXAMPLES).is_dir():
        return _absent(1)
    files = sorted((root / EXAMPLES).rglob("*.json")) + sorted((root / REDHAT).glob("*.json"))
    return [pytest.param(str(f.relative_to(root)), id=f.name) for f in files]


@pytest.mark.corpus
@pytest.mark.parametrize(("test_id", "name"), _mandatory_cases("failures"))
def test_failing_document_fails_its_test(corpus: Path, test_id: str, name: str) -> None:
    problems = check_mandatory(_load(corpus / SUITE / name))
    assert any(problem.test_id == test_id for problem in problems), problems


@pytest.mark.corpus
@pytest.mark.parametrize(("test_id", "name"), _mandatory_cases("valid"))
def test_valid_document_passes_its_test(corpus: Path, test_id: str, name: str) -> None:
    problems = check_mandatory(_load(corpus / SUITE / name))
    assert [problem for problem in problems if problem.test_id == test_id] == []


@pytest.mark.corpus
@pytest.mark.parametrize(("test_id", "name"), _mandatory_cases("valid"))
def test_valid_document_has_no_problem_at_all(corpus: Path, test_id: str, name: str) -> None:
    assert validate_csaf(_load(corpus / SUITE / name)) == []


@pytest.mark.corpus
@pytest.mark.parametrize(("test_id", "name"), _other_group_cases())
def test_documents_of_other_groups_pass_every_mandatory_test(
    corpus: Path, test_id: str, name: str
) -> None:
    found = {problem.test_id for problem in validate_csaf(_load(corpus / SUITE / name))}
    assert found == SUITE_DEFECTS.get(name, set())


@pytest.mark.corpus
def test_every_mandatory_test_of_the_suite_is_implemented(corpus: Path) -> None:
    tests = _load(corpus / SUITE / "testcases.json")["tests"]
    suite_ids = [test["id"] for test in tests if test["group"] == "mandatory"]
    assert len(suite_ids) == 43
    assert sorted(mandatory_test_ids()) == sorted(suite_ids)
    documents = sum(
        len(test.get("failures", ())) + len(test.get("valid", ()))
        for test in tests
        if test["group"] == "mandatory"
    )
    assert documents == 147


@pytest.mark.corpus
@pytest.mark.parametrize("name", _example_cases())
def test_real_advisory_is_schema_valid_and_passes_mandatory_tests(corpus: Path, name: str) -> None:
    problems = validate_csaf(_load(corpus / name))
    assert [p for p in problems if p.test_id == SCHEMA] == []
    assert {p.test_id for p in problems} == EXAMPLE_DEFECTS.get(name, set()), problems


@pytest.mark.corpus
def test_examples_are_all_there(corpus: Path) -> None:
    # 6 advisories + 13 VEX documents (ROLIE, provider and aggregator files are not CSAF
    # documents and live elsewhere) + 3 Red Hat advisories.
    assert len(_example_cases()) == 22


def _resolve(document: Any, pointer: str) -> bool:
    node = document
    for raw in pointer.split("/")[1:]:
        part = raw.replace("~1", "/").replace("~0", "~")
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return False
    return True


def _all_suite_documents(root: Path) -> Iterator[Path]:
    yield from sorted((root / SUITE).rglob("oasis_csaf_tc-*.json"))


@pytest.mark.corpus
def test_pointers_locate_the_problem(corpus: Path) -> None:
    """Every pointer resolves in the document, or names a missing member of an existing object
    (a required ``/product_tree``, ``/document/source_lang`` ...)."""
    checked = 0
    for path in _all_suite_documents(corpus):
        document = _load(path)
        for problem in validate_csaf(document):
            parent = problem.pointer.rpartition("/")[0]
            assert _resolve(document, problem.pointer) or _resolve(document, parent), (
                path.name,
                problem,
            )
            checked += 1
    assert checked > 100
