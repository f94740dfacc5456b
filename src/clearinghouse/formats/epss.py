"""FIRST EPSS scores (CSV) -> (CVE, probability, percentile) rows (pure).

Two layouts are read: FIRST's daily file (a ``#model_version:…,score_date:…`` line, then
``cve,epss,percentile``) and the common re-publication with ``CVE,…,EPSS,EPSS Percentile,…``
columns. Columns are found by name, case-insensitively; a value outside [0, 1] or a row that is
not a CVE is refused with its line number.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Final

from clearinghouse.core.errors import DecodeError, InputError

_CVE: Final = re.compile(r"^CVE-\d{4}-\d{4,}$")
_SCORE_DATE: Final = re.compile(r"score_date:(\d{4}-\d{2}-\d{2})")


@dataclass(frozen=True, slots=True)
class EpssScore:
    cve: str
    epss: float
    percentile: float


@dataclass(frozen=True, slots=True)
class EpssFile:
    score_date: str | None
    scores: tuple[EpssScore, ...]


def _column(header: list[str], *names: str) -> int:
    lowered = [h.strip().lower() for h in header]
    for name in names:
        if name in lowered:
            return lowered.index(name)
    shown = ", ".join(header)
    shown = shown if len(shown) <= 200 else shown[:199] + "…"  # the header is the sender's
    raise InputError(f"EPSS CSV: no {names[0]!r} column (header: {shown})")


def _rows(reader: Iterator[list[str]]) -> Iterator[list[str]]:
    """The csv module's own refusals (a NUL byte, a field over 128 KiB) as ``InputError``."""
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            raise InputError(f"EPSS CSV: not readable as CSV ({error})") from None
        yield row


def read_epss(data: bytes) -> EpssFile:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise DecodeError(f"EPSS CSV is not UTF-8: {error}") from None
    lines = text.splitlines()
    score_date = None
    if lines and lines[0].startswith("#"):
        found = _SCORE_DATE.search(lines[0])
        score_date = found.group(1) if found else None
        lines = lines[1:]
    reader = _rows(csv.reader(io.StringIO("\n".join(lines))))
    header = next(reader, None)
    if not header:
        raise InputError("EPSS CSV: empty")
    cve_at = _column(header, "cve")
    epss_at = _column(header, "epss")
    pct_at = _column(header, "percentile", "epss percentile")
    scores = []
    for number, row in enumerate(reader, start=2 if score_date is None else 3):
        if not row:
            continue
        try:
            cve = row[cve_at].strip()
            epss = float(row[epss_at])
            percentile = float(row[pct_at])
        except (IndexError, ValueError):
            raise InputError(f"EPSS CSV line {number}: expected a CVE and two numbers") from None
        if not _CVE.match(cve):
            raise InputError(f"EPSS CSV line {number}: {cve[:60]!r} is not a CVE id")
        if not (0.0 <= epss <= 1.0 and 0.0 <= percentile <= 1.0):
            raise InputError(f"EPSS CSV line {number}: scores must be between 0 and 1")
        scores.append(EpssScore(cve=cve, epss=epss, percentile=percentile))
    return EpssFile(score_date=score_date, scores=tuple(scores))
