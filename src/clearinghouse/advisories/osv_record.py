"""Compose OSV records (schema 1.7) from one :class:`AdvisoryContent`: one record per vulnerability.

Each record carries the vulnerability's aliases, summary and details, the CVSS vectors, the
finders as ``FINDER`` credits, the advisory page as an ``ADVISORY`` reference and one ``affected``
entry per package (a product with an OSV ecosystem and a purl) whose status is affected or fixed.
Ranges are of type ``ECOSYSTEM``, valid for every ecosystem, so no version semantics are guessed.

Decisions:

* ``id``: OSV ids must start with a registered home-database prefix or ``x_`` (private
  databases); ``CH`` is not registered, so the Clearinghouse id is written ``x_CH-…``. The bare
  id is kept in ``database_specific.id``. Registering a prefix with OSV would lift this.
* ``not_affected`` products are left out, and so are ``under_investigation`` ones: an OSV
  ``affected`` entry asserts that the versions are vulnerable, and scanners would raise alarms on
  a product nobody has confirmed.
* A range with both ``fixed`` and ``last_affected`` keeps ``fixed`` (the schema forbids both).

It does not validate, write files or read the clock: ``modified`` is the content's
``current_release`` and ``published`` its ``initial_release``.
"""

from __future__ import annotations

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
    cvss_v3,
    cvss_v4,
    rfc3339_utc,
)
from clearinghouse.core.errors import InputError
from clearinghouse.formats.osv import normalize_alias

OSV_SCHEMA_VERSION = "1.7.0"
PRIVATE_PREFIX = "x_"
_LISTED = (ProductStatus.AFFECTED, ProductStatus.FIXED)


def osv_id(vulnerability_id: str) -> str:
    """The OSV id of a Clearinghouse id: ``CH-2025-00001`` -> ``x_CH-2025-00001``."""
    if vulnerability_id.startswith(PRIVATE_PREFIX):
        return vulnerability_id
    return PRIVATE_PREFIX + vulnerability_id


def compose_osv(content: AdvisoryContent, vuln_index: int | None = None) -> list[dict[str, Any]]:
    """One OSV record per vulnerability, or only the ``vuln_index``-th one."""
    vulnerabilities = content.vulnerabilities
    if vuln_index is not None:
        if not 0 <= vuln_index < len(vulnerabilities):
            raise InputError(
                f"vulnerability index {vuln_index} is out of range "
                f"({len(vulnerabilities)} vulnerabilities in {content.tracking_id})"
            )
        vulnerabilities = (vulnerabilities[vuln_index],)
    return [_record(content, vulnerability) for vulnerability in vulnerabilities]


def _record(content: AdvisoryContent, vulnerability: AdvisoryVulnerability) -> dict[str, Any]:
    record_id = osv_id(vulnerability.id)
    aliases = list(
        dict.fromkeys(
            alias
            for alias in (normalize_alias(a) for a in vulnerability.aliases)
            if alias and alias not in (record_id, vulnerability.id)
        )
    )
    record: dict[str, Any] = {
        "schema_version": OSV_SCHEMA_VERSION,
        "id": record_id,
        "modified": rfc3339_utc(content.current_release),
        "published": rfc3339_utc(content.initial_release),
        "aliases": aliases,
    }
    summary = " ".join(vulnerability.title.split())
    if summary:
        record["summary"] = summary
    if vulnerability.description.strip():
        record["details"] = vulnerability.description
    severity: list[dict[str, str]] = []
    if vulnerability.cvss_v3:
        severity.append(
            {"type": "CVSS_V3", "score": cvss_v3(vulnerability.cvss_v3)["vectorString"]}
        )
    if vulnerability.cvss_v4:
        severity.append(
            {"type": "CVSS_V4", "score": cvss_v4(vulnerability.cvss_v4)["vectorString"]}
        )
    if severity:
        record["severity"] = severity
    affected = [
        entry
        for entry in (_affected(product) for product in vulnerability.products)
        if entry is not None
    ]
    if affected:
        record["affected"] = affected
    references = [{"type": "ADVISORY", "url": advisory_page_url(content)}]
    references.extend(
        {"type": "WEB", "url": url}
        for url in dict.fromkeys((*vulnerability.references, *content.references))
    )
    record["references"] = references
    credits = [
        _credit(credit.name.strip(), credit.contact)
        for credit in vulnerability.credits
        if credit.name.strip()
    ]
    if credits:
        record["credits"] = credits
    record["database_specific"] = {
        "id": vulnerability.id,
        "cwe_ids": [f"CWE-{vulnerability.cwe}"] if vulnerability.cwe is not None else [],
        "exploited": vulnerability.exploited,
        "case": content.tracking_id,
    }
    return record


def _credit(name: str, contact: str) -> dict[str, Any]:
    credit: dict[str, Any] = {"name": name, "type": "FINDER"}
    if contact.strip():
        credit["contact"] = [contact]
    return credit


def osv_package_name(purl: PackageURL) -> str:
    """The package name OSV uses in the purl's ecosystem (Maven ``group:artifact``, npm scopes)."""
    name = str(purl.name)
    namespace = str(purl.namespace) if purl.namespace else ""
    if not namespace:
        return name
    if purl.type == "maven":
        return f"{namespace}:{name}"
    if purl.type == "npm" and not namespace.startswith("@"):
        return f"@{namespace}/{name}"
    return f"{namespace}/{name}"


def _affected(product: AffectedProduct) -> dict[str, Any] | None:
    if product.status not in _LISTED or not product.ecosystem or not product.purl:
        return None
    if product.status is ProductStatus.FIXED and not (
        product.introduced or product.fixed or product.last_affected
    ):
        return None  # fixed, with no version that ever was vulnerable to name
    try:
        purl = PackageURL.from_string(product.purl)
    except ValueError:
        raise InputError(f"{product.product}: {product.purl[:80]!r} is not a purl") from None
    fields = purl.to_dict()
    fields["version"] = None  # the package, not one release
    events: list[dict[str, str]] = [{"introduced": product.introduced or "0"}]
    if product.fixed:
        events.append({"fixed": product.fixed})
    elif product.last_affected:
        events.append({"last_affected": product.last_affected})
    return {
        "package": {
            "ecosystem": product.ecosystem,
            "name": osv_package_name(purl),
            "purl": str(PackageURL(**fields).to_string()),
        },
        "ranges": [{"type": "ECOSYSTEM", "events": events}],
    }
