"""The CVE JSON 5 reader: validation against cvelib's 5.1.1 schema, extraction, refusals."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import orjson
import pytest

from clearinghouse.core.errors import SchemaError
from clearinghouse.formats.cve5 import READER
from clearinghouse.formats.limits import ReadLimits
from clearinghouse.formats.reader import Reader
from clearinghouse.formats.records import FindingRecord, Severity

_READER: Reader = READER  # mypy checks the protocol here

ORG = "b3476cb9-2e3d-41a6-98d0-0f47421a65b6"

RECORD: dict[str, Any] = {
    "dataType": "CVE_RECORD",
    "dataVersion": "5.1",
    "cveMetadata": {
        "cveId": "CVE-2099-1234",
        "assignerOrgId": ORG,
        "assignerShortName": "example",
        "state": "PUBLISHED",
    },
    "containers": {
        "cna": {
            "providerMetadata": {"orgId": ORG},
            "descriptions": [
                {"lang": "de", "value": "Eine Schwachstelle."},
                {"lang": "en-US", "value": "A command injection in the admin page."},
            ],
            "affected": [
                {
                    "collectionURL": "https://pypi.org",
                    "packageName": "example-pkg",
                    "vendor": "Example",
                    "product": "Example Pkg",
                    "versions": [
                        {
                            "version": "0",
                            "lessThan": "1.2",
                            "status": "affected",
                            "versionType": "semver",
                        }
                    ],
                }
            ],
            "references": [{"url": "https://example.org/advisory"}],
            "problemTypes": [
                {"descriptions": [{"lang": "en", "description": "CWE-78", "cweId": "CWE-78"}]}
            ],
            "metrics": [
                {
                    "cvssV3_1": {
                        "version": "3.1",
                        "vectorString": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
                        "baseScore": 9.8,
                        "baseSeverity": "CRITICAL",
                    }
                }
            ],
        },
        "adp": [
            {
                "providerMetadata": {"orgId": ORG},
                "problemTypes": [
                    {"descriptions": [{"lang": "en", "description": "x", "cweId": "CWE-20"}]}
                ],
            }
        ],
    },
}


def _record(**changes: Any) -> dict[str, Any]:
    record = copy.deepcopy(RECORD)
    record.update(changes)
    return record


def _read(doc: Any, limits: ReadLimits | None = None) -> FindingRecord:
    READER.validate(doc)
    (found,) = READER.read(doc, limits=limits or ReadLimits())
    return found


def test_sniff() -> None:
    assert READER.sniff(RECORD)
    assert READER.sniff({"cveMetadata": {}})
    assert not READER.sniff({"providerMetadata": {}, "descriptions": []})
    assert not READER.sniff({"id": "CVE-2099-1", "modified": "x"})
    assert not READER.sniff([RECORD])


def test_fields_of_a_hand_written_record() -> None:
    found = _read(RECORD)
    assert found.format == "cve5"
    assert found.pointer == ""
    assert found.producer == "example"
    assert found.aliases == ("CVE-2099-1234",)
    assert found.title == "A command injection in the admin page."  # English, no title
    assert found.description == "A command injection in the admin page."
    assert found.cwes == (20, 78)  # CNA and ADP
    assert found.severity is Severity.CRITICAL
    assert found.security_severity == 9.8
    assert found.target == "https://pypi.org/example-pkg"
    (package,) = found.affected
    assert package.name == "example-pkg"
    assert package.ecosystem == "https://pypi.org"
    assert package.ranges_json is not None
    assert orjson.loads(package.ranges_json)[0]["lessThan"] == "1.2"
    assert found.extra["dataVersion"] == "5.1"
    assert READER.summarize(RECORD).producer == "example"


def test_cna_title_wins_and_v2_score_is_banded() -> None:
    record = _record()
    cna = record["containers"]["cna"]
    cna["title"] = "Command injection in Example"
    cna["metrics"] = [
        {
            "cvssV2_0": {
                "version": "2.0",
                "vectorString": "AV:N/AC:L/Au:N/C:P/I:P/A:P",
                "baseScore": 7.5,
            }
        }
    ]
    found = _read(record)
    assert found.title == "Command injection in Example"
    assert found.severity is Severity.HIGH
    assert found.security_severity == 7.5


def test_adp_score_is_used_when_the_cna_has_none() -> None:
    record = _record()
    del record["containers"]["cna"]["metrics"]
    record["containers"]["adp"][0]["metrics"] = [
        {
            "cvssV3_1": {
                "version": "3.1",
                "vectorString": "CVSS:3.1/AV:N/AC:L/PR:L/UI:N/S:U/C:L/I:N/A:N",
                "baseScore": 4.3,
                "baseSeverity": "MEDIUM",
            }
        }
    ]
    assert _read(record).severity is Severity.MEDIUM


def test_rejected_record() -> None:
    record = {
        "dataType": "CVE_RECORD",
        "dataVersion": "5.0",
        "cveMetadata": {
            "cveId": "CVE-2099-0002",
            "assignerOrgId": ORG,
            "state": "REJECTED",
        },
        "containers": {
            "cna": {
                "providerMetadata": {"orgId": ORG, "shortName": "exorg"},
                "rejectedReasons": [{"lang": "en", "value": "Duplicate of CVE-2099-0001."}],
            }
        },
    }
    found = _read(record)
    assert found.extra["state"] == "REJECTED"
    assert found.title == "Duplicate of CVE-2099-0001."
    assert found.producer == "exorg"  # no assignerShortName: the CNA's provider metadata
    assert found.affected == ()


@pytest.mark.parametrize(
    ("change", "pointer"),
    [
        ({"cveMetadata": {**RECORD["cveMetadata"], "cveId": "CVE-99-1"}}, "/cveMetadata/cveId"),
        ({"cveMetadata": {**RECORD["cveMetadata"], "state": "DRAFT"}}, "/cveMetadata/state"),
        ({"dataVersion": "4.0"}, "/dataVersion"),
    ],
)
def test_refusals_name_the_pointer(change: dict[str, Any], pointer: str) -> None:
    with pytest.raises(SchemaError) as caught:
        READER.validate(_record(**change))
    assert caught.value.pointer == pointer


def test_missing_cna_descriptions_point_into_the_cna() -> None:
    record = _record()
    del record["containers"]["cna"]["descriptions"]
    with pytest.raises(SchemaError) as caught:
        READER.validate(record)
    assert caught.value.pointer == "/containers/cna"
    assert "descriptions" in caught.value.expected


def test_bare_container_is_refused_with_reason() -> None:
    container = copy.deepcopy(RECORD["containers"]["cna"])
    with pytest.raises(SchemaError) as caught:
        READER.validate(container)
    assert caught.value.pointer == ""
    assert "container" in caught.value.expected


def test_over_long_description_is_refused_and_title_is_cut() -> None:
    record = _record()
    record["containers"]["cna"]["descriptions"] = [{"lang": "en", "value": "D" * 300}]
    with pytest.raises(SchemaError) as caught:
        _read(record, ReadLimits(max_string_chars=200))
    assert caught.value.pointer == "/containers/cna/descriptions/0/value"
    found = _read(record, ReadLimits(max_title_chars=50))
    assert len(found.title) == 50
    assert len(found.description) == 300


def test_schema_refuses_descriptions_over_its_own_limit() -> None:
    record = _record()
    record["containers"]["cna"]["descriptions"] = [{"lang": "en", "value": "D" * 5000}]
    with pytest.raises(SchemaError) as caught:
        READER.validate(record)
    assert caught.value.pointer == "/containers/cna/descriptions/0/value"
    assert len(str(caught.value)) < 400  # the 5000-character value is not echoed whole


# ---- the corpus ------------------------------------------------------------------------------


def _load(corpus: Path, relative: str) -> Any:
    return orjson.loads((corpus / "cve/records" / relative).read_bytes())


@pytest.mark.corpus
def test_every_corpus_record(corpus: Path) -> None:
    files = sorted((corpus / "cve/records").rglob("*.json"))
    assert len(files) == 66
    valid, refused = 0, []
    for file in files:
        doc = orjson.loads(file.read_bytes())
        try:
            READER.validate(doc)
        except SchemaError as error:
            refused.append((file.name, error.pointer, READER.sniff(doc)))
            continue
        assert READER.sniff(doc)
        (found,) = READER.read(doc, limits=ReadLimits())
        assert found.aliases == (doc["cveMetadata"]["cveId"],)
        assert found.title
        valid += 1
    assert valid == 64
    assert sorted(refused) == [
        ("container-advanced-example.json", "", False),
        ("container-basic-example.json", "", False),
    ]


@pytest.mark.corpus
def test_log4shell(corpus: Path) -> None:
    found = _read(_load(corpus, "osv.dev-cvelistV5-testdata/cves/2021/44xxx/CVE-2021-44228.json"))
    assert found.aliases == ("CVE-2021-44228",)
    assert found.producer == "apache"
    assert found.title.startswith("Apache Log4j2 JNDI features do not protect")
    assert found.description.startswith("Apache Log4j2 2.0-beta9 through 2.15.0")
    assert found.cwes == (20, 400, 502)
    # The CNA gave only a free-text "critical"; CISA-ADP's CVSS 3.1 score is the one used.
    assert found.severity is Severity.CRITICAL
    assert found.security_severity == 10.0
    assert found.target == "Apache Software Foundation/Apache Log4j2"
    (package,) = found.affected
    assert package.name == "Apache Log4j2"
    assert package.ecosystem == "Apache Software Foundation"
    assert package.ranges_json is not None
    (versions,) = orjson.loads(package.ranges_json)
    assert versions["version"] == "2.0-beta9"
    assert {"at": "2.15.0", "status": "unaffected"} in versions["changes"]


@pytest.mark.corpus
def test_xz_backdoor_is_package_based(corpus: Path) -> None:
    found = _read(_load(corpus, "osv.dev-cvelistV5-testdata/cves/2024/3xxx/CVE-2024-3094.json"))
    assert found.producer == "redhat"
    assert found.target == "https://github.com/tukaani-project/xz/xz"
    assert found.affected[0].name == "xz"
    assert found.affected[0].ecosystem == "https://github.com/tukaani-project/xz"
    assert found.cwes == (506,)
    assert found.severity is Severity.CRITICAL


@pytest.mark.corpus
def test_rejected_and_data_version_5_0_records(corpus: Path) -> None:
    rejected = _read(_load(corpus, "cisagov-vulnrichment/2024/33xxx/CVE-2024-33386.json"))
    assert rejected.extra["state"] == "REJECTED"
    assert rejected.producer == "mitre"
    assert rejected.title.startswith("DO NOT USE THIS CANDIDATE NUMBER.")
    old = _read(_load(corpus, "cisagov-vulnrichment/2021/47xxx/CVE-2021-47115.json"))
    assert old.extra["dataVersion"] == "5.0"
    assert old.aliases == ("CVE-2021-47115",)


@pytest.mark.corpus
def test_english_description_is_chosen_over_german(corpus: Path) -> None:
    doc = _load(corpus, "cisagov-vulnrichment/2024/6xxx/CVE-2024-6214.json")
    found = _read(doc)
    assert found.description.startswith("A vulnerability was found in SourceCodester")
    assert found.severity is Severity.MEDIUM  # CVSS 4.0 preferred: 5.3, not 3.1's 6.3
    assert found.security_severity == 5.3
    assert found.target == "SourceCodester/Food Ordering Management System"


@pytest.mark.corpus
def test_mitre_n_a_vendor_names_no_target(corpus: Path) -> None:
    found = _read(_load(corpus, "osv.dev-cvelistV5-testdata/cves/2023/38xxx/CVE-2023-38408.json"))
    assert found.producer == "mitre"
    assert found.target is None
    assert found.affected[0].name == "n/a"  # kept verbatim in the package itself
