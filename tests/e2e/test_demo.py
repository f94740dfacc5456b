"""``clearinghouse demo``, the README's main job, end to end in its own process: ``make demo``
runs it with ``--serve``, so the demo here also ends by serving, and the web interface is read
with the tokens it printed."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import httpx
import orjson

CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]*)">')
TOKEN_LINE = re.compile(r"^  (.+?)\s+(chk_\S+)$")


@dataclass
class Served:
    """What ``demo --json --serve`` wrote: the report on stdout, then the address and the sign-in
    tokens on stderr (the report's stdout stays one JSON document)."""

    report: dict[str, Any]
    base: str
    tokens: dict[str, str] = field(default_factory=dict)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _drain(stream: IO[bytes], into: list[bytes]) -> None:
    for line in iter(stream.readline, b""):
        into.append(line)


@contextlib.contextmanager
def demo_serving(data_dir: Path, *, timeout: float = 240) -> Iterator[Served]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLEARINGHOUSE_")}
    port = _free_port()
    process = subprocess.Popen(
        [
            *(sys.executable, "-m", "clearinghouse.cli.main", "demo"),
            *("--data-dir", str(data_dir), "--json", "--serve", "--port", str(port)),
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    out: list[bytes] = []
    err: list[bytes] = []
    readers = [
        threading.Thread(target=_drain, args=(process.stdout, out), daemon=True),
        threading.Thread(target=_drain, args=(process.stderr, err), daemon=True),
    ]
    for reader in readers:
        reader.start()
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            assert process.poll() is None, b"".join(err).decode()[-3000:]
            assert time.monotonic() < deadline, "the demo did not start serving in time"
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(f"{base}/signin", timeout=2).status_code == 200:
                    break
            time.sleep(0.5)
        report = orjson.loads(b"".join(out))
        tokens = {}
        for line in b"".join(err).decode().splitlines():
            if found := TOKEN_LINE.match(line):
                tokens[found.group(1).strip()] = found.group(2)
        assert f"{base}/signin" in b"".join(err).decode()
        yield Served(report=report, base=base, tokens=tokens)
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        for reader in readers:
            reader.join(timeout=5)


def _signed_in(base: str, token: str) -> httpx.Client:
    client = httpx.Client(base_url=base, timeout=30, follow_redirects=True)
    form = client.get("/signin")
    csrf = CSRF_META.search(form.text)
    assert csrf is not None
    done = client.post("/signin", data={"csrf_token": csrf.group(1), "token": token})
    assert done.status_code == 200, done.text[-500:]  # followed to the triage queue
    assert str(done.url).endswith("/triage")
    return client


def test_demo_runs_every_capability_then_serves_the_web_interface(tmp_path: Path) -> None:
    with demo_serving(tmp_path / "demo") as served:
        check_report(served.report)
        check_web(served)


def check_web(served: Served) -> None:
    """Every demo organization signs in with its printed token and reads the pages."""
    assert set(served.tokens) == {item["organization"] for item in served.report["sign_in"]}
    for organization, token in served.tokens.items():
        with contextlib.closing(_signed_in(served.base, token)) as client:
            for page in ("/triage", "/cases", "/dashboard", "/scans", "/models"):
                response = client.get(page)
                assert response.status_code == 200, (organization, page, response.text[-500:])
                assert organization in response.text  # who is signed in, in the header
    with (
        contextlib.closing(
            _signed_in(served.base, served.tokens["Valley Rural Hospital"])
        ) as hospital,
        contextlib.closing(
            _signed_in(served.base, served.tokens["Coordination Center"])
        ) as coordinator,
    ):
        # the coordinator sees more of the queue than the hospital (TLP), as through the API
        rows = re.compile(r'<tr data-vuln="(CH-\d{4}-\d{5})"')
        seen_by_hospital = set(rows.findall(hospital.get("/triage").text))
        seen_by_coordinator = set(rows.findall(coordinator.get("/triage").text))
        assert seen_by_hospital < seen_by_coordinator


def check_report(report: dict[str, Any]) -> None:
    imports = {item["asset"]: item for item in report["imports"]}
    assert imports["lab-alpha.sarif"]["new_vulnerabilities"] == 3
    assert imports["lab-beta.sarif"]["duplicates"] == 2  # cross-tool, cross-organization
    for public in ("public-osv.json", "public-cve.json", "vendor-csaf.json"):
        assert imports[public]["new_vulnerabilities"] == 0  # joined through the CVE alias
    assert report["reimport"]["already_imported"] is True
    refused = report["refused"]
    assert "/runs/0/results/0/locations/0/physicalLocation/region/startLine" in refused["error"]
    assert refused["vulnerabilities_before"] == refused["vulnerabilities_after"]

    overflow = next(v for v in report["vulnerabilities"] if "CVE-2026-99001" in v["aliases"])
    assert overflow["finders"] == [
        "Lab Alpha",
        "Lab Beta",
        "Coordination Center",
        "Acme Maintainers",
    ]
    assert report["triage"]["split"]["new"]

    api = report["api"]
    # only what is CLEAR, and what the clearinghouse's scanning service found in its own code
    service = report["scans"]["service"]
    found_for_it = {
        v
        for item in [*service.get("static", []), (service.get("fuzz") or {}).get("imported")]
        if item
        for v in item["vulnerabilities"]
    }
    assert api["Valley Rural Hospital"][0] == overflow["id"]
    assert set(api["Valley Rural Hospital"][1:]) <= found_for_it
    assert set(api["Coordination Center"]) > set(api["Valley Rural Hospital"])
    assert api["hospital_reads_amber"] == 404
    assert api["unauthenticated"] == 401
    assert report["audit"]["ok"] is True

    # Validation: the lab's proof reproduces, the second lab's report of the same crash merges
    # by signature, the slop is rejected, and the vendor's patches get their verdicts.
    validation = report["validation"]
    first, second, slop = validation["runs"]
    assert (first["verdict"], first["validated"]) == ("reproduced", True)
    assert second["verdict"] == "reproduced"
    assert second["signature"] == first["signature"]
    assert second["vulnerability"] == first["vulnerability"]
    assert validation["merged_by_signature"] is True
    assert (slop["verdict"], slop["validated"]) == ("not_reproduced", False)
    assert slop["vulnerability"] != first["vulnerability"]
    if shutil.which("patch"):
        assert list(validation["patches"].values()) == ["fixes", "breaks_tests"]
    if shutil.which("bwrap"):
        assert validation["isolation"] == "bubblewrap"
    if shutil.which("gcc") or shutil.which("clang"):
        assert first["crash_type"] == "Heap-buffer-overflow WRITE 1"
        assert first["severity"] == "high"
    # Inventories: three operators' SBOMs in three formats, each with its prioritized report;
    # the embargoed vulnerability's exposure reaches the coordinator only.
    inventories = report["inventories"]
    assert inventories["feed"]["withdrawn"] == 1
    reports = inventories["reports"]
    hospital = [(i["purl"], i["vulnerability"]) for i in reports["Valley Rural Hospital"]["items"]]
    assert hospital == [
        ("pkg:pypi/medrecord-parser@2.4.0", "DEMO-2026-0001"),
        ("pkg:pypi/pump-telemetry@0.9.4", "DEMO-2026-0006"),  # last_affected is inclusive
    ]
    bank = reports["First Community Bank"]["items"]
    assert [i["vulnerability"] for i in bank] == ["DEMO-2026-0003"]  # 0004 was fixed in 3.2.0
    [water] = reports["Riverside Water Utility"]["items"]
    assert water["kev"] is True
    assert water["deadline"] == "2026-12-11"  # the KEV due date
    embargoed = inventories["embargoed"]
    assert [o["organization"] for o in embargoed["exposure"]["organizations"]] == [
        "Valley Rural Hospital"
    ]
    assert embargoed["hospital_sees"] is False
    assert api["run_read_by_Acme Maintainers"] == 200
    assert api["run_read_by_Valley Rural Hospital"] == 404
    # Coordinated disclosure: refused under embargo, the vendor's patch judged, published and
    # signed after the agreed lift; the exposed hospital told (signed webhook), the bank not.
    disclosure = report["disclosure"]
    assert "under embargo" in disclosure["publish_under_embargo"]
    if shutil.which("patch") and (shutil.which("gcc") or shutil.which("clang")):
        assert disclosure["patch_verdict"] == "fixes"
    assert disclosure["prenotified"] == ["Valley Rural Hospital"]
    kinds = {d["name"].rsplit(".", 1)[-1] for d in disclosure["published"]["documents"]}
    assert kinds == {"json", "md", "html"}
    assert [n["organization"] for n in disclosure["published"]["notified"]] == [
        "Valley Rural Hospital"
    ]
    assert disclosure["export"]["problems"] == []
    assert disclosure["webhooks"] == [
        {"signature_ok": True, "type": "case.prenotify"},
        {"signature_ok": True, "type": "advisory.published"},
    ]
    assert disclosure["bank_notified"] is False
    assert disclosure["rates"]["remediated_rate"] == 1.0
    # Scans: proof by HTTP token, one ticket, a throttle refusal, a refusal naming the
    # unauthorized addresses, a lookup naming the scanner, and the kill switch.
    scans = report["scans"]
    assert scans["verified"] == ["203.0.113.0/24", "pkg:generic/tlv-message"]
    assert scans["alpha"]["ticket"].startswith("SCAN-")
    assert "shared limit" in scans["beta"]
    assert "203.0.113.128/25" in scans["beyond"]
    assert [c["organization"] for c in scans["lookup"]["campaigns"]] == ["Lab Alpha"]
    assert scans["unknown"]["authorized"] is False
    assert scans["after_kill_switch"]["authorized"] is False
    service = scans["service"]
    if shutil.which("clang") and shutil.which("bwrap"):
        assert "Heap-buffer-overflow WRITE 1" in service["fuzz"]["crashes"]
        assert "reproduced" in service["verdicts"]
    # Frontier models: the strong stand-in is covered and the weak one not, on a confidential
    # suite its non-evaluators cannot read; the 31-day window is refused; a trusted partner is
    # admitted only once both sides approve, and its access is recorded.
    evaluation = report["evaluation"]
    assert evaluation["suite"]["confidential"] is True
    assert evaluation["suite"]["tasks"] >= 20
    assert evaluation["coordinator_sees_tasks"] is False
    assert evaluation["designations"] == {"frontier-x": "covered", "compact-y": "not_covered"}
    strong = evaluation["runs"]["frontier-x"]["families"]
    weak = evaluation["runs"]["compact-y"]["families"]
    assert strong["discover"]["interval"][0] >= 0.3 > weak["discover"]["interval"][1]
    assert evaluation["paired"]["discover"]["interval"][0] > 0  # better on the same tasks
    assert "more than 30 days" in evaluation["window_31_days"]
    assert evaluation["partner"] == {"nominated": "nominated", "after_both": "admitted"}
    assert evaluation["partner_access"] is True


def test_demo_refuses_to_overwrite_a_directory_it_did_not_make(tmp_path: Path) -> None:
    (tmp_path / "precious.txt").write_text("keep me")
    done = subprocess.run(
        [sys.executable, "-m", "clearinghouse.cli.main", "demo", "--data-dir", str(tmp_path)],
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1
    assert b"not empty" in done.stderr
    assert (tmp_path / "precious.txt").read_text() == "keep me"
