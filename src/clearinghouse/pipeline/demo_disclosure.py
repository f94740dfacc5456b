"""The demo's coordinated-disclosure step: the validated vulnerability becomes a case, the
vendor's patch is judged, the embargo ends by agreement, the advisory is published, signed and
exported, and exactly the exposed operator is notified (through a real signed webhook to a
receiver on loopback); the bank, which does not run the component, hears nothing.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import orjson

from clearinghouse.access.visibility import LOCAL_ADMIN, Viewer
from clearinghouse.advisories.channels.webhook import verify_webhook_signature
from clearinghouse.advisories.provider import verify_tree
from clearinghouse.core.errors import ClearinghouseError
from clearinghouse.pipeline import case_flow, publish_flow
from clearinghouse.pipeline.runtime import Runtime
from clearinghouse.validation.target import DOCUMENT, parse_manifest

HOSPITAL = "Valley Rural Hospital"
BANK = "First Community Bank"
VENDOR = "Acme Maintainers"
SECRET = "demo-hospital-webhook-secret"  # noqa: S105 - a demo value, printed nowhere


class _Receiver:
    """The hospital's SIEM webhook: records what arrives and whether its signature holds."""

    def __init__(self, runtime: Runtime) -> None:
        self.received: list[dict[str, Any]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", "0")))
                headers = {k.lower(): v for k, v in self.headers.items()}
                ok = verify_webhook_signature(
                    SECRET.encode(), headers, body, now=runtime.clock.now()
                )
                receiver.received.append({"signature_ok": ok, "body": orjson.loads(body)})
                self.send_response(204 if ok else 401)
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/clearinghouse"

    @contextmanager
    def running(self) -> Iterator[_Receiver]:
        thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        thread.start()
        try:
            yield self
        finally:
            self._server.shutdown()
            self._server.server_close()


def disclosure_step(
    runtime: Runtime,
    *,
    root: Path,
    target_dir: Path,
    vuln: str,
    viewers: dict[str, Viewer],
    say: Callable[[str], None],
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    runtime.settings = runtime.settings.model_copy(update={"webhook_allow_private": True})
    receiver = _Receiver(runtime)
    with receiver.running():
        case_flow.set_directory(
            runtime,
            viewer=LOCAL_ADMIN,
            organization=VENDOR,
            namespaces=["pkg:generic/rle-decoder", "pkg:pypi/rle-decoder"],
            contacts=["mailto:security@acme.example"],
            email="security@acme.example",
        )
        case_flow.set_directory(
            runtime,
            viewer=LOCAL_ADMIN,
            organization=HOSPITAL,
            webhook=receiver.url,
            webhook_secret=SECRET,
        )
        case_flow.set_directory(
            runtime, viewer=LOCAL_ADMIN, organization=BANK, email="it@firstcommunity.example"
        )
        case = case_flow.open_case(runtime, viewer=LOCAL_ADMIN, vuln_ids=[vuln])
        case_id = case["id"]
        vendors = [p["organization"] for p in case["participants"] if p["role"] == "vendor"]
        reporters = [p["organization"] for p in case["participants"] if p["role"] == "reporter"]
        say(
            f"9. Case {case_id} opened on validated {vuln}: vendor {', '.join(vendors)} "
            f"(suggested by its namespace), reporters {', '.join(reporters)}"
        )
        say(
            f"   embargo {case['embargo']['state']} until {case['embargo']['until_display']} "
            f"({case['embargo']['reason']})"
        )
        case_flow.describe_vulnerability(
            runtime,
            viewer=LOCAL_ADMIN,
            case_id=case_id,
            vuln_id=vuln,
            cvss_v3="CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:U/C:H/I:H/A:H",
            cve="CVE-2026-55501",
            description=(
                "rle_decode() writes past its output buffer when a run length exceeds the "
                "remaining space; a crafted file corrupts the heap of any program decoding it."
            ),
        )
        case_flow.embargo_action(runtime, viewer=LOCAL_ADMIN, case_id=case_id, action="agree")
        try:
            publish_flow.publish(runtime, viewer=LOCAL_ADMIN, case_id=case_id)
            refused = "published (unexpected)"
        except ClearinghouseError as error:
            refused = str(error)
        out["publish_under_embargo"] = refused
        say(f"   publishing now is refused: {refused}")

        vendor = viewers[VENDOR]
        manifest = parse_manifest((target_dir / DOCUMENT).read_bytes())
        fix = next(p.file for p in manifest.patches if p.expect.value == "fixes")
        try:
            patch = case_flow.upload_patch(
                runtime,
                viewer=vendor,
                case_id=case_id,
                vuln_id=vuln,
                diff=(target_dir / fix).read_bytes(),
                fixed_version="1.3.0",
            )
            out["patch_verdict"] = patch["verdict"]
        except ClearinghouseError as error:  # no patch(1) on this machine: say so, go on
            out["patch_verdict"] = f"skipped: {error}"
        say(f"   {VENDOR} uploads its patch for 1.3.0: {out['patch_verdict']} (all see it)")
        case_flow.set_status(
            runtime,
            viewer=vendor,
            case_id=case_id,
            vuln_id=vuln,
            status="fixed",
            product="pkg:pypi/rle-decoder",
            fixed_version="1.3.0",
            statement="Fixed in rle-decoder 1.3.0 (C library and Python bindings).",
        )
        case_flow.approve_status(
            runtime, viewer=LOCAL_ADMIN, case_id=case_id, vuln_id=vuln, vendor=VENDOR
        )
        case_flow.post_message(
            runtime,
            viewer=vendor,
            case_id=case_id,
            thread="pkg:pypi/rle-decoder",
            body="1.3.0 is on PyPI with the fix; we are ready to publish.",
        )
        pre = publish_flow.prenotify(runtime, viewer=LOCAL_ADMIN, case_id=case_id)
        out["prenotified"] = pre["notified"]
        say(
            "   status fixed in 1.3.0 (approved); pre-notified under embargo, TLP:AMBER+STRICT: "
            f"{', '.join(pre['notified']) or '-'} (the only exposed operator)"
        )
        now = runtime.clock.now()
        for party in vendors + reporters:
            case_flow.embargo_action(
                runtime,
                viewer=viewers[party],
                case_id=case_id,
                action="accept",
                until=now,
            )
        lifted = case_flow.embargo_action(
            runtime, viewer=LOCAL_ADMIN, case_id=case_id, action="lift"
        )
        say(
            "   every vendor and finder accepts publishing now: embargo "
            f"{lifted['embargo']['state']}"
        )
        published = publish_flow.publish(
            runtime, viewer=LOCAL_ADMIN, case_id=case_id, summary="Initial public release."
        )
        out["published"] = published
        say(
            f"   advisory {case_id} v{published['version']} published: "
            + ", ".join(d["name"] for d in published["documents"])
        )
        export = root / "csaf-site"
        exported = publish_flow.export_provider(runtime, directory=export)
        key = publish_flow.signing_key(runtime)
        problems = verify_tree(export, key.public_armored.encode())
        out["export"] = {"directory": str(export), "files": exported["files"], "problems": problems}
        say(
            f"   CSAF provider tree (signed, OpenPGP {key.fingerprint[:16]}…) exported to "
            f"{export}: {exported['files']} files, verification {problems or 'ok'}"
        )
        delivered = publish_flow.deliver_due(runtime)
        out["delivered"] = delivered
        out["webhooks"] = [
            {"signature_ok": r["signature_ok"], "type": r["body"].get("type")}
            for r in receiver.received
        ]
        for item in published["notified"]:
            say(f"   notified {item['organization']}: patch by {item['deadline']}")
        say(
            f"   outbox: {delivered['sent']} delivered (signed webhooks verified by the hospital: "
            f"{all(r['signature_ok'] for r in receiver.received)}), "
            f"{delivered['waiting']} waiting for an SMTP relay; {BANK} was not notified"
        )
        hospital_notes = publish_flow.list_notifications(runtime, viewer=viewers[HOSPITAL])
        advisory_note = next(n for n in hospital_notes if n["kind"] == "advisory")
        publish_flow.respond(
            runtime,
            viewer=viewers[HOSPITAL],
            notification_id=advisory_note["id"],
            response="remediated",
            statement="Upgraded the PACS viewer to rle-decoder 1.3.0.",
        )
        rates = publish_flow.response_rates(runtime, viewer=LOCAL_ADMIN, case_id=case_id)
        out["rates"] = rates
        say(
            f"   {HOSPITAL} reports remediated; coordinator sees {rates['answered']}/"
            f"{rates['operators_notified']} answered, remediated rate {rates['remediated_rate']}"
        )
        out["bank_notified"] = any(
            n for n in publish_flow.list_notifications(runtime, viewer=viewers[BANK])
        )
    out["case"] = case_id
    return out
