"""Compose a CVE JSON 5 record (format 5.1.1, the schema cvelib ships) for one vulnerability.

``compose_cve_cna_container`` builds the CNA container a CNA posts to CVE Services;
``compose_cve`` wraps it into a whole ``PUBLISHED`` record. The container carries the title,
an English description, every product with its versions and a ``defaultStatus``, the CWE as a
problem type, CVSS v3.x and v4.0 metrics (scores computed with the ``cvss`` library), the finders
as ``finder`` credits, remediations as ``solutions``, a known exploit as ``exploits`` and the
references, the advisory page always first (the schema requires one).

Decisions:

* Lengths are bounded as the schema demands: a title longer than 256 characters and a
  description longer than 4096 are cut with an ellipsis (the full text stays in the advisory the
  first reference leads to); empty text falls back to the title or the vulnerability id.
* 5.1.1 has no ``packageURL``; a package is named with ``collectionURL`` and ``packageName`` when
  its OSV ecosystem has a well-known registry, which 5.1.1 defines.
* ``versionType`` is named only for ecosystems whose ordering is certain (``python``,
  ``maven``, ``semver``), otherwise ``custom``.
* ``cveMetadata`` dates are left to CVE Services, which owns them.

It does not talk to CVE Services, validate, or read the clock.
"""

from __future__ import annotations

import re
from typing import Any

from packageurl import PackageURL

from clearinghouse.advisories.content import (
    AdvisoryContent,
    AdvisoryVulnerability,
    AffectedProduct,
    ProductStatus,
)
from clearinghouse.advisories.csaf_document import (
    advisory_page_url,
    cve_alias,
    cvss_v3,
    cvss_v4,
    cwe_name,
    rfc3339_utc,
    text_or,
)
from clearinghouse.advisories.osv_record import osv_package_name
from clearinghouse.core.errors import InputError

DATA_VERSION = "5.1.1"
TITLE_MAX = 256
TEXT_MAX = 4096
_VENDOR_MAX = 512
_PRODUCT_MAX = 2048
_VERSION_MAX = 1024
_REFERENCES_MAX = 512
_CVE_ID = re.compile(r"^CVE-[0-9]{4}-[0-9]{4,19}$")
# The schema's uuidType: a version 4 UUID.
_UUID4 = re.compile(
    r"^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-4[0-9A-Fa-f]{3}-[89ABab][0-9A-Fa-f]{3}-[0-9A-Fa-f]{12}$"
)
_COLLECTIONS = {
    "PyPI": "https://pypi.org",
    "npm": "https://www.npmjs.com",
    "crates.io": "https://crates.io",
    "Go": "https://pkg.go.dev",
    "Maven": "https://repo.maven.apache.org/maven2",
    "RubyGems": "https://rubygems.org",
    "NuGet": "https://www.nuget.org/packages",
    "Packagist": "https://packagist.org",
    "Hex": "https://hex.pm",
    "Pub": "https://pub.dev",
}
_VERSION_TYPES = {
    "PyPI": "python",
    "Maven": "maven",
    "npm": "semver",
    "crates.io": "semver",
    "Go": "semver",
}


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _vulnerability(content: AdvisoryContent, vuln_index: int) -> AdvisoryVulnerability:
    if not 0 <= vuln_index < len(content.vulnerabilities):
        raise InputError(
            f"vulnerability index {vuln_index} is out of range "
            f"({len(content.vulnerabilities)} vulnerabilities in {content.tracking_id})"
        )
    return content.vulnerabilities[vuln_index]


def _check_assigner(assigner_org_id: str, assigner_short_name: str) -> None:
    if not _UUID4.match(assigner_org_id):
        raise InputError(f"assigner_org_id: {assigner_org_id[:60]!r} is not a version 4 UUID")
    if not 2 <= len(assigner_short_name) <= 32:
        raise InputError("assigner_short_name: 2 to 32 characters are needed")


def compose_cve_cna_container(
    content: AdvisoryContent,
    vuln_index: int,
    *,
    assigner_org_id: str,
    assigner_short_name: str,
) -> dict[str, Any]:
    """The ``containers.cna`` object for the ``vuln_index``-th vulnerability."""
    _check_assigner(assigner_org_id, assigner_short_name)
    vulnerability = _vulnerability(content, vuln_index)
    if not vulnerability.products:
        raise InputError(f"{vulnerability.id}: a CVE record needs at least one product")
    title = _cut(" ".join(vulnerability.title.split()), TITLE_MAX)
    description = text_or(vulnerability.description, text_or(title, vulnerability.id))
    cna: dict[str, Any] = {
        "providerMetadata": {
            "orgId": assigner_org_id,
            "shortName": assigner_short_name,
            "dateUpdated": rfc3339_utc(content.current_release),
        },
        "datePublic": rfc3339_utc(content.initial_release),
    }
    if title:
        cna["title"] = title
    cna["descriptions"] = [{"lang": "en", "value": _cut(description, TEXT_MAX)}]
    cna["affected"] = [_affected(product) for product in vulnerability.products]
    if vulnerability.cwe is not None:
        name = cwe_name(vulnerability.cwe)
        cwe_id = f"CWE-{vulnerability.cwe}"
        cna["problemTypes"] = [
            {
                "descriptions": [
                    {
                        "lang": "en",
                        "cweId": cwe_id,
                        "description": _cut(f"{cwe_id}: {name}" if name else cwe_id, TEXT_MAX),
                        "type": "CWE",
                    }
                ]
            }
        ]
    metrics = _metrics(vulnerability)
    if metrics:
        cna["metrics"] = metrics
    solutions = list(
        dict.fromkeys(
            _cut(product.remediation, TEXT_MAX)
            for product in vulnerability.products
            if product.remediation and product.remediation.strip()
        )
    )
    if solutions:
        cna["solutions"] = [{"lang": "en", "value": text} for text in solutions]
    if vulnerability.exploited:
        cna["exploits"] = [
            {
                "lang": "en",
                "value": "Exploitation is known: exploited in the wild or a working exploit "
                "was reproduced.",
            }
        ]
    credits = list(
        dict.fromkeys(
            _cut(credit.name.strip(), TEXT_MAX)
            for credit in vulnerability.credits
            if credit.name.strip()
        )
    )
    if credits:
        cna["credits"] = [{"lang": "en", "value": name, "type": "finder"} for name in credits]
    cna["references"] = _references(content, vulnerability)
    return cna


