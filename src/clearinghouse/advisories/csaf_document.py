"""Compose CSAF 2.0 documents (security advisory and VEX) from one :class:`AdvisoryContent`.

``compose_csaf`` builds the ``csaf_security_advisory`` document, ``compose_csaf_vex`` the
``csaf_vex`` one (or None when no product has a known status), ``csaf_filename`` names the file as
CSAF 2.0 §5.1 requires. The small pieces the other composers share (RFC 3339 UTC times, CVSS
scoring with the ``cvss`` library, CWE names from ``cwe2``, the advisory page URL) live here too,
so that every document of one advisory says the same thing.

Decisions, each forced by the CSAF 2.0 schema or the standard:

* TLP. The CSAF 2.0 schema admits only the TLP 1.0 labels WHITE, GREEN, AMBER, RED. TLP 2.0
  ``CLEAR`` is written as ``WHITE`` (the same meaning: no restriction). ``AMBER+STRICT`` has no
  TLP 1.0 equivalent; it is written as ``RED`` because a format conversion must never loosen a
  sharing restriction, and ``distribution.text`` states the real TLP 2.0 label. The folder of the
  ``self`` reference (§7.1.11 only mandates the year folder) is the lower-cased CSAF label, as
  deployed providers lay it out: ``white``, ``green``, ``amber``, ``red``.
* Product tree: vendor → product_name → leaves. A range of affected versions is a
  ``product_version_range`` named with a ``vers`` string (``vers:pypi/>=1.0.0|<1.4.2``; the scheme
  is the purl type, ``generic`` without a purl); a fixed version is a ``product_version`` leaf
  carrying ``purl@version``. Product ids (``CSAFPID-0001`` …) are numbered in order of first
  appearance, so the same content always yields the same ids.
* ``known_not_affected`` products get a ``threats`` entry of category ``impact`` (the vendor's
  statement, or a plain "not affected" sentence); no VEX justification flag is guessed.
* The VEX document's tracking id is the advisory's with ``-VEX`` appended: a CSAF provider stores
  one file per tracking id, and both documents are published.
* A CWE that ``cwe2`` does not know is left out of ``cwe`` (the name is mandatory and test 6.1.11
  requires the catalogue's name); CVSS v4 vectors are not expressible in CSAF 2.0 and are left out.

It does not validate, sign, write files or read the clock; ``tracking.generator.date`` is left out
for that reason. It does not run the CSAF mandatory tests (``clearinghouse.formats`` does).
"""

from __future__ import annotations

import datetime as dt
import functools
import re
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from cvss import CVSS3, CVSS4
from cvss.exceptions import CVSSError
from cwe2.database import Database, InvalidCWEError
from packageurl import PackageURL

from clearinghouse.advisories.content import (
    AdvisoryContent,
    AdvisoryVulnerability,
    AffectedProduct,
    ProductStatus,
)
from clearinghouse.core.errors import InputError
from clearinghouse.core.tlp import Tlp
from clearinghouse.formats.osv import normalize_alias

GENERATOR_NAME = "Clearinghouse"
TLP_URL = "https://www.first.org/tlp/"
LEGAL_DISCLAIMER = (
    "This advisory is provided as is, without warranty of any kind, to help recipients assess and "
    "remediate the vulnerabilities it describes. The information reflects what the coordinator "
    "knew at the time of publication and may change; check the current revision before acting."
)

