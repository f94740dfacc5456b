"""The OSV reader: our schema's verdicts, field extraction, refusals and limits."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import jsonschema_rs
import orjson
import pytest

from clearinghouse.core.errors import SchemaError
from clearinghouse.formats.decode import decode
from clearinghouse.formats.limits import ReadLimits
from clearinghouse.formats.osv import READER, normalize_alias
from clearinghouse.formats.reader import Reader
from clearinghouse.formats.records import AffectedPackage, Severity

_READER: Reader = READER  # mypy checks the protocol here

PYPA_INVALID = {
    "PYSEC-2017-27",
    "PYSEC-2019-155",
    "PYSEC-2021-371",
    "PYSEC-2021-424",
    "PYSEC-2021-425",
    "PYSEC-2021-436",
    "PYSEC-2023-80",
}


def _record(**fields: Any) -> dict[str, Any]:
    record: dict[str, Any] = {
        "schema_version": "1.6.0",
        "id": "GHSA-abcd-efgh-2345",
        "modified": "2024-01-02T03:04:05Z",
        "summary": "Path traversal in example",
        "details": "Details line one.\nMore.",
        "aliases": ["cve-2024-0001"],
        "affected": [
            {
                "package": {"ecosystem": "PyPI", "name": "example", "purl": "pkg:pypi/example"},
                "ranges": [
                    {"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "1.2.3"}]}
                ],
                "versions": ["1.0", "1.2.2"],
            }
        ],
    }
    record.update(fields)
    return record


def _read_one(doc: Any, limits: ReadLimits | None = None) -> Any:
    READER.validate(doc)
    records = list(READER.read(doc, limits=limits or ReadLimits()))
    assert len(records) == 1
    return records[0]


# ---- sniffing and document shapes ---------------------------------------------------------


def test_sniff_accepts_record_list_and_vulns_page() -> None:
    record = _record()
    assert READER.sniff(record)
    assert READER.sniff([record])
    assert READER.sniff({"vulns": [record]})
    assert READER.sniff({"vulns": []})


@pytest.mark.parametrize(
    "doc",
    [
        {"id": "x"},  # an id alone is not enough
        {"document": {"csaf_version": "2.0"}},
        {"dataType": "CVE_RECORD"},
        {"format": "clearinghouse-findings"},
        [],
        "text",
        {"vulns": [{"name": "x"}]},
    ],
)
def test_sniff_refuses_other_documents(doc: Any) -> None:
    assert not READER.sniff(doc)


def test_pointers_for_each_shape() -> None:
    one, two = _record(), _record(id="PYSEC-2024-1")
    assert [r.pointer for r in READER.read(one)] == [""]
    assert [r.pointer for r in READER.read([one, two])] == ["/0", "/1"]
    assert [r.pointer for r in READER.read({"vulns": [one, two]})] == ["/vulns/0", "/vulns/1"]
    summary = READER.summarize([one, two])
    assert summary.finding_count == 2
    assert summary.producer is None  # two databases
    assert READER.summarize(one).producer == "osv:GHSA"


# ---- field extraction -----------------------------------------------------------------------


def test_fields_of_a_hand_written_record() -> None:
    record = _record(
        database_specific={"severity": "MODERATE", "cwe_ids": ["CWE-22", "NVD-CWE-noinfo"]},
        withdrawn="2024-02-01T00:00:00Z",
        related=["CVE-2099-0001"],
    )
    found = _read_one(record)
    assert found.format == "osv"
    assert found.producer == "osv:GHSA"
    assert found.title == "Path traversal in example"
    assert found.description == "Details line one.\nMore."
    assert found.aliases == ("CVE-2024-0001", "GHSA-abcd-efgh-2345")  # not "related"
    assert found.cwes == (22,)
    assert found.severity is Severity.MEDIUM
    assert found.target == "pkg:pypi/example"
    assert found.extra["withdrawn"] == "2024-02-01T00:00:00Z"
    (package,) = found.affected
    assert package.ecosystem == "PyPI"
    assert package.name == "example"
    assert package.versions == ("1.0", "1.2.2")
    assert package.ranges_json is not None
    assert orjson.loads(package.ranges_json) == record["affected"][0]["ranges"]


def test_title_falls_back_to_first_details_line_then_id() -> None:
    assert _read_one(_record(summary="", details="\n  First line\nsecond")).title == "First line"
    bare = {"id": "GO-2024-0001", "modified": "2024-01-01T00:00:00Z"}
    found = _read_one(bare)
    assert found.title == "GO-2024-0001"
    assert found.producer == "osv:GO"
    assert found.target is None
    assert found.affected == ()


def test_target_without_purl_is_ecosystem_and_name() -> None:
    record = _record(affected=[{"package": {"ecosystem": "Go", "name": "example.com/mod"}}])
    assert _read_one(record).target == "Go:example.com/mod"


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("cve-2021-44228", "CVE-2021-44228"),
        (" GHSA-ABCD-EFGH-2345 ", "GHSA-abcd-efgh-2345"),
        ("PYSEC-2021-76", "PYSEC-2021-76"),
        ("openSUSE-SU-2024:0001-1", "openSUSE-SU-2024:0001-1"),
    ],
)
def test_normalize_alias(given: str, expected: str) -> None:
    assert normalize_alias(given) == expected


def test_yaml_record_keeps_timestamps_as_strings() -> None:
    doc = decode(
        b"id: PYSEC-2099-1\nmodified: 2021-03-26T20:01:00Z\ndetails: Something bad.\n"
        b"affected:\n- package: {name: demo, ecosystem: PyPI}\n  versions: ['0.1']\n"
    )
    found = _read_one(doc)
    assert found.title == "Something bad."
    assert found.extra["modified"] == "2021-03-26T20:01:00Z"


# ---- refusals ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("doc", "pointer"),
    [
        (_record(id="NOPE-1"), "/id"),
        (_record(modified="2024-01-02 03:04:05"), "/modified"),
        (_record(unknown_field=1), ""),
        (
            _record(affected=[{"package": {"ecosystem": "NotAnEcosystem", "name": "x"}}]),
            "/affected/0/package/ecosystem",
        ),
        (
            _record(
                affected=[
                    {
                        "package": {"ecosystem": "PyPI", "name": "x"},
                        "ranges": [
                            {"type": "GIT", "repo": "r", "events": [{"introduced": "abc1234"}]}
                        ],
                    }
                ]
            ),
            "/affected/0/ranges/0/events/0",
        ),
        ([_record(), _record(id="bad")], "/1/id"),
        ({"vulns": [_record(modified=3)]}, "/vulns/0/modified"),
    ],
)
def test_refusals_name_the_pointer(doc: Any, pointer: str) -> None:
    with pytest.raises(SchemaError) as caught:
        READER.validate(doc)
    assert caught.value.pointer == pointer


def test_fixed_and_last_affected_together_are_refused() -> None:
    events = [{"introduced": "0"}, {"fixed": "2"}, {"last_affected": "1"}]
    record = _record(
        affected=[
            {
                "package": {"ecosystem": "PyPI", "name": "x"},
                "ranges": [{"type": "ECOSYSTEM", "events": events}],
            }
        ]
    )
    with pytest.raises(SchemaError) as caught:
        READER.validate(record)
    assert caught.value.pointer.startswith("/affected/0/ranges/0")


def test_non_container_is_refused() -> None:
    with pytest.raises(SchemaError):
        READER.validate("a string")


# ---- hostile input ---------------------------------------------------------------------------


def test_over_long_details_are_refused_with_pointer() -> None:
    limits = ReadLimits(max_string_chars=100)
    with pytest.raises(SchemaError) as caught:
        list(READER.read([_record(), _record(details="A" * 101)], limits=limits))
    assert caught.value.pointer == "/1/details"


def test_over_long_version_is_refused_with_pointer() -> None:
    record = _record()
    record["affected"][0]["versions"] = ["1", "9" * 50]
    del record["affected"][0]["ranges"]  # its JSON would be the first over-long field
    with pytest.raises(SchemaError) as caught:
        list(READER.read(record, limits=ReadLimits(max_string_chars=30)))
    assert caught.value.pointer == "/affected/0/versions/1"


def test_over_long_summary_is_cut_to_the_title_limit() -> None:
    found = _read_one(_record(summary="S" * 5000), ReadLimits(max_title_chars=64))
    assert len(found.title) == 64
    assert found.title.endswith("…")


def test_too_many_records_are_refused() -> None:
    with pytest.raises(SchemaError):
        READER.read([_record()] * 3, limits=ReadLimits(max_findings=2))


# ---- the corpus ------------------------------------------------------------------------------


def _corpus_records(corpus: Path) -> list[tuple[Path, Any]]:
    root = corpus / "osv"
    files = sorted(
        [
            *(root / "golang-vulndb").rglob("*.json"),
            *(root / "rustsec-advisory-db-osv").rglob("*.json"),
            *(root / "pypa-advisory-database").rglob("*.yaml"),
            *(root / "schema-testdata").rglob("*.json"),
        ]
    )
    return [(path, decode(path.read_bytes(), what=path.name)) for path in files]


@pytest.mark.corpus
def test_corpus_verdicts_equal_the_official_schema(corpus: Path) -> None:
    official = jsonschema_rs.validator_for(
        orjson.loads((corpus / "osv/schema/schema.json").read_bytes()), validate_formats=False
    )
    started = time.perf_counter()
    docs = _corpus_records(corpus)
    invalid: dict[str, set[str]] = {}
    valid: dict[str, int] = {}
    disagreements = []
    for path, doc in docs:
        if not READER.sniff(doc):
            continue  # GHSA inputs of the ghsa-to-osv pairs, Red Hat CSAF
        group = path.relative_to(corpus / "osv").parts[0]
        try:
            READER.validate(doc)
            ours = True
        except SchemaError:
            ours = False
        if ours != official.is_valid(doc):
            disagreements.append(path.name)
        if ours:
            assert len(list(READER.read(doc))) == 1
            valid[group] = valid.get(group, 0) + 1
        else:
            invalid.setdefault(group, set()).add(path.stem)
    elapsed = time.perf_counter() - started
    assert disagreements == []
    assert valid["golang-vulndb"] == 4291
    assert valid["rustsec-advisory-db-osv"] == 1206
    assert valid["pypa-advisory-database"] == 2654
    assert invalid["pypa-advisory-database"] == PYPA_INVALID
    assert invalid.get("golang-vulndb") is None
    assert invalid.get("rustsec-advisory-db-osv") is None
    assert invalid["schema-testdata"] == {"nointroduced-CVE-2023-41045"}
    print(f"whole OSV corpus decoded, validated and read in {elapsed:.2f}s")


@pytest.mark.corpus
def test_invalid_pypa_records_point_at_the_git_event(corpus: Path) -> None:
    path = corpus / "osv/pypa-advisory-database/vulns"
    (file,) = path.rglob("PYSEC-2021-424.yaml")
    with pytest.raises(SchemaError) as caught:
        READER.validate(decode(file.read_bytes()))
    assert caught.value.pointer == "/affected/0/ranges/0/events/1"
    assert "cb35df940a" in caught.value.expected


@pytest.mark.corpus
def test_pypa_aiohttp_record(corpus: Path) -> None:
    file = corpus / "osv/pypa-advisory-database/vulns/aiohttp/PYSEC-2021-76.yaml"
    found = _read_one(decode(file.read_bytes()))
    assert found.producer == "osv:PYSEC"
    assert found.aliases == ("CVE-2021-21330", "GHSA-v6wp-4m6f-gcjg", "PYSEC-2021-76")
    assert found.title.startswith("aiohttp is an asynchronous HTTP client/server framework")
    assert found.target == "pkg:pypi/aiohttp"
    (package,) = found.affected
    assert package == AffectedPackage(
        ecosystem="PyPI",
        name="aiohttp",
        purl="pkg:pypi/aiohttp",
        ranges_json=package.ranges_json,
        versions=package.versions,
    )
    assert "3.7.3" in package.versions
    assert "3.7.4" not in package.versions
    assert package.ranges_json is not None
    ranges = orjson.loads(package.ranges_json)
    assert ranges[0]["type"] == "GIT"
    assert ranges[0]["events"][1]["fixed"] == "2545222a3853e31ace15d87ae0e2effb7da0c96b"
    assert ranges[1]["events"] == [{"introduced": "0"}, {"fixed": "3.7.4"}]


@pytest.mark.corpus
def test_ghsa_to_osv_pairs_agree_with_their_ghsa_source(corpus: Path) -> None:
    folder = corpus / "osv/schema-testdata/ghsa-to-osv"
    pairs = sorted(folder.glob("*.osv.json"))
    assert len(pairs) == 11
    for osv_file in pairs:
        ghsa = orjson.loads(osv_file.with_name(osv_file.name.replace(".osv", "")).read_bytes())
        found = _read_one(orjson.loads(osv_file.read_bytes()))
        assert found.producer == "osv:GHSA"
        assert found.title == ghsa["summary"]
        expected_aliases = {normalize_alias(i["value"]) for i in ghsa["identifiers"]}
        assert set(found.aliases) == expected_aliases | {ghsa["ghsaId"]}
        expected_cwes = {int(n["cweId"].removeprefix("CWE-")) for n in ghsa["cwes"]["nodes"]}
        assert set(found.cwes) == expected_cwes, osv_file.name
        assert bool(found.extra.get("withdrawn")) == bool(ghsa["withdrawnAt"])


@pytest.mark.corpus
def test_ghsa_withdrawn_record(corpus: Path) -> None:
    file = corpus / "osv/schema-testdata/ghsa-to-osv/withdrawn.osv.json"
    found = _read_one(orjson.loads(file.read_bytes()))
    assert found.aliases == ("CVE-2015-3227", "GHSA-35c4-f3rq-f9g3")
    assert found.extra["withdrawn"] == "2018-10-11T17:29:49Z"
    assert found.target == "RubyGems:activesupport"
    assert found.description.startswith("Withdrawn, accidental duplicate publish.")


@pytest.mark.corpus
def test_go_record(corpus: Path) -> None:
    file = corpus / "osv/golang-vulndb/data/osv/GO-2020-0001.json"
    record = orjson.loads(file.read_bytes())
    found = _read_one(record)
    assert found.producer == "osv:GO"
    assert found.title == record["summary"]
    assert "GO-2020-0001" in found.aliases
    assert found.affected[0].name == record["affected"][0]["package"]["name"]
    assert found.target == f"Go:{record['affected'][0]['package']['name']}"