def compose_cve(
    content: AdvisoryContent,
    vuln_index: int,
    *,
    cve_id: str,
    assigner_org_id: str,
    assigner_short_name: str,
) -> dict[str, Any]:
    """A whole ``PUBLISHED`` CVE record for the ``vuln_index``-th vulnerability."""
    if not _CVE_ID.match(cve_id):
        raise InputError(f"cve_id: {cve_id[:40]!r} is not a CVE id (CVE-YYYY-NNNN…)")
    alias = cve_alias(_vulnerability(content, vuln_index))
    if alias is not None and alias != cve_id:
        raise InputError(f"cve_id: {cve_id} differs from the vulnerability's alias {alias}")
    cna = compose_cve_cna_container(
        content,
        vuln_index,
        assigner_org_id=assigner_org_id,
        assigner_short_name=assigner_short_name,
    )
    return {
        "dataType": "CVE_RECORD",
        "dataVersion": DATA_VERSION,
        "cveMetadata": {
            "cveId": cve_id,
            "assignerOrgId": assigner_org_id,
            "assignerShortName": assigner_short_name,
            "state": "PUBLISHED",
        },
        "containers": {"cna": cna},
    }


def _version(text: str) -> str:
    if len(text) > _VERSION_MAX:
        raise InputError(f"version {text[:40]!r}… is longer than {_VERSION_MAX} characters")
    return text


def _affected(product: AffectedProduct) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "vendor": _cut(text_or(" ".join(product.vendor.split()), "N/A"), _VENDOR_MAX),
        "product": _cut(text_or(" ".join(product.product.split()), "N/A"), _PRODUCT_MAX),
    }
    collection = _COLLECTIONS.get(product.ecosystem or "")
    if collection and product.purl:
        try:
            entry["collectionURL"] = collection
            entry["packageName"] = _cut(
                osv_package_name(PackageURL.from_string(product.purl)), _PRODUCT_MAX
            )
        except ValueError:
            entry.pop("collectionURL")
    version_type = _VERSION_TYPES.get(product.ecosystem or "", "custom")
    if product.status is ProductStatus.NOT_AFFECTED:
        entry["defaultStatus"] = "unaffected"
    elif product.status is ProductStatus.UNDER_INVESTIGATION:
        entry["defaultStatus"] = "unknown"
    elif product.fixed or product.last_affected or product.introduced:
        start = _version(text_or(product.introduced, "0"))
        version: dict[str, str] = {"version": start, "status": "affected"}
        version["versionType"] = version_type
        if product.fixed:
            version["lessThan"] = _version(product.fixed)
        elif product.last_affected:
            version["lessThanOrEqual"] = _version(product.last_affected)
        else:
            version["lessThan"] = "*"
        entry["versions"] = [version]
        entry["defaultStatus"] = "unaffected"
    else:
        # Affected with no versions named means every version; fixed with none, no version.
        fixed = product.status is ProductStatus.FIXED
        entry["defaultStatus"] = "unaffected" if fixed else "affected"
    return entry


def _metrics(vulnerability: AdvisoryVulnerability) -> list[dict[str, Any]]:
    metrics: list[dict[str, Any]] = []
    scenario = [{"lang": "en", "value": "GENERAL"}]
    if vulnerability.cvss_v4:
        metrics.append(
            {"format": "CVSS", "scenarios": scenario, "cvssV4_0": cvss_v4(vulnerability.cvss_v4)}
        )
    if vulnerability.cvss_v3:
        score = cvss_v3(vulnerability.cvss_v3)
        key = "cvssV3_1" if score["version"] == "3.1" else "cvssV3_0"
        metrics.append({"format": "CVSS", "scenarios": scenario, key: score})
    return metrics


def _references(
    content: AdvisoryContent, vulnerability: AdvisoryVulnerability
) -> list[dict[str, Any]]:
    page = advisory_page_url(content)
    urls = dict.fromkeys((page, *vulnerability.references, *content.references))
    references: list[dict[str, Any]] = []
    for url in list(urls)[:_REFERENCES_MAX]:
        reference: dict[str, Any] = {"url": url}
        if url == page:
            reference["name"] = _cut(f"Advisory {content.tracking_id}", 512)
        references.append(reference)
    return references
