"""The SARIF reader against real logs from ~30 producers (corpus) and small hand-made logs.

Corpus tests check the contract on every log PROVENANCE.md lists (one record per result, or a
``SchemaError`` with a pointer for the five invalid ones) and pin down what specific producers
are known to put where. The synthetic tests cover the spec corners the corpus does not reach.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import orjson
import pytest

from clearinghouse.core.errors import SchemaError, TooLargeError
from clearinghouse.formats.decode import decode
from clearinghouse.formats.limits import DEFAULT_LIMITS, ReadLimits
from clearinghouse.formats.reader import Reader
from clearinghouse.formats.records import FindingRecord, Location, Severity
from clearinghouse.formats.sarif import READER

SDK = "sarif-sdk/src/Test.FunctionalTests.Sarif/v2/ConverterTestData"
SDK_UNIT = "sarif-sdk/src/Test.UnitTests.Sarif.Converters/TestData"

VALID_LOGS = (
    "codeql-action/fingerprinting.expected.sarif",
    "codeql-action/fingerprinting.input.sarif",
    "codeql-action/valid-sarif.sarif",
    "codeql-action/with-invalid-uri.sarif",
    "defectdojo/cppcheck/cppcheck_many_vuln.sarif",
    "defectdojo/devskim/devskim_many_vuln.sarif",
    "defectdojo/flawfinder/flawfinder_many_vuln.sarif",
    "defectdojo/mayhem/mayhem_code_many_vulns.sarif",
    "defectdojo/sarif/appendix_k1.sarif",
    "defectdojo/sarif/appendix_k2.sarif",
    "defectdojo/sarif/bash-report.sarif",
    "defectdojo/sarif/codeQL-output.sarif",
    "defectdojo/sarif/cxf-3.4.6.sarif",
    "defectdojo/sarif/dependency_check.sarif",
    "defectdojo/sarif/dockle_0_3_15.sarif",
    "defectdojo/sarif/gitleaks_7.5.0.sarif",
    "defectdojo/sarif/njsscan.sarif",
    "defectdojo/sarif/no_runs.sarif",
    "defectdojo/sarif/semgrepowasp-benchmark-sample.sarif",
    "defectdojo/sarif/spotbugs.sarif",
    "defectdojo/sarif/suppression_test.sarif",
    "defectdojo/sarif/taint-python-report.sarif",
    "gitleaks/sarif_simple.sarif",
    f"{SDK}/AndroidStudio/twoIssues.xml.sarif",
    f"{SDK}/ClangAnalyzer/RealLog.xml.sarif",
    f"{SDK}/Fortify/bannedAPIs_java.xml.sarif",
    f"{SDK}/FortifyFpr/OneResultWithTwoTraces.fpr.sarif",
    f"{SDK}/Pylint/Pylint-01.json.sarif",
    f"{SDK}/StaticDriverVerifier/dispatchroutine_bug1.tt.sarif",
    f"{SDK}/TSLint/TSLint-09.json.sarif",
    f"{SDK_UNIT}/CisCatConverter/ExpectedOutputs/ValidResults.sarif",
    f"{SDK_UNIT}/ClangTidyConverter/ExpectedOutputs/ValidResults.sarif",
    f"{SDK_UNIT}/NessusConverter/ExpectedOutputs/ValidResults.sarif",
    "sarif-sdk/src/Test.UnitTests.Sarif/TestData/Readers/elfie-arriba-utf8-bom.sarif",
    "trivy/alpine-310.sarif.golden",
)

# The first violation jsonschema-rs reports for each log PROVENANCE.md marks invalid, and why
# the log is invalid; the pointer must lead a submitter to the offending value.
INVALID_LOGS = {
    "codeql-action/invalid-sarif.sarif": "/runs/0/results",  # results is 42
    "defectdojo/sarif/appendix_k3.sarif": "/runs/0",  # pre-final "artifact" member
    "defectdojo/sarif/appendix_k4.sarif": (
        "/runs/0/invocations/0/toolConfigurationNotifications/0/associatedRule"
    ),  # pre-final "ruleId" member
    "defectdojo/sarif/blackduck_nested_fingerprints.sarif": "/runs/0/results/0/fixes/0",
    f"{SDK}/SemmleQL/EmbeddedLocations.csv.sarif": (
        "/runs/0/results/0/relatedLocations/0/physicalLocation/region"
    ),  # an empty region
}


def load(corpus: Path, name: str) -> Any:
    return decode((corpus / "sarif" / "logs" / name).read_bytes(), what=name)


def read_all(doc: Any, limits: ReadLimits = DEFAULT_LIMITS) -> list[FindingRecord]:
    READER.validate(doc)
    return list(READER.read(doc, limits=limits))


def read_log(corpus: Path, name: str) -> list[FindingRecord]:
    return read_all(load(corpus, name))


def loc(record: FindingRecord) -> Location:
    assert record.location is not None, record.pointer
    return record.location


# -- the corpus ------------------------------------------------------------------------------


@pytest.mark.corpus
def test_provenance_lists_exactly_these_logs(corpus: Path) -> None:
    """The hard-coded lists above must match PROVENANCE.md and the folder, or tests drift."""
    text = (corpus / "sarif" / "PROVENANCE.md").read_text(encoding="utf-8")
    marked = {
        match.group(1): match.group(2)
        for match in re.finditer(r"^\| logs/(\S+) \|[^\n]*\| (yes|no) \|$", text, re.MULTILINE)
    }
    assert {name for name, valid in marked.items() if valid == "yes"} == set(VALID_LOGS)
    assert {name for name, valid in marked.items() if valid == "no"} == set(INVALID_LOGS)
    on_disk = {
        path.relative_to(corpus / "sarif" / "logs").as_posix()
        for path in (corpus / "sarif" / "logs").rglob("*")
        if path.is_file()
    }
    assert on_disk == set(marked)


@pytest.mark.corpus
@pytest.mark.parametrize("name", VALID_LOGS)
def test_valid_log_yields_one_record_per_result(corpus: Path, name: str) -> None:
    raw = (corpus / "sarif" / "logs" / name).read_bytes()
    doc = decode(raw, what=name)
    assert READER.sniff(doc)
    READER.validate(doc)

    # Count independently of the reader: straight from the JSON (minus a BOM).
    plain = orjson.loads(raw.removeprefix(b"\xef\xbb\xbf"))
    expected = [
        f"/runs/{i}/results/{j}"
        for i, run in enumerate(plain["runs"])
        for j in range(len(run.get("results") or []))
    ]

    records = list(READER.read(doc, limits=DEFAULT_LIMITS))
    assert [record.pointer for record in records] == expected
    assert READER.summarize(doc).finding_count == len(expected)
    for record in records:
        assert record.format == "sarif"
        assert record.producer
        assert record.title
        assert record.level in {"error", "warning", "note", "none"}
        assert record.severity is not None
        assert list(record.cwes) == sorted(set(record.cwes))
        assert list(record.fingerprints) == sorted(record.fingerprints)
        path = record.location.path if record.location else None
        assert path is None or ("\\" not in path and not path.startswith(("file:", "./")))


@pytest.mark.corpus
@pytest.mark.parametrize(("name", "pointer"), INVALID_LOGS.items())
def test_invalid_log_is_refused_with_a_pointer(corpus: Path, name: str, pointer: str) -> None:
    doc = load(corpus, name)
    assert READER.sniff(doc), "recognised as SARIF so that validation can say what is wrong"
    with pytest.raises(SchemaError) as caught:
        READER.validate(doc)
    assert caught.value.pointer == pointer
    assert caught.value.expected
    assert str(caught.value).startswith("SARIF log at /runs/0")


@pytest.mark.corpus
def test_codeql_cwes_come_from_tags(corpus: Path) -> None:
    records = read_log(corpus, "defectdojo/sarif/codeQL-output.sarif")
    by_rule = {record.rule_id: record for record in records}
    assert by_rule["py/reflective-xss"].cwes == (79, 116)  # external/cwe/cwe-079, cwe-116
    assert by_rule["py/path-injection"].cwes == (22, 23, 36, 73, 99)
    assert by_rule["py/empty-except"].cwes == (390,)
    assert by_rule["py/unused-import"].cwes == ()
    xss = by_rule["py/reflective-xss"]
    assert xss.title == "Reflected server-side cross-site scripting"
    assert xss.security_severity is None  # CodeQL 2.5.4 predates security-severity
    assert (xss.level, xss.severity) == ("error", Severity.HIGH)  # rule defaultConfiguration
    assert xss.producer == "CodeQL"
    assert xss.producer_version == "2.5.4"  # semanticVersion
    assert xss.code_flow_count == 13
    assert loc(xss).path == "good/mod_user.py"  # %SRCROOT% with no originalUriBaseIds: relative
    flagged = [record for record in records if record.cwes]
    assert len(flagged) == 25  # every result whose rule has an external/cwe tag


@pytest.mark.corpus
def test_codeql_snippet_falls_back_to_context_region(corpus: Path) -> None:
    first = read_log(corpus, "defectdojo/sarif/codeQL-output.sarif")[0]
    assert first.location == Location(
        path="good/db_init.py",
        start_line=39,
        start_column=5,
        snippet="    try:\n        os.remove('db_users.sqlite')\n    except FileNotFoundError:\n"
        "        pass\n\n",
    )
    assert first.partial_fingerprints == (
        ("primaryLocationLineHash", "9cbc869fbfffeb60:1"),
        ("primaryLocationStartColumnFingerprint", "0"),
    )


@pytest.mark.corpus
def test_trivy_rule_ids_are_cve_aliases(corpus: Path) -> None:
    records = read_log(corpus, "trivy/alpine-310.sarif.golden")
    assert [record.aliases for record in records] == [
        ("CVE-2019-1549",),
        ("CVE-2019-1551",),
        ("CVE-2019-1549",),
        ("CVE-2019-1551",),
    ]
    first = records[0]
    assert first.title == "openssl: information disclosure in fork()"
    assert first.description.startswith("Package: libcrypto1.1\nInstalled Version: 1.1.1c-r0")
    assert first.security_severity == 5.3
    assert first.severity is Severity.MEDIUM
    assert first.producer_version == "dev"
    # uriBaseId "ROOTPATH" has no originalUriBaseIds entry: the uri is already relative.
    assert loc(first) == Location(
        path="testdata/fixtures/images/alpine-310.tar.gz",
        start_line=1,
        end_line=1,
        start_column=1,
    )


@pytest.mark.corpus
def test_grype_rule_ids_start_with_the_vulnerability_id(corpus: Path) -> None:
    records = read_log(corpus, "defectdojo/sarif/cxf-3.4.6.sarif")
    by_rule = {record.rule_id: record.aliases for record in records}
    assert by_rule["GHSA-57j2-w4cx-62h2-jackson-databind"] == ("GHSA-57j2-w4cx-62h2",)
    assert by_rule["CVE-2021-30468-cxf-xjc-runtime"] == ("CVE-2021-30468",)
    assert all(record.aliases for record in records)


@pytest.mark.corpus
def test_fingerprints_absent_from_input_present_in_expected(corpus: Path) -> None:
    """codeql-action's pair: the input lacks partialFingerprints, the expected output has them."""
    before = read_log(corpus, "codeql-action/fingerprinting.input.sarif")
    after = read_log(corpus, "codeql-action/fingerprinting.expected.sarif")
    assert [record.partial_fingerprints for record in before] == [(), ()]
    assert [record.partial_fingerprints for record in after] == [
        (("primaryLocationLineHash", "5e4d5a9cf1294ad9:1"),),
        (("primaryLocationLineHash", "f7592a95a9381ac0:1"),),
    ]
    # ruleIndex 0 points into an empty rules array: the reader must not fail, and has no title.
    assert [record.title for record in before] == ["Unused variable a.", "Unused variable bar."]
    # The second result names its file only by artifactLocation.index into run.artifacts.
    assert [loc(record).path for record in before] == ["testFile1.js", "testFile2.js"]
    assert [loc(record).start_line for record in before] == [1, 2]


