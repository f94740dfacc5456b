"""The advisory composers: CSAF advisory and VEX, OSV and CVE JSON 5 from one content value."""

from __future__ import annotations

import dataclasses
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from clearinghouse.advisories.content import AdvisoryContent
from clearinghouse.advisories.csaf_document import (
    compose_csaf,
    compose_csaf_vex,
    csaf_filename,
    csaf_tlp_label,
    csaf_url,
)
from clearinghouse.advisories.cve_record import (
    TEXT_MAX,
    TITLE_MAX,
    compose_cve,
    compose_cve_cna_container,
)
from clearinghouse.advisories.osv_record import compose_osv
from clearinghouse.core.errors import InputError
from clearinghouse.formats import csaf as csaf_format
from clearinghouse.formats import cve5 as cve_format
from clearinghouse.formats import osv as osv_format

from .content_factory import (
    DECODER_NOT_AFFECTED,
    LIBRLE_INVESTIGATING,
    ORG_ID,
    make_content,
    vulnerability_one,
    vulnerability_two,
)


def _check_csaf(doc: dict[str, Any]) -> None:
    """Schema-valid, and clean under the CSAF mandatory tests once they are importable."""
    csaf_format._validator().check(doc)
    try:
        from clearinghouse.formats.csaf_validation import validate_csaf
    except ImportError:  # written concurrently; test_csaf_passes_the_mandatory_tests says so
        return
    assert validate_csaf(doc) == []


def _check_osv(record: dict[str, Any]) -> None:
    osv_format._validator().check(record)


def _check_cve(record: dict[str, Any]) -> None:
    cve_format.Cve5Reader().validate(record)


def _cves(content: AdvisoryContent) -> list[dict[str, Any]]:
    ids = ["CVE-2025-1234", "CVE-2025-5678"]
    return [
        compose_cve(
            content, i, cve_id=ids[i], assigner_org_id=ORG_ID, assigner_short_name="clearing"
        )
        for i in range(len(content.vulnerabilities))
    ]


