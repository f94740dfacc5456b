"""``clearinghouse demo``: build a fresh demo world and run every capability end to end.

The world: a coordinator, two AI labs, a vendor and a rural hospital. The labs report the same
flaws in a fictional C library with different tools (different line numbers, parent/child CWEs),
one lab's agent adds a finding with a proof of vulnerability, and the public OSV, CVE and CSAF
records of the flaw arrive too. The demo imports everything through the same code paths as the
CLI, shows the deduplication and credit, re-imports a document (nothing changes), submits a
broken one (refused, nothing stored), and merges and splits as an analyst.

Then validation: an example target is registered; a lab's finding with a proof is reproduced
in the sandbox, a second lab's report of the same crash under another title and location merges
into it by crash signature, an "AI slop" report whose proof does not crash is rejected, and the
vendor's patch is validated (and a patch that breaks the tests is caught). It prefers a C
target built with gcc or clang; on a machine with only Python it uses the Python target, and
without bubblewrap it falls back to an unisolated restricted subprocess and says so loudly.

Then inventories: an advisory feed, a KEV excerpt and EPSS scores are loaded (demo records
written for the demo), a hospital, a bank and a water utility import their SBOMs (CycloneDX
JSON, SPDX JSON, CycloneDX XML) and each gets its prioritized report; a lab's embargoed finding
in a package the hospital runs shows its exposure to the coordinator, and to no one else.

Finally it serves the real HTTP API on a loopback port and reads it as each organization to
show TLP enforcement, and verifies the audit chain. Demo documents ship in ``demo_assets/``.
"""

from __future__ import annotations

import base64
import shutil
import socket
import stat
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import Any

import httpx
import orjson
from sqlalchemy import select

from clearinghouse.access import service as access_service
from clearinghouse.access.roles import OrgKind, Role, Sector
from clearinghouse.access.visibility import LOCAL_ADMIN
from clearinghouse.audit import service as audit_service
from clearinghouse.core.errors import ClearinghouseError, InputError
from clearinghouse.core.tlp import Tlp
from clearinghouse.infra.settings import Settings
from clearinghouse.intake.models import Finding
from clearinghouse.pipeline import (
    admin_flow,
    feeds_flow,
    intake_flow,
    inventory_flow,
    patch_flow,
    read_flow,
    submit_flow,
    triage_flow,
    validation_flow,
)
from clearinghouse.pipeline.demo_disclosure import disclosure_step
from clearinghouse.pipeline.demo_evaluation import evaluation_step
from clearinghouse.pipeline.demo_scans import scans_step
from clearinghouse.pipeline.runtime import Runtime
from clearinghouse.validation.patching import PatchToolMissingError
from clearinghouse.validation.target import DOCUMENT, parse_manifest
from clearinghouse.vulns.models import Vulnerability

MARKER = ".clearinghouse-demo"
Echo = Callable[[str], None] | None

ORGS: tuple[tuple[str, OrgKind, Sector | None], ...] = (
    ("Coordination Center", OrgKind.COORDINATOR, Sector.GOVERNMENT),
    ("Lab Alpha", OrgKind.AI_LAB, None),
    ("Lab Beta", OrgKind.AI_LAB, None),
    ("Acme Maintainers", OrgKind.VENDOR, None),
    ("Valley Rural Hospital", OrgKind.OPERATOR, Sector.HEALTHCARE),
    ("QuickScan AI", OrgKind.AI_LAB, None),
    ("First Community Bank", OrgKind.OPERATOR, Sector.FINANCE),
    ("Riverside Water Utility", OrgKind.OPERATOR, Sector.WATER),
    ("Frontier Labs", OrgKind.MODEL_DEVELOPER, None),
    ("National AI Evaluation Agency", OrgKind.AGENCY, Sector.GOVERNMENT),
)
# (operator, SBOM asset): what each critical-infrastructure operator runs
SBOMS: tuple[tuple[str, str], ...] = (
    ("Valley Rural Hospital", "hospital-sbom.cdx.json"),
    ("First Community Bank", "bank-sbom.spdx.json"),
    ("Riverside Water Utility", "water-sbom.cdx.xml"),
)
TARGETS = Path(str(resources.files("clearinghouse.validation") / "targets"))