@pytest.mark.corpus
def test_utf8_bom_log_decodes_and_reads(corpus: Path) -> None:
    name = "sarif-sdk/src/Test.UnitTests.Sarif/TestData/Readers/elfie-arriba-utf8-bom.sarif"
    assert (corpus / "sarif" / "logs" / name).read_bytes().startswith(b"\xef\xbb\xbf")
    records = read_log(corpus, name)
    assert len(records) == 5
    assert {record.producer for record in records} == {"Spam"}
    first = records[0]
    assert first.rule_id == "CSCAN0050/0"  # a hierarchical id refining rule CSCAN0050
    assert first.title == "PfxFile"
    assert first.extra == {"guid": "d0e26f09-c783-4abf-a195-e634778c59c3"}
    assert first.partial_fingerprints[0][0] == "SecretHash/v1"


@pytest.mark.corpus
def test_no_runs_means_no_findings(corpus: Path) -> None:
    doc = load(corpus, "defectdojo/sarif/no_runs.sarif")
    assert read_all(doc) == []
    summary = READER.summarize(doc)
    assert summary.finding_count == 0
    assert summary.producer is None


@pytest.mark.corpus
def test_suppressions(corpus: Path) -> None:
    records = read_log(corpus, "defectdojo/sarif/suppression_test.sarif")
    assert [record.suppressed for record in records] == [True, True, True, False, False]
    # file:///C:/code/file1.c: scheme dropped, drive letter kept without a POSIX slash.
    assert loc(records[0]).path == "C:/code/file1.c"
    # The rules only have fullDescription, so the title is the message's first line.
    assert [record.title for record in records] == ["Suppressed"] * 3 + ["Not suppressed"] * 2