_CVE = re.compile(r"^CVE-[0-9]{4}-[0-9]{4,}$")
_NOT_FILENAME = re.compile(r"[^+\-a-z0-9]")
# TLP 2.0 label -> (CSAF 2.0 label, sentence for distribution.text when the two differ).
_CSAF_TLP: dict[Tlp, tuple[str, str | None]] = {
    Tlp.CLEAR: (
        "WHITE",
        "TLP:CLEAR (TLP 2.0). CSAF 2.0 knows only TLP 1.0 labels; WHITE means the same.",
    ),
    Tlp.GREEN: ("GREEN", None),
    Tlp.AMBER: ("AMBER", None),
    Tlp.AMBER_STRICT: (
        "RED",
        "TLP:AMBER+STRICT (TLP 2.0): share only within your own organization. CSAF 2.0 knows only "
        "TLP 1.0 labels; the label is RED so that no reader treats it as less restricted.",
    ),
    Tlp.RED: ("RED", None),
}
# Id schemes worth a readable ``system_name``; others are named by their prefix.
_ID_SYSTEMS = {
    "GHSA": "GitHub Security Advisories",
    "PYSEC": "PyPI Advisory Database",
    "GO": "Go Vulnerability Database",
    "RUSTSEC": "RustSec Advisory Database",
    "CVE": "CVE",
    "OSV": "OSV",
}
_KNOWN = (ProductStatus.AFFECTED, ProductStatus.FIXED, ProductStatus.NOT_AFFECTED)


# --- shared by the other composers -------------------------------------------------------------


