"""The acceptance corpus through the whole pipeline (store, detect, validate, read, cluster).

Every valid SARIF log in ../shared/data imports with one finding per result and every one its
PROVENANCE.md flags invalid is refused with a reason and leaves nothing behind; the same for the
three whole OSV databases, the CVE JSON 5 records and the CSAF examples.
"""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from clearinghouse.core.errors import InputError
from clearinghouse.core.tlp import Tlp
from clearinghouse.formats.decode import decode
from clearinghouse.pipeline.runtime import Runtime
from tests.conftest import OrgFactory
from tests.integration.helpers import import_bytes, snapshot
from tests.unit.formats.test_osv import PYPA_INVALID
from tests.unit.formats.test_sarif import INVALID_LOGS, VALID_LOGS

pytestmark = pytest.mark.corpus


def _result_count(data: bytes) -> int:
    doc = decode(data)
    return sum(len(run.get("results") or []) for run in doc.get("runs") or [])


def test_every_sarif_log(corpus: Path, runtime: Runtime, make_org: OrgFactory) -> None:
    make_org("Lab")
    logs = corpus / "sarif" / "logs"
    for name in VALID_LOGS:
        data = (logs / name).read_bytes()
        outcome = import_bytes(runtime, "Lab", data)
        assert outcome.format == "sarif", name
        assert outcome.findings == _result_count(data), name
    for name, pointer in INVALID_LOGS.items():
        before = snapshot(runtime)
        with pytest.raises(InputError) as caught:
            import_bytes(runtime, "Lab", (logs / name).read_bytes())
        assert pointer in str(caught.value), name
        assert snapshot(runtime) == before, name


def _records(folder: Path) -> dict[str, object]:
    found: dict[str, object] = {}
    for path in sorted(folder.rglob("*")):
        if path.suffix in (".json", ".yaml", ".yml") and path.is_file():
            found[path.stem] = decode(path.read_bytes())
    return found


def test_the_three_osv_databases(corpus: Path, runtime: Runtime, make_org: OrgFactory) -> None:
    """Each whole database as one submission (the shape of OSV's all.zip), then the refusals."""
    make_org("OSV mirror")
    databases = {
        "golang-vulndb": corpus / "osv/golang-vulndb",
        "rustsec-advisory-db-osv": corpus / "osv/rustsec-advisory-db-osv",
        "pypa-advisory-database": corpus / "osv/pypa-advisory-database",
    }
    total = 0
    for name, folder in databases.items():
        records = _records(folder)
        valid = [r for stem, r in records.items() if stem not in PYPA_INVALID]
        outcome = import_bytes(runtime, "OSV mirror", orjson.dumps(valid), tlp=Tlp.CLEAR)
        assert outcome.format == "osv"
        assert outcome.findings == len(valid), name
        total += outcome.findings
    assert total == 4291 + 1206 + 2654
    pypa = corpus / "osv/pypa-advisory-database"
    for stem in sorted(PYPA_INVALID):
        (path,) = pypa.rglob(f"{stem}.yaml")
        before = snapshot(runtime)
        with pytest.raises(InputError):
            import_bytes(runtime, "OSV mirror", path.read_bytes())
        assert snapshot(runtime) == before, stem


def test_cve_records(corpus: Path, runtime: Runtime, make_org: OrgFactory) -> None:
    make_org("CNA")
    imported = refused = 0
    for path in sorted((corpus / "cve" / "records").rglob("*.json")):
        data = path.read_bytes()
        if path.name.startswith("container-"):
            with pytest.raises(InputError):
                import_bytes(runtime, "CNA", data, format="cve5")
            refused += 1
            continue
        outcome = import_bytes(runtime, "CNA", data, tlp=Tlp.CLEAR)
        assert (outcome.format, outcome.findings) == ("cve5", 1), path.name
        imported += 1
    assert (imported, refused) == (64, 2)


def test_csaf_examples(corpus: Path, runtime: Runtime, make_org: OrgFactory) -> None:
    make_org("Vendor")
    folders = [corpus / "csaf/csaf_2.0/examples", corpus / "osv/schema-testdata/redhat-csaf-to-osv"]
    imported = 0
    for folder in folders:
        for path in sorted(folder.rglob("*.json")):
            doc = decode(path.read_bytes())
            if not (isinstance(doc, dict) and "csaf_version" in doc.get("document", {})):
                continue
            outcome = import_bytes(runtime, "Vendor", path.read_bytes())
            assert outcome.format == "csaf", path.name
            assert outcome.findings == len(doc.get("vulnerabilities", [])), path.name
            imported += 1
    assert imported == 22
    unsupported = corpus / "csaf/csaf-defectdojo-scans/csaf_unsupported_version.json"
    with pytest.raises(InputError, match="csaf_version"):
        import_bytes(runtime, "Vendor", unsupported.read_bytes())