@pytest.mark.corpus
def test_fortify_uri_base_id_and_snippet(corpus: Path) -> None:
    (record,) = read_log(corpus, f"{SDK}/FortifyFpr/OneResultWithTwoTraces.fpr.sarif")
    # artifactLocation.index -> artifacts[0] = Helpers/DBHelper.cs under SRCROOT, whose
    # absolute file:///C:/projects/myproject/src/ is the machine's, not the repository's.
    assert loc(record).path == "Helpers/DBHelper.cs"
    assert loc(record).start_line == 146
    assert loc(record).snippet == (
        "                    SqlDataReader myReader = myCommand.ExecuteReader();"
    )
    assert record.code_flow_count == 2
    assert record.rule_id == "97A5F38F-524B-4A83-94FA-9387B5265825"  # via ruleIndex only


@pytest.mark.corpus
def test_mayhem_cwes_from_result_taxa(corpus: Path) -> None:
    records = read_log(corpus, "defectdojo/mayhem/mayhem_code_many_vulns.sarif")
    assert records[0].cwes == (190,)
    assert records[1].cwes == (415,)
    assert records[0].description == "TDID-2307883 - Integer Overflow or Wraparound"
    assert loc(records[1]).path == "stdio-common/vfscanf-internal.c"  # "./" dropped