# (asset, submitting organization, TLP, organizations it is shared with)
SUBMISSIONS: tuple[tuple[str, str, Tlp, tuple[str, ...]], ...] = (
    ("lab-alpha.sarif", "Lab Alpha", Tlp.AMBER, ()),
    ("lab-beta.sarif", "Lab Beta", Tlp.AMBER, ("Acme Maintainers",)),
    ("lab-beta-agent.json", "Lab Beta", Tlp.AMBER, ("Acme Maintainers",)),
    ("public-osv.json", "Coordination Center", Tlp.CLEAR, ()),
    ("public-cve.json", "Coordination Center", Tlp.CLEAR, ()),
    ("vendor-csaf.json", "Acme Maintainers", Tlp.CLEAR, ()),
)


def _asset(name: str) -> bytes:
    return (resources.files("clearinghouse.pipeline") / "demo_assets" / name).read_bytes()


def _demo_target() -> tuple[Path, str]:
    """The C heap-overflow target with the first C compiler found, else the Python target."""
    for compiler in ("gcc", "clang"):
        if shutil.which(compiler):
            return TARGETS / "c-heap-overflow-write", compiler
    return TARGETS / "python-uncaught-exception", "gcc"


def _native(*, target: str, title: str, file: str, line: int, proof: bytes) -> bytes:
    finding = {
        "target": target,
        "file": file,
        "line": line,
        "title": title,
        "proof": {"input_base64": base64.b64encode(proof).decode()},
        "provenance": {"tool": "demo-agent"},
    }
    return orjson.dumps(
        {"format": "clearinghouse-findings", "version": "1.0", "findings": [finding]}
    )


