"""The clearinghouse audits its own dependencies (``scripts/audit_dependencies.py``).

The script turns the running environment's pins into a CycloneDX SBOM and runs the
clearinghouse's own command line (``feeds import``, ``inventory import``, ``inventory
matches``) against the PyPA advisory database of the shared corpus. One run audits the real
environment and, beside it, an SBOM holding two pins that PYSEC records cover (PyYAML 5.3.1:
PYSEC-2021-142, fixed in 5.4; Jinja2 2.10: PYSEC-2019-217, fixed in 2.10.1), which proves the
same run would fail on a known-vulnerable pin of ours.
"""

from __future__ import annotations

import importlib.metadata as metadata
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import orjson
import pytest

from clearinghouse.formats.sbom import read_cyclonedx

pytestmark = [pytest.mark.corpus]

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "audit_dependencies.py"
ENVIRONMENT = "clearinghouse-pinned-environment"
KNOWN_VULNERABLE = {
    ("pkg:pypi/pyyaml@5.3.1", "PYSEC-2021-142"),
    ("pkg:pypi/jinja2@2.10", "PYSEC-2019-217"),
}


def planted_sbom(pins: dict[str, str]) -> bytes:
    """A CycloneDX 1.6 SBOM of PyPI pins, as any tool would write it."""
    return orjson.dumps(
        {
            "bomFormat": "CycloneDX",
            "specVersion": "1.6",
            "version": 1,
            "metadata": {"component": {"type": "application", "name": "planted"}},
            "components": [
                {
                    "type": "library",
                    "name": name,
                    "version": version,
                    "purl": f"pkg:pypi/{name}@{version}",
                    "bom-ref": f"pkg:pypi/{name}@{version}",
                }
                for name, version in pins.items()
            ],
        }
    )


@pytest.fixture(scope="module")
def outcome(corpus: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[int, dict[str, Any]]:
    work = tmp_path_factory.mktemp("audit")
    planted = work / "planted.cdx.json"
    planted.write_bytes(planted_sbom({"pyyaml": "5.3.1", "jinja2": "2.10", "orjson": "3.13.0"}))
    done = subprocess.run(
        [
            sys.executable,
            str(SCRIPT),
            "--osv",
            str(corpus / "osv" / "pypa-advisory-database" / "vulns"),
            "--sbom",
            str(planted),
            "--sbom-out",
            str(work / "environment.cdx.json"),
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode in (0, 1), done.stderr
    report: dict[str, Any] = json.loads(done.stdout)
    report["environment_sbom"] = str(work / "environment.cdx.json")
    return done.returncode, report


def _sbom(report: dict[str, Any], product: str) -> dict[str, Any]:
    found: list[dict[str, Any]] = [s for s in report["sboms"] if s["product"] == product]
    assert len(found) == 1, product
    return found[0]


def test_no_pinned_dependency_is_known_vulnerable(outcome: tuple[int, dict[str, Any]]) -> None:
    _, report = outcome
    assert report["advisories"] > 2000  # the whole PyPA database was loaded
    env = _sbom(report, ENVIRONMENT)
    assert env["components"] >= 40  # every pin of pyproject.toml and what they pull in
    assert env["vulnerable"] == [], (
        "KNOWN-VULNERABLE PINS (upgrade them in pyproject.toml): "
        + ", ".join(f"{purl} {advisory}" for purl, advisory in env["vulnerable"])
    )


def test_a_known_vulnerable_pin_fails_the_audit(outcome: tuple[int, dict[str, Any]]) -> None:
    code, report = outcome
    planted = _sbom(report, "sbom:planted.cdx.json")
    flagged = {(purl, advisory) for purl, advisory in planted["vulnerable"]}
    assert flagged >= KNOWN_VULNERABLE
    assert not any(purl.startswith("pkg:pypi/orjson@") for purl, _ in flagged)
    assert report["ok"] is False
    assert code == 1


def test_the_environment_sbom_names_the_pins_as_installed(
    outcome: tuple[int, dict[str, Any]],
) -> None:
    """The SBOM is a valid CycloneDX document (our own reader's schema check) that lists the
    installed versions of the project's direct pins."""
    _, report = outcome
    document = Path(report["environment_sbom"]).read_bytes()
    inventory = read_cyclonedx(document)
    purls = {c.purl for c in inventory.components}
    for name in ("fastapi", "sqlalchemy", "pyyaml", "jinja2", "cyclonedx-python-lib"):
        assert f"pkg:pypi/{name}@{metadata.version(name)}" in purls, name
    assert orjson.loads(document)["specVersion"] == "1.6"