@pytest.mark.corpus
def test_flawfinder_cwes_from_rule_relationships(corpus: Path) -> None:
    records = read_log(corpus, "defectdojo/flawfinder/flawfinder_many_vuln.sarif")
    assert [record.cwes for record in records] == [(119, 120), (120,), (134,), (20, 120)]
    assert [record.severity for record in records] == [
        Severity.LOW,
        Severity.HIGH,
        Severity.HIGH,
        Severity.HIGH,
    ]
    assert loc(records[1]).snippet == "    strcpy(buf, argv[1]);"


@pytest.mark.corpus
def test_njsscan_cwe_property_with_a_name_after_the_number(corpus: Path) -> None:
    records = read_log(corpus, "defectdojo/sarif/njsscan.sarif")
    assert [record.cwes for record in records] == [(327,), (798,)]
    assert loc(records[0]).path == "/src/index.js"  # absolute, no base to relativize against


@pytest.mark.corpus
def test_spotbugs_message_strings_arguments_and_logical_location(corpus: Path) -> None:
    first = read_log(corpus, "defectdojo/sarif/spotbugs.sarif")[0]
    assert (
        first.description == "Hard coded reference to an absolute pathname in Boot.main(String[])."
    )
    assert first.title == "Code contains a hard coded reference to an absolute pathname."
    assert first.level == "note"
    assert loc(first).function == "Boot.main(String[])"


