"""The demo's scan-coordination step: the hospital proves its network by an HTTP token on its
own web server (loopback), authorizes Lab Alpha and Lab Beta under one shared throttle; Lab
Alpha gets a ticket, Lab Beta is refused for the throttle, a campaign beyond the authorized
range is refused naming the addresses, the hospital's SOC looks up a scanning address, and the
kill switch stops every scan at once.
"""

from __future__ import annotations

import datetime as dt
import shutil
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from pathlib import Path
from typing import Any

from clearinghouse.access.visibility import LOCAL_ADMIN, Viewer
from clearinghouse.core.errors import ClearinghouseError
from clearinghouse.pipeline import scan_flow, scan_service, validation_flow
from clearinghouse.pipeline.runtime import Runtime
from clearinghouse.validation import scanners

HOSPITAL = "Valley Rural Hospital"


@contextmanager
def serving_token(path: str, body: str) -> Iterator[str]:
    """A loopback web server answering ``path`` with ``body`` (an owner's HTTP ownership proof)
    while the block runs; its base URL."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            found = self.path == path
            self.send_response(200 if found else 404)
            self.end_headers()
            if found:
                self.wfile.write(body.encode())

        def log_message(self, format: str, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def scans_step(
    runtime: Runtime, *, viewers: dict[str, Viewer], say: Callable[[str], None]
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    hospital = viewers[HOSPITAL]
    claimed = scan_flow.claim_scope(
        runtime,
        viewer=hospital,
        organization=HOSPITAL,
        networks=["203.0.113.0/24"],
        code=["pkg:generic/tlv-message"],
        domain="valley-hospital.example",
    )
    token = claimed["challenge"]
    with serving_token(token["http_path"], token["dns_value"]) as base_url:
        verified = scan_flow.verify_scope(
            runtime, viewer=hospital, organization=HOSPITAL, method="http", base_url=base_url
        )
    out["verified"] = verified["verified"]
    say(
        f"10. Scans: {HOSPITAL} claims 203.0.113.0/24 and proves it with an HTTP token on its "
        f"web server: verified {', '.join(verified['verified'])}"
    )
    scan_flow.set_policy(
        runtime,
        viewer=hospital,
        organization=HOSPITAL,
        timezone="America/Chicago",
        rate_cap_pps=100,
    )
    now = runtime.clock.now()
    for lab in ("Lab Alpha", "Lab Beta"):
        scan_flow.authorize(
            runtime,
            viewer=hospital,
            owner=HOSPITAL,
            scanner=lab,
            ranges=["203.0.113.0/25"],
            windows="mon-sun 00:00-24:00",
            techniques=["discovery", "vulnerability-scan"],
            max_rate_pps=80,
            max_concurrency=4,
            expires_at=now + dt.timedelta(days=30),
        )
    say("   it authorizes Lab Alpha and Lab Beta on 203.0.113.0/25, 80 pps each, 100 pps shared")
    start, end = now + dt.timedelta(minutes=5), now + dt.timedelta(hours=3)

    def declare(lab: str, **changes: Any) -> dict[str, Any] | str:
        request: dict[str, Any] = {
            "targets": ["203.0.113.0/26"],
            "sources": ["198.51.100.7/32"] if lab == "Lab Alpha" else ["198.51.100.9/32"],
            "start": start,
            "end": end,
            "technique": "vulnerability-scan",
            "rate_pps": 60,
            "contact": f"soc@{lab.split()[-1].lower()}.example",
        } | changes
        try:
            return scan_flow.declare_campaign(runtime, viewer=viewers[lab], scanner=lab, **request)
        except ClearinghouseError as error:
            return str(error)

    alpha = declare("Lab Alpha")
    beta = declare("Lab Beta")
    beyond = declare("Lab Alpha", targets=["203.0.113.0/24"], rate_pps=10)
    out["alpha"], out["beta"], out["beyond"] = alpha, beta, beyond
    ticket = alpha["ticket"] if isinstance(alpha, dict) else alpha
    say(f"   Lab Alpha's campaign at 60 pps: ticket {ticket}")
    say(f"   Lab Beta's campaign at 60 pps: {beta}")
    say(f"   Lab Alpha asks for the whole /24: {beyond}")
    at = start + dt.timedelta(minutes=30)
    seen = scan_flow.lookup(runtime, ip="198.51.100.7", at=at)
    unknown = scan_flow.lookup(runtime, ip="198.51.100.66", at=at)
    out["lookup"], out["unknown"] = seen, unknown
    who = ", ".join(
        f"{c['organization']} ({c['ticket']}, {c['contact']})" for c in seen["campaigns"]
    )
    say(f"   the hospital's SOC looks up 198.51.100.7: {seen['answer']}: {who}")
    say(f"   and 198.51.100.66: {unknown['answer']}")
    out["service"] = _service(runtime, say=say)
    paused = scan_flow.kill_switch(runtime, viewer=hospital, organization=HOSPITAL, on=True)
    after = scan_flow.lookup(runtime, ip="198.51.100.7", at=at)
    out["after_kill_switch"] = after
    say(
        f"   kill switch at {paused['paused_at']}: every scan of its assets stops; the lookup "
        f"now says: {after['answer']}"
    )
    return out


def _service(runtime: Runtime, *, say: Callable[[str], None]) -> dict[str, Any]:
    """Scanning as a service on the hospital's own TLV library: the static scanners when their
    toolchain is installed (``make scanners``), and a libFuzzer job when clang is here."""
    target = Path(str(resources.files("clearinghouse.validation") / "targets" / "c-fuzz-tlv"))
    validation_flow.add_target(runtime, viewer=LOCAL_ADMIN, path=target)
    try:
        scanners.toolchain_at(runtime.settings.scanner_dir)
        static: tuple[str, ...] = scan_service.STATIC_SCANNERS
    except ClearinghouseError:
        static = ()
        say(
            "   (static scanners skipped: no toolchain; `make scanners` installs flawfinder, "
            "bandit and semgrep in their own venv)"
        )
    fuzz_seconds = 10 if shutil.which("clang") and shutil.which("bwrap") else 0
    if not static and not fuzz_seconds:
        say("   (scanning as a service skipped: needs the toolchain or clang and bubblewrap)")
        return {"skipped": True}
    try:
        result = scan_service.run_service(
            runtime,
            viewer=LOCAL_ADMIN,
            organization=HOSPITAL,
            target="tlv-message",
            static=static,
            fuzz_seconds=fuzz_seconds,
        )
    except ClearinghouseError as error:
        say(f"   scanning as a service could not run here: {error}")
        return {"skipped": True, "error": str(error)}
    for item in result["static"]:
        say(f"   {item['scanner']}: {item['findings']} findings imported ({item['isolation']})")
    fuzz = result["fuzz"]
    if fuzz:
        say(
            f"   libFuzzer, {fuzz['seconds']} s under {fuzz['isolation']}: "
            f"{', '.join(c or 'crash' for c in fuzz['crashes']) or 'no crash'}"
        )
    runs = validation_flow.work_queued(runtime, workers=1)
    verdicts = sorted({r["verdict"] or r["status"] for r in runs})
    say(
        f"   ticket {result['ticket']}: the findings went through intake as the clearinghouse's "
        f"own, shared with the hospital; fuzzing crashes validated: {', '.join(verdicts) or '-'}"
    )
    return {
        "ticket": result["ticket"],
        "static": result["static"],
        "fuzz": fuzz,
        "verdicts": verdicts,
    }