def _leaves(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """product_id -> leaf branch of a CSAF product tree."""
    found: dict[str, dict[str, Any]] = {}

    def walk(branches: list[dict[str, Any]]) -> None:
        for branch in branches:
            if "product" in branch:
                found[branch["product"]["product_id"]] = branch
            walk(branch.get("branches", []))

    walk(doc["product_tree"]["branches"])
    return found


# --- validity --------------------------------------------------------------------------------


def test_every_document_is_schema_valid() -> None:
    content = make_content()
    _check_csaf(compose_csaf(content))
    vex = compose_csaf_vex(content)
    assert vex is not None
    _check_csaf(vex)
    records = compose_osv(content)
    assert len(records) == 2
    for record in records:
        _check_osv(record)
    for record in _cves(content):
        _check_cve(record)


def test_composing_twice_gives_the_same_bytes() -> None:
    first, second = make_content(), make_content()
    assert orjson.dumps(compose_csaf(first)) == orjson.dumps(compose_csaf(second))
    assert orjson.dumps(compose_csaf_vex(first)) == orjson.dumps(compose_csaf_vex(second))
    assert orjson.dumps(compose_osv(first)) == orjson.dumps(compose_osv(second))
    assert orjson.dumps(_cves(first)) == orjson.dumps(_cves(second))


# --- CSAF ------------------------------------------------------------------------------------


def test_csaf_fixed_version_is_a_fixed_product_with_its_purl() -> None:
    doc = compose_csaf(make_content())
    leaves = _leaves(doc)
    status = doc["vulnerabilities"][0]["product_status"]
    fixed = [leaves[pid] for pid in status["fixed"]]
    assert [(leaf["category"], leaf["name"]) for leaf in fixed] == [("product_version", "1.4.2")]
    helper = fixed[0]["product"]["product_identification_helper"]
    assert helper == {"purl": "pkg:github/acme/librle@1.4.2"}
    affected = [leaves[pid] for pid in status["known_affected"]]
    assert [(leaf["category"], leaf["name"]) for leaf in affected] == [
        ("product_version_range", "vers:github/>=1.0.0|<1.4.2")
    ]
    remediation = doc["vulnerabilities"][0]["remediations"][0]
    assert remediation["category"] == "vendor_fix"
    assert remediation["product_ids"] == status["known_affected"]
    assert remediation["details"] == "Upgrade librle to 1.4.2."


def test_csaf_not_affected_product_carries_the_impact_statement() -> None:
    doc = compose_csaf(make_content())
    vulnerability = doc["vulnerabilities"][0]
    (not_affected,) = vulnerability["product_status"]["known_not_affected"]
    assert _leaves(doc)[not_affected]["product"]["name"] == "PyCo rle-decoder all versions"
    impacts = [t for t in vulnerability["threats"] if t["category"] == "impact"]
    assert impacts == [
        {
            "category": "impact",
            "details": DECODER_NOT_AFFECTED.statement,
            "product_ids": [not_affected],
        }
    ]


def test_csaf_every_status_statement_the_vex_profile_requires_is_present() -> None:
    vex = compose_csaf_vex(make_content())
    assert vex is not None
    assert vex["document"]["category"] == "csaf_vex"
    for vulnerability in vex["vulnerabilities"]:
        status = vulnerability["product_status"]
        acted = {pid for r in vulnerability.get("remediations", []) for pid in r["product_ids"]}
        assert set(status.get("known_affected", [])) <= acted
        impact = {
            pid
            for t in vulnerability.get("threats", [])
            if t["category"] == "impact"
            for pid in t["product_ids"]
        }
        assert set(status.get("known_not_affected", [])) <= impact
        assert "cve" in vulnerability or vulnerability["ids"]


def test_csaf_affected_product_without_fix_gets_none_available() -> None:
    unfixed = dataclasses.replace(vulnerability_two().products[0], fixed=None)
    content = make_content(vulnerabilities=(vulnerability_two(products=(unfixed,)),))
    (remediation,) = compose_csaf(content)["vulnerabilities"][0]["remediations"]
    assert remediation["category"] == "none_available"


def test_csaf_cve_only_when_an_alias_is_a_cve() -> None:
    first, second = compose_csaf(make_content())["vulnerabilities"]
    assert first["cve"] == "CVE-2025-1234"
    assert "cve" not in second
    assert {"system_name": "Clearinghouse", "text": "CH-2025-00002"} in second["ids"]
    assert "GHSA-wxyz-wxyz-wxyz" in [entry["text"] for entry in second["ids"]]


def test_csaf_scores_are_computed_from_the_vector() -> None:
    first, second = compose_csaf(make_content())["vulnerabilities"]
    cvss = first["scores"][0]["cvss_v3"]
    assert (cvss["vectorString"], cvss["baseScore"], cvss["baseSeverity"]) == (
        "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
        9.8,
        "CRITICAL",
    )
    assert second["scores"][0]["cvss_v3"]["baseScore"] == 7.5
    assert first["cwe"] == {"id": "CWE-787", "name": "Out-of-bounds Write"}


def test_csaf_exploited_vulnerability_has_an_exploit_status_threat() -> None:
    first, second = compose_csaf(make_content())["vulnerabilities"]
    assert "exploit_status" in [t["category"] for t in first["threats"]]
    assert "exploit_status" not in [t["category"] for t in second.get("threats", [])]


def test_csaf_document_metadata() -> None:
    document = compose_csaf(make_content(), generator_version="1.2.3")["document"]
    tracking = document["tracking"]
    assert tracking["version"] == "2"
    assert [r["number"] for r in tracking["revision_history"]] == ["1", "2"]
    assert tracking["current_release_date"] == "2025-03-04T12:00:00Z"
    assert tracking["generator"]["engine"] == {"name": "Clearinghouse", "version": "1.2.3"}
    assert document["publisher"]["category"] == "coordinator"
    assert "issuing_authority" not in document["publisher"]
    self_urls = [r["url"] for r in document["references"] if r["category"] == "self"]
    assert "https://clearinghouse.example/.well-known/csaf/white/2025/case-2025-0042.json" in (
        self_urls
    )
    assert [n["category"] for n in document["notes"]] == ["summary", "legal_disclaimer"]


def test_product_ids_are_defined_numbered_and_shared_across_vulnerabilities() -> None:
    doc = compose_csaf(make_content())
    used = {
        pid for v in doc["vulnerabilities"] for ids in v["product_status"].values() for pid in ids
    }
    assert used == set(_leaves(doc))
    assert sorted(_leaves(doc)) == [f"CSAFPID-{n:04d}" for n in range(1, len(used) + 1)]
    same_product = vulnerability_two(products=vulnerability_one().products[:1])
    shared = compose_csaf(make_content(vulnerabilities=(vulnerability_one(), same_product)))
    first, second = (v["product_status"] for v in shared["vulnerabilities"])
    assert first["known_affected"] == second["known_affected"]
    assert first["fixed"] == second["fixed"]


@pytest.mark.parametrize(
    ("tlp", "label", "folder", "text"),
    [
        ("CLEAR", "WHITE", "white", "TLP:CLEAR"),
        ("GREEN", "GREEN", "green", None),
        ("AMBER", "AMBER", "amber", None),
        ("AMBER+STRICT", "RED", "red", "TLP:AMBER+STRICT"),
        ("RED", "RED", "red", None),
    ],
)
def test_tlp_2_labels_map_to_csaf_2_labels_never_looser(
    tlp: str, label: str, folder: str, text: str | None
) -> None:
    content = make_content(tlp=tlp)
    doc = compose_csaf(content)
    _check_csaf(doc)
    distribution = doc["document"]["distribution"]
    assert distribution["tlp"]["label"] == label == csaf_tlp_label(tlp)
    assert f"/.well-known/csaf/{folder}/2025/" in csaf_url(content)
    if text is None:
        assert "text" not in distribution
    else:
        assert distribution["text"].startswith(text)


def test_unknown_tlp_label_is_refused() -> None:
    with pytest.raises(InputError):
        compose_csaf(make_content(tlp="PURPLE"))


@pytest.mark.parametrize(
    ("tracking_id", "filename"),
    [
        ("CASE-2025-0042", "case-2025-0042.json"),
        ("RHBA-2019:0024", "rhba-2019_0024.json"),
        ("Example Company - 2019-YH3234", "example_company_-_2019-yh3234.json"),
        ("a+b/c.d", "a+b_c_d.json"),
    ],
)
def test_csaf_filename_follows_section_5_1(tracking_id: str, filename: str) -> None:
    assert csaf_filename(tracking_id) == filename


def test_vex_is_none_while_everything_is_under_investigation() -> None:
    content = make_content(
        vulnerabilities=(vulnerability_two(products=(LIBRLE_INVESTIGATING,)),),
    )
    assert compose_csaf_vex(content) is None
    doc = compose_csaf(content)  # the advisory is still composed
    _check_csaf(doc)
    assert list(doc["vulnerabilities"][0]["product_status"]) == ["under_investigation"]


def test_vex_has_its_own_tracking_id_and_self_url() -> None:
    vex = compose_csaf_vex(make_content())
    assert vex is not None
    assert vex["document"]["tracking"]["id"] == "CASE-2025-0042-VEX"
    urls = [r["url"] for r in vex["document"]["references"]]
    assert "https://clearinghouse.example/.well-known/csaf/white/2025/case-2025-0042-vex.json" in (
        urls
    )


def test_repeated_cve_is_used_once_per_document() -> None:
    content = make_content(
        vulnerabilities=(vulnerability_one(), vulnerability_two(aliases=("CVE-2025-1234",)))
    )
    doc = compose_csaf(content)
    assert [v.get("cve") for v in doc["vulnerabilities"]] == ["CVE-2025-1234", None]
    assert "CVE-2025-1234" in [i["text"] for i in doc["vulnerabilities"][1]["ids"]]


def test_invalid_cvss_vector_is_an_input_error() -> None:
    content = make_content(vulnerabilities=(vulnerability_one(cvss_v3="CVSS:3.1/AV:Q"),))
    with pytest.raises(InputError):
        compose_csaf(content)


def test_vulnerability_without_products_is_refused_by_csaf() -> None:
    content = make_content(vulnerabilities=(vulnerability_one(products=()),))
    with pytest.raises(InputError):
        compose_csaf(content)


def test_csaf_passes_the_mandatory_tests_when_available() -> None:
    validation = pytest.importorskip("clearinghouse.formats.csaf_validation")
    validate_csaf = getattr(validation, "validate_csaf", None)
    if validate_csaf is None:
        pytest.skip("clearinghouse.formats.csaf_validation.validate_csaf is not written yet")
    content = make_content()
    vex = compose_csaf_vex(content)
    assert vex is not None
    assert validate_csaf(compose_csaf(content)) == []
    assert validate_csaf(vex) == []


# --- OSV -------------------------------------------------------------------------------------


def test_osv_lists_only_affected_packages_with_ecosystem_and_purl() -> None:
    first, second = compose_osv(make_content())
    # librle has no OSV ecosystem and rle-decoder is not affected: nothing to list.
    assert "affected" not in first
    assert second["affected"] == [
        {
            "package": {
                "ecosystem": "PyPI",
                "name": "rle-decoder",
                "purl": "pkg:pypi/rle-decoder",
            },
            "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "2.0.1"}]}],
        }
    ]


def test_osv_record_fields() -> None:
    first, second = compose_osv(make_content())
    assert first["id"] == "x_CH-2025-00001"
    assert first["aliases"] == ["CVE-2025-1234", "GHSA-abcd-efgh-ijkl"]
    assert (first["published"], first["modified"]) == (
        "2025-03-01T12:00:00Z",
        "2025-03-04T12:00:00Z",
    )
    assert first["severity"] == [
        {"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"},
        {
            "type": "CVSS_V4",
            "score": "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N",
        },
    ]
    assert first["database_specific"] == {
        "id": "CH-2025-00001",
        "cwe_ids": ["CWE-787"],
        "exploited": True,
        "case": "CASE-2025-0042",
    }
    assert second["database_specific"]["exploited"] is False
    assert first["credits"] == [
        {"name": "Finder Labs", "type": "FINDER", "contact": ["security@finder.example"]},
        {"name": "Second Sight", "type": "FINDER"},
    ]
    assert first["references"][0] == {
        "type": "ADVISORY",
        "url": "https://clearinghouse.example/advisories/CASE-2025-0042",
    }
    assert {"type": "WEB", "url": "https://github.com/acme/librle/commit/abc123"} in (
        first["references"]
    )


def test_osv_last_affected_range_and_index_selection() -> None:
    product = dataclasses.replace(
        vulnerability_two().products[0], introduced="1.0", fixed=None, last_affected="1.9"
    )
    content = make_content(
        vulnerabilities=(vulnerability_one(), vulnerability_two(products=(product,)))
    )
    (record,) = compose_osv(content, vuln_index=1)
    _check_osv(record)
    assert record["affected"][0]["ranges"][0]["events"] == [
        {"introduced": "1.0"},
        {"last_affected": "1.9"},
    ]
    with pytest.raises(InputError):
        compose_osv(content, vuln_index=2)


# --- CVE -------------------------------------------------------------------------------------


def test_cve_record_fields() -> None:
    record, second = _cves(make_content())
    assert record["dataType"] == "CVE_RECORD"
    assert record["cveMetadata"]["state"] == "PUBLISHED"
    cna = record["containers"]["cna"]
    assert cna["providerMetadata"]["orgId"] == ORG_ID
    assert cna["descriptions"][0]["lang"] == "en"
    assert cna["references"][0]["url"] == "https://clearinghouse.example/advisories/CASE-2025-0042"
    librle, decoder = cna["affected"]
    assert librle["versions"] == [
        {"version": "1.0.0", "status": "affected", "versionType": "custom", "lessThan": "1.4.2"}
    ]
    assert librle["defaultStatus"] == "unaffected"
    assert decoder == {
        "vendor": "PyCo",
        "product": "rle-decoder",
        "collectionURL": "https://pypi.org",
        "packageName": "rle-decoder",
        "defaultStatus": "unaffected",
    }
    assert cna["problemTypes"][0]["descriptions"][0]["cweId"] == "CWE-787"
    v3 = next(m["cvssV3_1"] for m in cna["metrics"] if "cvssV3_1" in m)
    assert (v3["baseScore"], v3["baseSeverity"]) == (9.8, "CRITICAL")
    v4 = next(m["cvssV4_0"] for m in cna["metrics"] if "cvssV4_0" in m)
    assert (v4["baseScore"], v4["baseSeverity"]) == (9.3, "CRITICAL")
    assert [c["value"] for c in cna["credits"]] == ["Finder Labs", "Second Sight"]
    assert {c["type"] for c in cna["credits"]} == {"finder"}
    assert "exploits" in cna
    assert "exploits" not in second["containers"]["cna"]
    investigating = second["containers"]["cna"]["affected"][1]
    assert investigating["defaultStatus"] == "unknown"
    assert second["containers"]["cna"]["affected"][0]["versions"][0]["versionType"] == "python"


def test_cve_cna_container_is_the_record_s_container() -> None:
    content = make_content()
    cna = compose_cve_cna_container(
        content, 0, assigner_org_id=ORG_ID, assigner_short_name="clearing"
    )
    assert cna == _cves(content)[0]["containers"]["cna"]


@pytest.mark.parametrize(
    "arguments",
    [
        {"cve_id": "CVE-2025-9999", "assigner_org_id": ORG_ID},  # differs from the alias
        {"cve_id": "CVE-25-1", "assigner_org_id": ORG_ID},
        {"cve_id": "CVE-2025-1234", "assigner_org_id": "not-a-uuid"},
    ],
)
def test_cve_refuses_inconsistent_arguments(arguments: dict[str, str]) -> None:
    with pytest.raises(InputError):
        compose_cve(make_content(), 0, assigner_short_name="clearing", **arguments)


def test_cve_bounds_long_text() -> None:
    content = make_content(
        vulnerabilities=(vulnerability_one(title="T" * 1000, description="D" * 10_000),)
    )
    record = _cves(content)[0]
    _check_cve(record)
    cna = record["containers"]["cna"]
    assert len(cna["title"]) == TITLE_MAX
    assert len(cna["descriptions"][0]["value"]) == TEXT_MAX


# --- arbitrary text ----------------------------------------------------------------------------

_text = st.text(max_size=300)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    title=_text,
    summary=_text,
    vuln_title=_text,
    description=st.one_of(_text, st.text(min_size=4000, max_size=5000)),
    statement=_text,
    credit=_text,
)
def test_arbitrary_text_still_yields_valid_documents(
    title: str, summary: str, vuln_title: str, description: str, statement: str, credit: str
) -> None:
    not_affected = dataclasses.replace(DECODER_NOT_AFFECTED, statement=statement)
    first = vulnerability_one(
        title=vuln_title,
        description=description,
        products=(vulnerability_one().products[0], not_affected),
        credits=(dataclasses.replace(vulnerability_one().credits[0], name=credit),),
    )
    content = make_content(
        title=title, summary=summary, vulnerabilities=(first, vulnerability_two())
    )
    _check_csaf(compose_csaf(content))
    vex = compose_csaf_vex(content)
    assert vex is not None
    _check_csaf(vex)
    for record in compose_osv(content):
        _check_osv(record)
    for record in _cves(content):
        _check_cve(record)


def test_naive_times_are_refused_rather_than_guessed() -> None:
    naive = make_content().initial_release.replace(tzinfo=None)
    with pytest.raises(InputError):
        compose_csaf(make_content(initial_release=naive))
    with pytest.raises(InputError):
        compose_osv(make_content(current_release=naive))