@pytest.mark.corpus
def test_version_control_provenance_gives_target_and_version(corpus: Path) -> None:
    records = read_log(corpus, "defectdojo/sarif/bash-report.sarif")
    assert {(record.target, record.version) for record in records} == {
        (
            "https://github.com/damiencarol/django-DefectDojo",
            "288c68d1ba1f35ebeff1d1bdb032186a23f0ea5b",
        )
    }
    assert records[0].extra == {"baselineState": "new"}


@pytest.mark.corpus
def test_kind_other_than_fail_defaults_level_to_none(corpus: Path) -> None:
    (record,) = read_log(corpus, f"{SDK}/StaticDriverVerifier/dispatchroutine_bug1.tt.sarif")
    assert record.extra["kind"] == "pass"
    assert record.level == "none"
    assert record.severity is Severity.NONE


@pytest.mark.corpus
def test_two_runs_summarize_both_producers(corpus: Path) -> None:
    doc = load(corpus, "codeql-action/valid-sarif.sarif")
    summary = READER.summarize(doc)
    assert summary.producer == "LGTM.com; CodeQL command-line toolchain"
    assert summary.finding_count == 3
    assert [(record.pointer, record.producer) for record in read_all(doc)] == [
        ("/runs/0/results/0", "LGTM.com"),
        ("/runs/1/results/0", "CodeQL command-line toolchain"),
        ("/runs/1/results/1", "CodeQL command-line toolchain"),
    ]


# -- small hand-made logs --------------------------------------------------------------------


def sarif_log(*results: dict[str, Any], rules: list[Any] | None = None, **run: Any) -> Any:
    driver: dict[str, Any] = {"name": "Tool", "version": "1.0"}
    if rules is not None:
        driver["rules"] = rules
    tool = {"driver": driver, **run.pop("tool", {})}
    return {"version": "2.1.0", "runs": [{"tool": tool, "results": list(results), **run}]}


def message(text: str) -> dict[str, Any]:
    return {"text": text}


def at(uri: str, **artifact: Any) -> list[dict[str, Any]]:
    return [{"physicalLocation": {"artifactLocation": {"uri": uri, **artifact}}}]


def only(doc: Any, limits: ReadLimits = DEFAULT_LIMITS) -> FindingRecord:
    (record,) = read_all(doc, limits)
    return record


def test_reader_implements_the_protocol() -> None:
    reader: Reader = READER
    assert reader.name == "sarif"


@pytest.mark.parametrize(
    ("doc", "expected"),
    [
        ({"runs": 42}, True),
        ({"$schema": "https://json.schemastore.org/sarif-2.1.0.json"}, True),
        ({"version": "2.1.0"}, True),
        ({"schema_version": "1.6.0", "id": "GHSA-xxxx"}, False),
        ({"dataType": "CVE_RECORD"}, False),
        ([{"runs": []}], False),
        ("runs", False),
    ],
)
def test_sniff(doc: Any, expected: bool) -> None:
    assert READER.sniff(doc) is expected


def test_placeholders_are_filled_from_arguments() -> None:
    record = only(
        sarif_log(
            {
                "ruleId": "R1",
                "message": {"text": "{1} flows to {0} in {{braces}} {7}", "arguments": ["a", "b"]},
            }
        )
    )
    assert record.description == "b flows to a in {braces} {7}"
    assert record.title == "b flows to a in {braces} {7}"  # no rule: the message's first line


def test_message_id_uses_rule_message_strings() -> None:
    rules = [{"id": "R1", "messageStrings": {"default": {"text": "Tainted {0}."}}}]
    record = only(
        sarif_log({"ruleId": "R1", "message": {"id": "default", "arguments": ["x"]}}, rules=rules)
    )
    assert record.description == "Tainted x."


