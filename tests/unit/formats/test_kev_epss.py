"""CISA KEV and FIRST EPSS readers, on the real files and on broken ones."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import orjson
import pytest

from clearinghouse.core.errors import InputError, SchemaError
from clearinghouse.formats.epss import read_epss
from clearinghouse.formats.kev import read_kev


@pytest.mark.corpus
def test_the_real_kev_catalog(corpus: Path) -> None:
    raw = (corpus / "kev/known_exploited_vulnerabilities.json").read_bytes()
    catalog = read_kev(raw)
    assert catalog.version == "2025.08.25"
    assert len(catalog.entries) == orjson.loads(raw)["count"] == 1404
    first = catalog.entries[0]
    assert first.cve == "CVE-2025-48384"
    assert first.vendor == "Git"
    assert first.date_added == dt.date(2025, 8, 25)
    assert first.due_date is not None
    assert first.due_date > first.date_added
    assert any(e.ransomware for e in catalog.entries)


@pytest.mark.corpus
def test_the_real_epss_file(corpus: Path) -> None:
    scores = read_epss((corpus / "epss/jgamblin-KEV_EPSS/epss_kev_nvd.csv").read_bytes())
    assert len(scores.scores) > 1500
    assert all(0 <= s.epss <= 1 and 0 <= s.percentile <= 1 for s in scores.scores)
    assert scores.score_date is None  # this re-publication has no model/date line


def test_firsts_own_layout_with_its_score_date() -> None:
    data = (
        b"#model_version:v2025.03.14,score_date:2026-11-26T12:55:00Z\n"
        b"cve,epss,percentile\nCVE-2021-44228,0.94358,0.99961\n"
    )
    scores = read_epss(data)
    assert scores.score_date == "2026-11-26"
    assert scores.scores[0].cve == "CVE-2021-44228"
    assert scores.scores[0].percentile == pytest.approx(0.99961)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"cve,epss,percentile\nCVE-2021-0001,2.0,0.5\n", "line 2: scores must be between 0 and 1"),
        (b"cve,epss,percentile\nnot-a-cve,0.1,0.5\n", "line 2"),
        (b"cve,score\nCVE-2021-1,0.1\n", "no 'epss' column"),
        (b"", "empty"),
    ],
)
def test_broken_epss_files_name_the_line(data: bytes, message: str) -> None:
    with pytest.raises(InputError, match=message):
        read_epss(data)


@pytest.mark.parametrize(
    ("doc", "pointer"),
    [
        ({"vulnerabilities": "x"}, "/vulnerabilities"),
        (
            {"vulnerabilities": [{"cveID": "nope", "dateAdded": "2025-01-01"}]},
            "/vulnerabilities/0/cveID",
        ),
        (
            {"vulnerabilities": [{"cveID": "CVE-2025-1234", "dateAdded": "01/02/2025"}]},
            "/vulnerabilities/0/dateAdded",
        ),
    ],
)
def test_broken_kev_catalogs_name_the_pointer(doc: object, pointer: str) -> None:
    with pytest.raises(SchemaError) as caught:
        read_kev(orjson.dumps(doc))
    assert caught.value.pointer == pointer
