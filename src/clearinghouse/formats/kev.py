"""CISA's Known Exploited Vulnerabilities catalog (JSON) -> one frozen entry per CVE (pure).

The catalog's own JSON schema has no maintained package; the reader checks the fields it keeps
and names the JSON pointer of the first bad one. ``dueDate`` is the federal remediation deadline
that the prioritization policy uses for KEV matches.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any, Final

from clearinghouse.core.errors import SchemaError
from clearinghouse.formats.decode import decode_json

_CVE: Final = re.compile(r"^CVE-\d{4}-\d{4,}$")
DOCUMENT: Final = "KEV catalog"


@dataclass(frozen=True, slots=True)
class KevEntry:
    cve: str
    vendor: str
    product: str
    name: str
    date_added: dt.date
    due_date: dt.date | None
    ransomware: bool  # knownRansomwareCampaignUse == "Known"


@dataclass(frozen=True, slots=True)
class KevCatalog:
    version: str | None
    released: str | None
    entries: tuple[KevEntry, ...]


def _text(item: dict[str, Any], key: str, pointer: str, *, required: bool = True) -> str:
    value = item.get(key)
    if value is None and not required:
        return ""
    if not isinstance(value, str):
        raise SchemaError(f"{pointer}/{key}", "a string", document=DOCUMENT)
    return value


def _date(item: dict[str, Any], key: str, pointer: str, *, required: bool) -> dt.date | None:
    value = _text(item, key, pointer, required=required)
    if not value and not required:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise SchemaError(f"{pointer}/{key}", "a date (YYYY-MM-DD)", document=DOCUMENT) from None


def read_kev(data: bytes) -> KevCatalog:
    doc = decode_json(data, what=DOCUMENT)
    if not isinstance(doc, dict) or not isinstance(doc.get("vulnerabilities"), list):
        raise SchemaError("/vulnerabilities", "an array of entries", document=DOCUMENT)
    entries = []
    for i, item in enumerate(doc["vulnerabilities"]):
        pointer = f"/vulnerabilities/{i}"
        if not isinstance(item, dict):
            raise SchemaError(pointer, "an object", document=DOCUMENT)
        cve = _text(item, "cveID", pointer)
        if not _CVE.match(cve):
            raise SchemaError(f"{pointer}/cveID", "a CVE id (CVE-YYYY-NNNN)", document=DOCUMENT)
        added = _date(item, "dateAdded", pointer, required=True)
        assert added is not None
        entries.append(
            KevEntry(
                cve=cve,
                vendor=_text(item, "vendorProject", pointer, required=False)[:200],
                product=_text(item, "product", pointer, required=False)[:200],
                name=_text(item, "vulnerabilityName", pointer, required=False)[:500],
                date_added=added,
                due_date=_date(item, "dueDate", pointer, required=False),
                ransomware=item.get("knownRansomwareCampaignUse") == "Known",
            )
        )
    version = doc.get("catalogVersion")
    released = doc.get("dateReleased")
    return KevCatalog(
        version=version if isinstance(version, str) else None,
        released=released if isinstance(released, str) else None,
        entries=tuple(entries),
    )