def test_text_wins_over_markdown_and_markdown_alone_is_still_read() -> None:
    both = only(sarif_log({"message": {"text": "plain", "markdown": "**rich**"}}))
    assert both.description == "plain"
    # The schema wants text (or an id) beside markdown; read() copes without it anyway.
    doc = sarif_log({"message": {"markdown": "**bold**\nsecond line"}})
    (record,) = READER.read(doc, limits=DEFAULT_LIMITS)
    assert record.description == "**bold**\nsecond line"
    assert record.title == "**bold**"
    assert record.rule_id is None


def test_over_long_description_is_refused_with_its_pointer() -> None:
    limits = ReadLimits(max_string_chars=10)
    doc = sarif_log(
        {"message": message("short")},
        {"message": message("x" * 11)},
    )
    READER.validate(doc)
    with pytest.raises(SchemaError) as caught:
        list(READER.read(doc, limits=limits))
    assert caught.value.pointer == "/runs/0/results/1/message/text"


def test_over_long_filled_message_points_at_the_template() -> None:
    limits = ReadLimits(max_string_chars=10)
    doc = sarif_log({"message": {"text": "{0}", "arguments": ["y" * 20]}})
    with pytest.raises(SchemaError) as caught:
        list(READER.read(doc, limits=limits))
    assert caught.value.pointer == "/runs/0/results/0/message/text"


def test_over_long_snippet_is_refused_with_its_pointer() -> None:
    limits = ReadLimits(max_string_chars=10)
    region = {"startLine": 1, "snippet": {"text": "s" * 11}}
    doc = sarif_log(
        {
            "message": message("m"),
            "locations": [
                {"physicalLocation": {"artifactLocation": {"uri": "a"}, "region": region}}
            ],
        }
    )
    with pytest.raises(SchemaError) as caught:
        list(READER.read(doc, limits=limits))
    assert (
        caught.value.pointer == "/runs/0/results/0/locations/0/physicalLocation/region/snippet/text"
    )


def test_too_many_results_is_refused_before_any_record() -> None:
    doc = sarif_log({"message": message("a")}, {"message": message("b")})
    with pytest.raises(TooLargeError):
        next(READER.read(doc, limits=ReadLimits(max_findings=1)))


def test_long_titles_are_cut_not_refused() -> None:
    rules = [{"id": "R1", "shortDescription": {"text": "t" * 50}}]
    record = only(
        sarif_log({"ruleId": "R1", "message": message("m")}, rules=rules),
        ReadLimits(max_title_chars=8),
    )
    assert record.title == "t" * 8


def test_rule_index_wins_and_supplies_the_id() -> None:
    rules = [
        {"id": "R0", "shortDescription": {"text": "zero"}},
        {
            "id": "R1",
            "shortDescription": {"text": "one"},
            "defaultConfiguration": {"level": "error"},
        },
    ]
    record = only(sarif_log({"ruleIndex": 1, "message": message("m")}, rules=rules))
    assert (record.rule_id, record.title, record.level, record.severity) == (
        "R1",
        "one",
        "error",
        Severity.HIGH,
    )


def test_rule_reference_into_an_extension() -> None:
    extension_rules = [
        {"id": "X0", "name": "ext zero"},
        {
            "id": "X1",
            "name": "ext one",
            "properties": {
                "tags": ["security", "external/cwe/cwe-089"],
                "security-severity": "9.8",
            },
        },
    ]
    doc = sarif_log(
        {"message": message("m"), "rule": {"id": "X1", "index": 1, "toolComponent": {"index": 0}}},
        {"message": message("m"), "rule": {"id": "X0", "toolComponent": {"name": "plugin"}}},
        tool={"extensions": [{"name": "plugin", "rules": extension_rules}]},
    )
    first, second = read_all(doc)
    assert (first.rule_id, first.title, first.cwes) == ("X1", "ext one", (89,))
    assert (first.security_severity, first.severity) == (9.8, Severity.CRITICAL)
    assert (second.rule_id, second.title) == ("X0", "ext zero")