def _prepare(data_dir: Path | None) -> Path:
    if data_dir is None:
        root = Path(tempfile.mkdtemp(prefix="clearinghouse-demo-"))
        root.chmod(0o755)  # the sandbox's unprivileged uid must reach the builds inside
        return root
    if data_dir.exists() and any(data_dir.iterdir()):
        if not (data_dir / MARKER).exists():
            raise InputError(
                f"--data-dir: {data_dir} is not empty and not a demo directory; "
                "the demo builds a fresh world and will not overwrite it"
            )
        shutil.rmtree(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    data_dir.chmod(0o755)
    return data_dir


def _sandbox_work_dir(root: Path) -> Path | None:
    """A world-searchable scratch directory when ``root`` sits below one the sandbox's uid
    cannot search (a 0700 home directory, say); ``None`` when ``root`` itself will do."""
    resolved = root.resolve()
    if all(p.stat().st_mode & stat.S_IXOTH for p in (resolved, *resolved.parents)):
        return None
    scratch = Path(tempfile.mkdtemp(prefix="clearinghouse-demo-work-"))
    scratch.chmod(0o755)
    return scratch


class _ApiServer:
    """``clearinghouse serve`` as its own process on a free loopback port, stopped on exit."""

    def __init__(self, data_dir: Path) -> None:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self._command = [
            sys.executable,
            "-m",
            "clearinghouse.cli.main",
            "--data-dir",
            str(data_dir),
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
        ]
        self._process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> str:
        self._process = subprocess.Popen(
            self._command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        base = f"http://127.0.0.1:{self.port}"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                error = self._process.stderr.read().decode() if self._process.stderr else ""
                raise RuntimeError(f"the API server exited early: {error[-500:]}")
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    return base
            except httpx.TransportError:
                time.sleep(0.1)
        raise RuntimeError("the API server did not answer /healthz within 30 s")

    def __exit__(self, *_: object) -> None:
        if self._process is not None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()


def run_demo(*, data_dir: Path | None, echo: Echo, with_tokens: bool = False) -> dict[str, Any]:
    """Build the world and run every step; ``with_tokens`` adds each organization's analyst
    token to the report (``demo --serve`` prints them for signing in)."""
    say: Callable[[str], None] = echo or (lambda _line: None)
    root = _prepare(data_dir)
    (root / MARKER).write_text("built by `clearinghouse demo`; safe to delete\n")
    target_dir, compiler = _demo_target()
    # The demo alone may run proofs without bubblewrap (loudly); production refuses.
    work_dir = _sandbox_work_dir(root)
    settings = Settings(
        data_dir=root,
        work_dir=work_dir,
        database_url=None,
        validation_allow_unisolated=True,
        validation_compiler=compiler,
    )
    runtime = Runtime.from_settings(settings)
    runtime.ensure_schema()
    report: dict[str, Any] = {"data_dir": str(root), "database": runtime.db.url}
    say(f"Demo world in {root} (SQLite, migrated)")
    if work_dir is not None:
        say(f"   (sandboxed builds and runs in {work_dir}: the sandbox cannot reach {root})")

    tokens: dict[str, str] = {}
    viewers = {}
    for name, kind, sector in ORGS:
        admin_flow.create_organization(
            runtime.db,
            viewer=LOCAL_ADMIN,
            name=name,
            kind=kind,
            sector=sector,
            clock=runtime.clock,
        )
        tokens[name] = admin_flow.create_token(
            runtime.db,
            viewer=LOCAL_ADMIN,
            organization=name,
            role=Role.ANALYST,
            clock=runtime.clock,
        )["token"]
        with runtime.db.session() as session:
            org = access_service.get_org_by_name_or_raise(session, name=name)
            viewers[name] = access_service.viewer_for_org(org, role=Role.SUBMITTER)
    report["organizations"] = [name for name, _, _ in ORGS]
    if with_tokens:
        report["sign_in"] = [{"organization": name, "token": tokens[name]} for name, _, _ in ORGS]
    say(f"1. Registered {len(ORGS)} organizations, one analyst token each (stored as hashes)")

    def submit_bytes(data: bytes, org: str, tlp: Tlp, share: tuple[str, ...]) -> dict[str, Any]:
        _, doc = submit_flow.submit(
            runtime,
            intake_flow.ImportRequest(organization=org, chunks=[data], tlp=tlp, share_with=share),
            viewer=viewers[org],
        )
        return doc

    def submit(asset: str, org: str, tlp: Tlp, share: tuple[str, ...]) -> dict[str, Any]:
        return submit_bytes(_asset(asset), org, tlp, share)

    say("2. Imports (one vulnerability per real flaw, across tools, formats and organizations):")
    imports = []
    for asset, submitter, tlp, share in SUBMISSIONS:
        result = submit(asset, submitter, tlp, share)
        imports.append({"asset": asset, "organization": submitter, **result})
        known = ", ".join(result["already_known"]) or "-"
        say(
            f"   {submitter:<20} {asset:<20} {result['format']:<6} {tlp.value:<6} "
            f"findings={result['findings']} new={result['new_vulnerabilities']} "
            f"duplicates={result['duplicates']} already known: {known}"
        )
    report["imports"] = imports

    again = submit(*SUBMISSIONS[0])
    report["reimport"] = again
    say(
        f"3. Re-import of lab-alpha.sarif: already_imported={again['already_imported']} "
        f"(submission {again['submission']}, nothing changed)"
    )

    before = len(
        read_flow.list_vulns(
            runtime.db, viewer=LOCAL_ADMIN, clock=runtime.clock, search=None, limit=1000, offset=0
        )
    )
    broken = _asset("lab-alpha.sarif").replace(b'"startLine": 120', b'"startLine": "120"')
    try:
        intake_flow.import_submission(
            runtime.db,
            runtime.blobs,
            intake_flow.ImportRequest(organization="Lab Alpha", chunks=[broken]),
            viewer=viewers["Lab Alpha"],
            clock=runtime.clock,
            max_bytes=settings.max_upload_bytes,
            limits=runtime.limits,
            batch_size=settings.import_batch_size,
        )
        refusal = "accepted (unexpected)"
    except ClearinghouseError as error:
        refusal = str(error)
    after = len(
        read_flow.list_vulns(
            runtime.db, viewer=LOCAL_ADMIN, clock=runtime.clock, search=None, limit=1000, offset=0
        )
    )
    report["refused"] = {
        "error": refusal,
        "vulnerabilities_before": before,
        "vulnerabilities_after": after,
    }
    say(f"4. A schema-invalid SARIF is refused: {refusal}")
    say(f"   vulnerabilities before/after: {before}/{after}")

    vulns = read_flow.list_vulns(
        runtime.db, viewer=LOCAL_ADMIN, clock=runtime.clock, search=None, limit=1000, offset=0
    )
    report["vulnerabilities"] = vulns
    say(f"5. {len(vulns)} vulnerabilities from {sum(i['findings'] for i in imports)} findings:")
    for vuln in vulns:
        say(
            f"   {vuln['id']} [{vuln['tlp']}] CWE-{vuln['cwe']} {vuln['title'][:52]!r} "
            f"findings={vuln['findings']} finders={' > '.join(vuln['finders'])} "
            f"aliases={','.join(vuln['aliases']) or '-'}"
        )

    by_title = {v["title"]: v["id"] for v in vulns}
    null_deref = by_title.get("Possible NULL dereference of tag entry")
    oob_read = by_title.get("Tag value read past the end of the tag table")
    triage: dict[str, Any] = {}
    if null_deref and oob_read:
        triage["merge"] = triage_flow.merge(
            runtime.db, viewer=LOCAL_ADMIN, into=null_deref, other=oob_read, clock=runtime.clock
        )
        say(
            f"6. Analyst merges {oob_read} into {null_deref} (same tag-table flaw); "
            f"{oob_read} now resolves to {null_deref}"
        )
        shown = read_flow.show_vuln(
            runtime.db, viewer=LOCAL_ADMIN, clock=runtime.clock, public_id=null_deref
        )
        beta = [f["id"] for f in shown["findings_detail"] if f["organization"] == "Lab Beta"]
        triage["split"] = triage_flow.split(
            runtime.db,
            viewer=LOCAL_ADMIN,
            public_id=null_deref,
            finding_ids=beta,
            clock=runtime.clock,
        )
        say(
            f"   ...then splits Lab Beta's finding back out as {triage['split']['new']}; "
            "the engine will never re-merge them"
        )
    report["triage"] = triage

    validation = _validation_step(runtime, target_dir, submit_bytes, viewers, say)
    report["validation"] = validation

    report["inventories"] = _inventory_step(runtime, submit_bytes, viewers, say)

    report["disclosure"] = disclosure_step(
        runtime,
        root=root,
        target_dir=target_dir,
        vuln=validation["runs"][0]["vulnerability"],
        viewers=viewers,
        say=say,
    )

    report["scans"] = scans_step(runtime, viewers=viewers, say=say)

    report["evaluation"] = evaluation_step(runtime, root=root, viewers=viewers, say=say)

    say("12. The HTTP API on loopback, read as each organization (TLP 2.0 enforced):")
    api: dict[str, Any] = {}
    with _ApiServer(root) as base, httpx.Client(base_url=base, timeout=30) as client:
        for name, _, _ in ORGS:
            response = client.get(
                "/api/v1/vulns", headers={"Authorization": f"Bearer {tokens[name]}"}
            )
            response.raise_for_status()
            seen = response.json()
            api[name] = [v["id"] for v in seen]
            say(f"   {name:<22} sees {len(seen)}: {', '.join(api[name]) or '-'}")
        if null_deref:
            hidden = client.get(
                f"/api/v1/vulns/{null_deref}",
                headers={"Authorization": f"Bearer {tokens['Valley Rural Hospital']}"},
            )
            api["hospital_reads_amber"] = hidden.status_code
            say(
                f"   Valley Rural Hospital GET {null_deref} (AMBER, not shared) -> "
                f"{hidden.status_code} {hidden.headers.get('content-type')}"
            )
        run_id = validation["runs"][0]["id"]
        for reader in ("Acme Maintainers", "Valley Rural Hospital"):
            shown_run = client.get(
                f"/api/v1/validations/{run_id}",
                headers={"Authorization": f"Bearer {tokens[reader]}"},
            )
            api[f"run_read_by_{reader}"] = shown_run.status_code
            verdict_text = shown_run.json().get("verdict", "-")
            say(
                f"   {reader:<22} GET /validations/{run_id} -> {shown_run.status_code} "
                f"{verdict_text if shown_run.status_code == 200 else '(not shared with it)'}"
            )
        unauthenticated = client.get("/api/v1/vulns")
        api["unauthenticated"] = unauthenticated.status_code
        say(f"   no token -> {unauthenticated.status_code}")
    report["api"] = api

    with runtime.db.session() as session:
        verdict = audit_service.verify_chain(session)
    report["audit"] = {"ok": verdict.ok, "events": verdict.events}
    say(
        f"13. Audit chain: ok={verdict.ok}, {verdict.events} hash-chained events "
        "(every write and every restricted read)"
    )
    runtime.close()
    say(f"Done. Explore it: clearinghouse --data-dir {root} vulns list")
    return report


def _validation_step(
    runtime: Runtime,
    target_dir: Path,
    submit: Callable[[bytes, str, Tlp, tuple[str, ...]], dict[str, Any]],
    viewers: dict[str, Any],
    say: Callable[[str], None],
) -> dict[str, Any]:
    """Register a target, reproduce three reports (one slop), validate two vendor patches."""
    manifest = parse_manifest((target_dir / DOCUMENT).read_bytes())
    target = validation_flow.add_target(runtime, viewer=LOCAL_ADMIN, path=target_dir)
    purl = f"pkg:generic/{manifest.name}"
    proof = (target_dir / manifest.proofs[0].file).read_bytes()
    benign = (target_dir / manifest.benign[0].file).read_bytes()
    compiler = runtime.settings.validation_compiler if manifest.language.value == "c" else "-"
    say(
        f"7. Validation: target {target['name']} {target['version']} ({manifest.language.value}, "
        f"compiler {compiler}) registered as {target['digest'][:12]}"
    )
    vendor = ("Acme Maintainers",)
    reports = (
        ("Lab Alpha", f"Memory corruption in {manifest.name}", "src/main.c", 20, proof),
        ("Lab Beta", "Crash on crafted input (fuzzer)", "harness", 77, proof),
        ("QuickScan AI", f"CRITICAL remote code execution in {manifest.name}", "README", 1, benign),
    )
    queued: list[tuple[str, dict[str, Any]]] = []
    for org, title, file, line, data in reports:
        doc = submit(
            _native(target=purl, title=title, file=file, line=line, proof=data),
            org,
            Tlp.AMBER,
            vendor,
        )
        [auto] = doc["validations"]["queued"]
        queued.append((org, auto))
        say(f"   {org:<14} reports {title!r}: run {auto['run']} queued automatically at import")
    validation_flow.work_queued(runtime, workers=2)
    isolation = runtime.reproducer().sandbox.isolation
    if isolation != "bubblewrap":
        say(
            "   WARNING: bubblewrap is not installed here, so these proofs ran in an UNISOLATED "
            "restricted subprocess (the demo only; production refuses to validate without it)"
        )
    runs = []
    for org, auto in queued:
        run = validation_flow.show_run(runtime, run_id=auto["run"])
        runs.append(run)
        crash = (
            f"{run['crash_type']} in {' > '.join(run['crash_state'])}"
            if run["crash_type"]
            else "no crash"
        )
        say(
            f"   run {run['id']} ({org}): {run['verdict']} {run['reproductions']}/"
            f"{run['repetitions']} [{isolation}] {crash}; severity={run['severity'] or '-'} "
            f"validated={run['validated']} -> {run['vulnerability']}"
        )
    first, second, slop = runs
    merged = first["vulnerability"] == second["vulnerability"]
    say(
        f"   Lab Beta's report joined {first['vulnerability']} by crash signature "
        f"(different title and location): {merged}; QuickScan AI's report stays unvalidated"
    )
    patches = {p.expect.value: p.file for p in manifest.patches}
    verdicts = {}
    for expected in ("fixes", "breaks_tests"):
        name = Path(patches[expected]).name
        try:
            result = patch_flow.validate_patch(
                runtime,
                viewer=viewers["Acme Maintainers"],
                vuln_id=first["vulnerability"],
                diff=(target_dir / patches[expected]).read_bytes(),
                repetitions=2,
            )
        except PatchToolMissingError as error:
            verdicts[name] = "skipped"
            say(f"   WARNING: patch validation skipped: {error}")
            break
        verdicts[name] = result["verdict"]
        say(f"   Acme Maintainers' patch {name}: {result['verdict']}")
    return {
        "target": target["name"],
        "isolation": isolation,
        "runs": runs,
        "merged_by_signature": merged,
        "slop_verdict": slop["verdict"],
        "patches": verdicts,
    }


def _asset_path(name: str) -> Path:
    return Path(str(resources.files("clearinghouse.pipeline") / "demo_assets" / name))


def _inventory_step(
    runtime: Runtime,
    submit: Callable[[bytes, str, Tlp, tuple[str, ...]], dict[str, Any]],
    viewers: dict[str, Any],
    say: Callable[[str], None],
) -> dict[str, Any]:
    """Feeds, three operators' SBOMs and reports, and an embargoed vulnerability's exposure."""
    feed = feeds_flow.import_feed(
        runtime, viewer=LOCAL_ADMIN, path=_asset_path("demo-feed.json"), source="osv:demo"
    )
    kev = feeds_flow.import_kev(runtime, viewer=LOCAL_ADMIN, path=_asset_path("demo-kev.json"))
    epss = feeds_flow.import_epss(runtime, viewer=LOCAL_ADMIN, path=_asset_path("demo-epss.csv"))
    say(
        f"8. Inventories: {feed['new']} advisories ({feed['withdrawn']} withdrawn), "
        f"{kev['entries']} KEV entry, {epss['scores']} EPSS scores loaded"
    )
    out: dict[str, Any] = {"feed": feed, "reports": {}}
    for org, asset in SBOMS:
        with resources.as_file(_asset_path(asset)) as path:
            imported = inventory_flow.import_inventory(
                runtime, viewer=viewers[org], organization=org, chunks=[path.read_bytes()]
            )
        result = inventory_flow.report(runtime, organization=org)
        out["reports"][org] = result
        say(
            f"   {org:<24} {asset:<24} {imported['product']!r}: {imported['components']} "
            f"components, {len(result['items'])} to fix"
        )
        for item in result["items"]:
            say(
                f"     {item['deadline']}  {item['purl']:<44} {item['vulnerability']:<15} "
                f"SSVC {item['ssvc']:<12} {item['reason'].split(': ', 1)[-1]}"
            )
    # An AI lab's embargoed (AMBER) report in a package the hospital runs.
    embargoed = submit(
        _native_finding(
            target="pkg:pypi/tiffkit@2.3.0", title="Heap overflow in tiffkit's strip decoder"
        ),
        "Lab Alpha",
        Tlp.AMBER,
        (),
    )
    with runtime.db.session() as session:
        vuln = read_flow_vuln_of(session, embargoed["submission"])
        coordinator = access_service.viewer_for_org(
            access_service.get_org_by_name_or_raise(session, name="Coordination Center"),
            role=Role.ANALYST,
        )
    exposure = inventory_flow.exposure(runtime, viewer=coordinator, vuln_id=vuln)
    names = ", ".join(f"{o['organization']} ({o['sector']})" for o in exposure["organizations"])
    say(f"   Lab Alpha's embargoed {vuln} (tiffkit 2.3.0): the coordinator sees it exposes {names}")
    try:
        inventory_flow.exposure(runtime, viewer=viewers["Valley Rural Hospital"], vuln_id=vuln)
        refused = "allowed (unexpected)"
    except ClearinghouseError as error:
        refused = f"refused ({error})"
    hospital_matches = inventory_flow.matches(runtime, organization="Valley Rural Hospital")
    sees = vuln in {m["vulnerability"] for m in hospital_matches["matches"]}
    say(f"   the hospital asking for exposure is {refused}; its own matches show it: {sees}")
    out["embargoed"] = {"vulnerability": vuln, "exposure": exposure, "hospital_sees": sees}
    return out


def _native_finding(*, target: str, title: str) -> bytes:
    finding = {"target": target, "title": title, "provenance": {"tool": "demo-agent"}}
    return orjson.dumps(
        {"format": "clearinghouse-findings", "version": "1.0", "findings": [finding]}
    )


def read_flow_vuln_of(session: Any, submission: int) -> str:
    """The public id of the vulnerability a one-finding submission's finding joined."""
    row = session.execute(
        select(Vulnerability.public_id)
        .join(Finding, Finding.vulnerability_id == Vulnerability.id)
        .where(Finding.submission_id == submission)
    ).first()
    return str(row[0])