def rfc3339_utc(moment: dt.datetime) -> str:
    """``2025-03-01T12:00:00Z``; fractions only when present, so equal inputs give equal text."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise InputError(f"a timezone-aware time is needed, got the naive {moment.isoformat()}")
    utc = moment.astimezone(dt.UTC)
    text = utc.strftime("%Y-%m-%dT%H:%M:%S")
    if utc.microsecond:
        text += f".{utc.microsecond:06d}"
    return text + "Z"


def cvss_v3(vector: str) -> dict[str, Any]:
    """The FIRST CVSS v3.x JSON object (base metrics, score, severity) of a ``CVSS:3.x`` vector.

    The vector is rewritten in its canonical metric order, which CSAF test 6.1.10 and the CVE
    schema both read.
    """
    if not vector.startswith(("CVSS:3.0/", "CVSS:3.1/")):
        raise InputError(f"cvss_v3: {vector[:80]!r} is not a CVSS:3.0 or CVSS:3.1 vector")
    try:
        score = CVSS3(vector)
        data: dict[str, Any] = score.as_json(minimal=True)
        data["vectorString"] = score.clean_vector()
    except CVSSError as error:
        raise InputError(f"cvss_v3: {vector[:80]!r} is not a valid vector ({error})") from None
    return data


def cvss_v4(vector: str) -> dict[str, Any]:
    """Version, canonical vector, base score and upper-case severity of a ``CVSS:4.0`` vector."""
    if not vector.startswith("CVSS:4.0/"):
        raise InputError(f"cvss_v4: {vector[:80]!r} is not a CVSS:4.0 vector")
    try:
        score = CVSS4(vector)
        return {
            "version": "4.0",
            "vectorString": score.clean_vector(),
            "baseScore": float(score.base_score),
            "baseSeverity": str(score.severity).upper(),
        }
    except CVSSError as error:
        raise InputError(f"cvss_v4: {vector[:80]!r} is not a valid vector ({error})") from None


# cwe2's Database shares open CSV files between instances and re-reads them on every ``get``
# (about 0.4 s); names are memoized and lookups serialized so that threads cannot interleave seeks.
_CWE_LOCK = threading.Lock()


@functools.cache
def cwe_name(number: int) -> str | None:
    """The catalogue name of CWE-``number`` (787 -> ``Out-of-bounds Write``); None if unknown."""
    with _CWE_LOCK:
        try:
            weakness = Database().get(number)
        except (InvalidCWEError, ValueError, KeyError):
            return None
    name = getattr(weakness, "name", None)
    return str(name) if name else None


def advisory_page_url(content: AdvisoryContent) -> str:
    """Where the human-readable advisory is published: ``{namespace}/advisories/{tracking_id}``."""
    return f"{content.publisher.namespace.rstrip('/')}/advisories/{quote(content.tracking_id)}"


def csaf_filename(tracking_id: str) -> str:
    """CSAF 2.0 §5.1: lower-case the tracking id, replace each char outside ``[+\\-a-z0-9]``."""
    return _NOT_FILENAME.sub("_", tracking_id.lower()) + ".json"


def csaf_tlp_label(tlp: str) -> str:
    """The CSAF 2.0 (TLP 1.0) label a TLP 2.0 label is written as; see the module docstring."""
    return _CSAF_TLP[Tlp.parse(tlp)][0]


def csaf_url(content: AdvisoryContent, *, vex: bool = False) -> str:
    """The ``self`` URL: ``{namespace}/.well-known/csaf/{tlp folder}/{year}/{filename}``."""
    tracking_id = vex_tracking_id(content.tracking_id) if vex else content.tracking_id
    folder = csaf_tlp_label(content.tlp).lower()
    year = content.initial_release.astimezone(dt.UTC).year
    namespace = content.publisher.namespace.rstrip("/")
    return f"{namespace}/.well-known/csaf/{folder}/{year}/{csaf_filename(tracking_id)}"


def vex_tracking_id(tracking_id: str) -> str:
    return f"{tracking_id}-VEX"


def cve_alias(vulnerability: AdvisoryVulnerability) -> str | None:
    """The first alias that is a well-formed CVE id, upper-cased."""
    for alias in vulnerability.aliases:
        normalized = normalize_alias(alias)
        if _CVE.match(normalized):
            return normalized
    return None


def text_or(value: str | None, fallback: str) -> str:
    """``value`` unless it is empty or only whitespace: the formats forbid empty text."""
    return value if value is not None and value.strip() else fallback


def purl_with_version(purl: str, version: str) -> str | None:
    """``pkg:pypi/x`` + ``1.4.2`` -> ``pkg:pypi/x@1.4.2`` (percent-encoded); None if not a purl."""
    try:
        parsed = PackageURL.from_string(purl)
    except ValueError:
        return None
    fields = parsed.to_dict()
    fields["version"] = version
    return str(PackageURL(**fields).to_string())


# --- the product tree ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Leaf:
    """One product tree leaf; equal leaves (across vulnerabilities) share one product id."""

    vendor: str
    product: str
    category: str  # "product_version" | "product_version_range"
    name: str
    full_name: str
    purl: str | None


@dataclass(frozen=True, slots=True)
class _Placed:
    """A leaf with its product status for one vulnerability and the entry it came from."""

    leaf: _Leaf
    status: str  # CSAF product_status key
    source: AffectedProduct


def _vers_part(version: str) -> str:
    # vers separates constraints with "|" and its comparators are "<>=!"; encode them in versions.
    return quote(version, safe="+-._~:")


def _range_leaf(product: AffectedProduct) -> _Leaf:
    scheme = _purl_type(product.purl) or "generic"
    constraints: list[str] = []
    words: list[str] = []
    if product.introduced and product.introduced != "0":
        constraints.append(">=" + _vers_part(product.introduced))
        words.append(f">={product.introduced}")
    if product.fixed:
        constraints.append("<" + _vers_part(product.fixed))
        words.append(f"<{product.fixed}")
    elif product.last_affected:
        constraints.append("<=" + _vers_part(product.last_affected))
        words.append(f"<={product.last_affected}")
    vers = f"vers:{scheme}/{'|'.join(constraints) or '*'}"
    span = " ".join(words) if words else "all versions"
    vendor, name = _names(product)
    return _Leaf(vendor, name, "product_version_range", vers, f"{vendor} {name} {span}", None)


def _version_leaf(product: AffectedProduct, version: str) -> _Leaf:
    vendor, name = _names(product)
    purl = purl_with_version(product.purl, version) if product.purl else None
    return _Leaf(vendor, name, "product_version", version, f"{vendor} {name} {version}", purl)


def _names(product: AffectedProduct) -> tuple[str, str]:
    vendor = " ".join(product.vendor.split()) or "Unknown vendor"
    name = " ".join(product.product.split()) or "Unknown product"
    return vendor, name


def _purl_type(purl: str | None) -> str | None:
    if not purl:
        return None
    try:
        return str(PackageURL.from_string(purl).type)
    except ValueError:
        return None


def _placements(vulnerability: AdvisoryVulnerability) -> list[_Placed]:
    """Each product entry as leaves with their CSAF status, in content order."""
    placed: list[_Placed] = []
    for product in vulnerability.products:
        status = product.status
        has_range = bool(product.introduced or product.fixed or product.last_affected)
        if status in (ProductStatus.AFFECTED, ProductStatus.FIXED):
            if status is ProductStatus.AFFECTED or has_range:
                placed.append(_Placed(_range_leaf(product), "known_affected", product))
            if product.fixed:
                leaf = _version_leaf(product, product.fixed)
                placed.append(_Placed(leaf, "fixed", product))
            elif status is ProductStatus.FIXED and not has_range:
                # Fixed with no version to name (a hosted service): the product as a whole.
                placed.append(_Placed(_range_leaf(product), "fixed", product))
        elif status is ProductStatus.NOT_AFFECTED:
            placed.append(_Placed(_range_leaf(product), "known_not_affected", product))
        else:
            placed.append(_Placed(_range_leaf(product), "under_investigation", product))
    return placed


@dataclass(frozen=True, slots=True)
class _Tree:
    ids: dict[_Leaf, str]
    branches: list[dict[str, Any]]


def _product_tree(placements: Iterable[_Placed]) -> _Tree:
    ids: dict[_Leaf, str] = {}
    # vendor -> product -> leaves, each level in order of first appearance (dicts keep order).
    layout: dict[str, dict[str, list[_Leaf]]] = {}
    for placed in placements:
        leaf = placed.leaf
        if leaf in ids:
            continue
        ids[leaf] = f"CSAFPID-{len(ids) + 1:04d}"
        layout.setdefault(leaf.vendor, {}).setdefault(leaf.product, []).append(leaf)
    branches = [
        {
            "category": "vendor",
            "name": vendor,
            "branches": [
                {
                    "category": "product_name",
                    "name": product,
                    "branches": [_leaf_branch(leaf, ids[leaf]) for leaf in leaves],
                }
                for product, leaves in products.items()
            ],
        }
        for vendor, products in layout.items()
    ]
    return _Tree(ids, branches)


def _leaf_branch(leaf: _Leaf, product_id: str) -> dict[str, Any]:
    full: dict[str, Any] = {"name": leaf.full_name, "product_id": product_id}
    if leaf.purl:
        full["product_identification_helper"] = {"purl": leaf.purl}
    return {"category": leaf.category, "name": leaf.name, "product": full}


# --- vulnerabilities -----------------------------------------------------------------------------


def _unique(values: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(values))


def _vulnerability(
    vulnerability: AdvisoryVulnerability,
    placements: list[_Placed],
    ids: dict[_Leaf, str],
    used_cves: set[str],
) -> dict[str, Any]:
    entry: dict[str, Any] = {}
    cve = cve_alias(vulnerability)
    if cve is not None and cve not in used_cves:
        # Test 6.1.23: one CVE per document; a repeat stays visible in ``ids``.
        used_cves.add(cve)
        entry["cve"] = cve
    else:
        cve = None
    entry["ids"] = _ids(vulnerability, cve)
    entry["title"] = text_or(" ".join(vulnerability.title.split()), vulnerability.id)
    if vulnerability.cwe is not None:
        name = cwe_name(vulnerability.cwe)
        if name:
            entry["cwe"] = {"id": f"CWE-{vulnerability.cwe}", "name": name}
    entry["notes"] = [
        {
            "category": "description",
            "title": "Description",
            "text": text_or(vulnerability.description, entry["title"]),
        }
    ]
    if vulnerability.discovered is not None:
        entry["discovery_date"] = rfc3339_utc(vulnerability.discovered)
    acknowledgments = [
        {"organization": credit.name.strip(), "summary": "Found the vulnerability."}
        for credit in vulnerability.credits
        if credit.name.strip()
    ]
    if acknowledgments:
        entry["acknowledgments"] = acknowledgments

    status: dict[str, list[str]] = {}
    for placed in placements:
        status.setdefault(placed.status, []).append(ids[placed.leaf])
    entry["product_status"] = {key: _unique(values) for key, values in status.items()}

    remediations = _remediations(placements, ids)
    if remediations:
        entry["remediations"] = remediations
    if vulnerability.references:
        entry["references"] = [
            {"category": "external", "summary": url, "url": url}
            for url in _unique(vulnerability.references)
        ]
    scored = _unique(
        ids[p.leaf] for p in placements if p.status in ("known_affected", "under_investigation")
    )
    if vulnerability.cvss_v3 and scored:
        entry["scores"] = [{"products": scored, "cvss_v3": cvss_v3(vulnerability.cvss_v3)}]
    threats = _threats(vulnerability, placements, ids)
    if threats:
        entry["threats"] = threats
    return entry


def _ids(vulnerability: AdvisoryVulnerability, cve: str | None) -> list[dict[str, str]]:
    ids = [{"system_name": GENERATOR_NAME, "text": vulnerability.id}]
    seen = {vulnerability.id}
    for alias in vulnerability.aliases:
        text = normalize_alias(alias)
        if not text or text in seen or text == cve:
            continue
        seen.add(text)
        prefix = text.split("-", 1)[0].upper()
        ids.append({"system_name": _ID_SYSTEMS.get(prefix, prefix or text), "text": text})
    return ids


def _remediations(placements: list[_Placed], ids: dict[_Leaf, str]) -> list[dict[str, Any]]:
    """An action for every known_affected product (the VEX profile's action statement)."""
    grouped: dict[tuple[str, str], list[str]] = {}
    for placed in placements:
        product = placed.source
        if placed.status == "known_affected":
            if product.fixed:
                key = (
                    "vendor_fix",
                    text_or(
                        product.remediation,
                        f"Update {product.product} to version {product.fixed} or later.",
                    ),
                )
            elif text_or(product.remediation, ""):
                key = ("workaround", str(product.remediation))
            else:
                key = ("none_available", "No fix is available yet.")
        elif (
            placed.status == "fixed" and product.fixed is None and text_or(product.remediation, "")
        ):
            key = ("vendor_fix", str(product.remediation))
        elif placed.status == "under_investigation" and text_or(product.remediation, ""):
            key = ("workaround", str(product.remediation))
        else:
            continue
        grouped.setdefault(key, []).append(ids[placed.leaf])
    return [
        {"category": category, "details": details, "product_ids": _unique(product_ids)}
        for (category, details), product_ids in grouped.items()
    ]


def _threats(
    vulnerability: AdvisoryVulnerability, placements: list[_Placed], ids: dict[_Leaf, str]
) -> list[dict[str, Any]]:
    threats: list[dict[str, Any]] = []
    if vulnerability.exploited:
        threats.append(
            {
                "category": "exploit_status",
                "details": "Exploitation is known: exploited in the wild or a working exploit "
                "was reproduced.",
            }
        )
    impacts: dict[str, list[str]] = {}
    for placed in placements:
        product = placed.source
        if placed.status == "known_not_affected":
            details = text_or(
                product.statement, f"{product.vendor} {product.product}: not affected."
            )
        elif text_or(product.statement, "") and placed.status != "fixed":
            details = str(product.statement)
        else:
            continue
        impacts.setdefault(details, []).append(ids[placed.leaf])
    threats.extend(
        {"category": "impact", "details": details, "product_ids": _unique(product_ids)}
        for details, product_ids in impacts.items()
    )
    return threats


# --- documents -----------------------------------------------------------------------------------


def _document(
    content: AdvisoryContent, *, category: str, vex: bool, generator_version: str
) -> dict[str, Any]:
    tlp = Tlp.parse(content.tlp)
    label, explanation = _CSAF_TLP[tlp]
    tracking_id = vex_tracking_id(content.tracking_id) if vex else content.tracking_id
    distribution: dict[str, Any] = {"tlp": {"label": label, "url": TLP_URL}}
    if explanation:
        distribution["text"] = explanation
    publisher: dict[str, Any] = {
        "category": "coordinator",
        "name": text_or(content.publisher.name, content.publisher.namespace),
        "namespace": content.publisher.namespace,
    }
    if content.publisher.contact.strip():
        publisher["contact_details"] = content.publisher.contact
    if content.publisher.issuing_authority.strip():
        publisher["issuing_authority"] = content.publisher.issuing_authority
    title = text_or(content.title, content.tracking_id)
    notes: list[dict[str, str]] = []
    if content.summary.strip():
        notes.append({"category": "summary", "title": "Summary", "text": content.summary})
    notes.append(
        {"category": "legal_disclaimer", "title": "Terms of use", "text": LEGAL_DISCLAIMER}
    )
    references: list[dict[str, str]] = [
        {"category": "self", "summary": "This CSAF document", "url": csaf_url(content, vex=vex)},
        {
            "category": "self",
            "summary": "Human-readable advisory",
            "url": advisory_page_url(content),
        },
    ]
    references.extend(
        {"category": "external", "summary": url, "url": url} for url in _unique(content.references)
    )
    if not content.revisions:
        raise InputError(f"{content.tracking_id}: an advisory needs at least one revision")
    return {
        "category": category,
        "csaf_version": "2.0",
        "distribution": distribution,
        "lang": content.language,
        "notes": notes,
        "publisher": publisher,
        "references": references,
        "title": f"{title} (VEX)" if vex else title,
        "tracking": {
            "current_release_date": rfc3339_utc(content.current_release),
            "generator": {"engine": {"name": GENERATOR_NAME, "version": generator_version}},
            "id": tracking_id,
            "initial_release_date": rfc3339_utc(content.initial_release),
            "revision_history": [
                {
                    "date": rfc3339_utc(revision.date),
                    "number": revision.number,
                    "summary": text_or(revision.summary, f"Revision {revision.number}."),
                }
                for revision in content.revisions
            ],
            "status": "final",
            "version": content.version,
        },
    }


def _compose(
    content: AdvisoryContent, *, category: str, vex: bool, generator_version: str
) -> dict[str, Any]:
    if not content.vulnerabilities:
        raise InputError(f"{content.tracking_id}: a CSAF advisory needs a vulnerability")
    placements = [_placements(vulnerability) for vulnerability in content.vulnerabilities]
    for vulnerability, placed in zip(content.vulnerabilities, placements, strict=True):
        if not placed:
            raise InputError(
                f"{vulnerability.id}: no product is named; CSAF needs a product status"
            )
    tree = _product_tree(p for placed in placements for p in placed)
    used_cves: set[str] = set()
    vulnerabilities = [
        _vulnerability(vulnerability, placed, tree.ids, used_cves)
        for vulnerability, placed in zip(content.vulnerabilities, placements, strict=True)
    ]
    document = _document(content, category=category, vex=vex, generator_version=generator_version)
    severity = _aggregate_severity(content)
    if severity is not None:
        document["aggregate_severity"] = {"text": severity}
    return {
        "document": document,
        "product_tree": {"branches": tree.branches},
        "vulnerabilities": vulnerabilities,
    }


_SEVERITY_ORDER = ("NONE", "LOW", "MEDIUM", "HIGH", "CRITICAL")


def _aggregate_severity(content: AdvisoryContent) -> str | None:
    """The highest CVSS v3 base severity among the vulnerabilities, as a word."""
    severities = [
        str(cvss_v3(v.cvss_v3)["baseSeverity"]) for v in content.vulnerabilities if v.cvss_v3
    ]
    if not severities:
        return None
    return max(severities, key=_SEVERITY_ORDER.index).capitalize()


def compose_csaf(content: AdvisoryContent, *, generator_version: str = "0") -> dict[str, Any]:
    """The ``csaf_security_advisory`` document of ``content``."""
    return _compose(
        content,
        category="csaf_security_advisory",
        vex=False,
        generator_version=generator_version,
    )


def compose_csaf_vex(
    content: AdvisoryContent, *, generator_version: str = "0"
) -> dict[str, Any] | None:
    """The ``csaf_vex`` document, or None while every product is still under investigation."""
    known = any(
        product.status in _KNOWN
        for vulnerability in content.vulnerabilities
        for product in vulnerability.products
    )
    if not known:
        return None
    return _compose(content, category="csaf_vex", vex=True, generator_version=generator_version)