@pytest.mark.parametrize(
    ("properties", "cwes"),
    [
        (
            {"tags": ["external/cwe/cwe-079", "CWE-79", "cwe-20", "CWE:352", "cwe", "owasp"]},
            (20, 79, 352),
        ),
        ({"cwe": 79}, (79,)),
        ({"cwe": "CWE-327: Use of a Broken or Risky Cryptographic Algorithm"}, (327,)),
        ({"CWE": ["CWE-1321", "78", 400]}, (78, 400, 1321)),
        ({"cwe": "not a cwe", "tags": ["cwe-top-25"]}, ()),
    ],
)
def test_cwe_spellings(properties: dict[str, Any], cwes: tuple[int, ...]) -> None:
    rules = [{"id": "R1", "properties": properties}]
    assert only(sarif_log({"ruleId": "R1", "message": message("m")}, rules=rules)).cwes == cwes
    # The same bag on the result itself counts too.
    assert only(sarif_log({"message": message("m"), "properties": properties})).cwes == cwes


def test_cwes_from_relationships_and_taxa_by_index() -> None:
    cwe: dict[str, Any] = {
        "name": "CWE",
        "guid": "25F72D7E-8A92-459D-AD67-64853F788765",
        "taxa": [{"id": "22"}],
    }
    rules = [
        {
            "id": "R1",
            "relationships": [
                {"target": {"id": "CWE-79", "toolComponent": {"guid": cwe["guid"].lower()}}},
                {"target": {"id": "OWASP-A1", "toolComponent": {"name": "OWASP"}}},
            ],
        }
    ]
    doc = sarif_log(
        {
            "ruleId": "R1",
            "message": message("m"),
            "taxa": [
                {"index": 0, "toolComponent": {"index": 1}},
                {"id": "5", "toolComponent": {"index": 0}},
            ],
        },
        rules=rules,
        taxonomies=[{"name": "OWASP", "taxa": [{"id": "5"}]}, cwe],
    )
    assert only(doc).cwes == (22, 79)


@pytest.mark.parametrize(
    ("score", "severity"),
    [
        ("9.0", Severity.CRITICAL),
        (7, Severity.HIGH),
        ("4.0", Severity.MEDIUM),
        ("0.1", Severity.LOW),
        ("0", Severity.NONE),
    ],
)
def test_security_severity_bands(score: Any, severity: Severity) -> None:
    record = only(
        sarif_log(
            {"message": message("m"), "level": "note", "properties": {"security-severity": score}}
        )
    )
    assert record.severity is severity
    assert record.level == "note"


def test_unparseable_security_severity_falls_back_to_level() -> None:
    rules = [{"id": "R", "properties": {"security-severity": "high"}}]
    record = only(
        sarif_log({"ruleId": "R", "message": message("m"), "level": "error"}, rules=rules)
    )
    assert (record.security_severity, record.severity) == (None, Severity.HIGH)


@pytest.mark.parametrize(
    ("result", "level", "severity"),
    [
        ({}, "warning", Severity.MEDIUM),
        ({"level": "error"}, "error", Severity.HIGH),
        ({"level": "note"}, "note", Severity.LOW),
        ({"kind": "informational"}, "none", Severity.NONE),
        ({"kind": "fail"}, "warning", Severity.MEDIUM),
    ],
)
def test_level_defaults(result: dict[str, Any], level: str, severity: Severity) -> None:
    record = only(sarif_log({"message": message("m"), **result}))
    assert (record.level, record.severity) == (level, severity)


def test_uri_base_ids_resolve_to_repository_relative_paths() -> None:
    run: dict[str, Any] = {
        "originalUriBaseIds": {
            "PROJECTROOT": {"uri": "file:///home/ci/work/"},
            "SRCROOT": {"uri": "src/", "uriBaseId": "PROJECTROOT"},
            "LOOP": {"uri": "x/", "uriBaseId": "LOOP"},
        },
        "artifacts": [{"location": {"uri": "lib/a%20b.c", "uriBaseId": "SRCROOT"}}],
    }
    doc = sarif_log(
        {"message": message("m"), "locations": at("main.c", uriBaseId="SRCROOT")},
        {"message": message("m"), "locations": at("./README.md", uriBaseId="PROJECTROOT")},
        {"message": message("m"), "locations": at("file:///home/ci/work/src/abs.c")},
        {
            "message": message("m"),
            "locations": [{"physicalLocation": {"artifactLocation": {"index": 0}}}],
        },
        {"message": message("m"), "locations": at("win\\path\\x.c", uriBaseId="%SRCROOT%")},
        {"message": message("m"), "locations": at("y.c", uriBaseId="LOOP")},
        {"message": message("m"), "locations": at("file:///elsewhere/z.c")},
        **run,
    )
    paths = [loc(record).path for record in read_all(doc)]
    assert paths == [
        "src/main.c",
        "README.md",
        "src/abs.c",
        "src/lib/a b.c",
        "win/path/x.c",
        "x/y.c",
        "/elsewhere/z.c",
    ]


def test_logical_location_by_index_and_no_locations() -> None:
    doc = sarif_log(
        {"message": message("m"), "locations": [{"logicalLocations": [{"index": 0}]}]},
        {"message": message("m")},
        logicalLocations=[{"name": "f", "fullyQualifiedName": "ns::f", "kind": "function"}],
    )
    first, second = read_all(doc)
    assert first.location == Location(function="ns::f")
    assert second.location is None


def test_fingerprints_and_partial_fingerprints_kept_apart_sorted() -> None:
    record = only(
        sarif_log(
            {
                "message": message("m"),
                "fingerprints": {"b": "2", "a": "1"},
                "partialFingerprints": {"c/v1": "3"},
            }
        )
    )
    assert record.fingerprints == (("a", "1"), ("b", "2"))
    assert record.partial_fingerprints == (("c/v1", "3"),)


@pytest.mark.parametrize(
    ("rule_id", "aliases"),
    [
        ("cve-2021-44228", ("CVE-2021-44228",)),
        ("CVE-2021-44228-log4j-core", ("CVE-2021-44228",)),
        ("CVE-2021-442280", ("CVE-2021-442280",)),
        ("GHSA-JFH8-C2JP-5V3Q", ("GHSA-jfh8-c2jp-5v3q",)),
        ("CVE-21-1", ()),
        ("GHSA-abcd", ()),
        ("py/sql-injection", ()),
    ],
)
def test_aliases_from_rule_ids(rule_id: str, aliases: tuple[str, ...]) -> None:
    assert only(sarif_log({"ruleId": rule_id, "message": message("m")})).aliases == aliases


def test_suppression_status_and_extra_members() -> None:
    doc = sarif_log(
        {"message": message("m"), "suppressions": [{"kind": "inSource", "status": "rejected"}]},
        {"message": message("m"), "suppressions": [{"kind": "external", "status": "underReview"}]},
        {
            "message": message("m"),
            "guid": "0b3e2a6e-5d2f-4c47-9a53-3f1c8d0e7a11",
            "correlationGuid": "6f1d9c2b-8e4a-4b7f-b1c3-2a9e5d4f6c80",
            "baselineState": "unchanged",
            "codeFlows": [
                {"threadFlows": [{"locations": [{"location": {"message": message("s")}}]}]}
            ],
        },
    )
    rejected, under_review, plain = read_all(doc)
    assert (rejected.suppressed, under_review.suppressed, plain.suppressed) == (False, True, False)
    assert plain.extra == {
        "guid": "0b3e2a6e-5d2f-4c47-9a53-3f1c8d0e7a11",
        "correlationGuid": "6f1d9c2b-8e4a-4b7f-b1c3-2a9e5d4f6c80",
        "baselineState": "unchanged",
    }
    assert plain.code_flow_count == 1


def test_results_are_read_lazily_in_order_across_runs() -> None:
    doc = sarif_log({"message": message("a")})
    doc["runs"].append(
        {
            "tool": {"driver": {"name": "Other", "semanticVersion": "2.0.0"}},
            "results": [{"message": message("b")}],
        }
    )
    records = read_all(doc)
    assert [(r.pointer, r.producer, r.producer_version) for r in records] == [
        ("/runs/0/results/0", "Tool", "1.0"),
        ("/runs/1/results/0", "Other", "2.0.0"),
    ]
