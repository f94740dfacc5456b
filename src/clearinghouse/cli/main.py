"""The ``clearinghouse`` command line.

Every command that reports data takes ``--json`` and then prints exactly one JSON document on
stdout. Exit codes: 0 success, 1 a domain error (one line on stderr), 2 bad usage. The CLI acts
as the local operator, who owns the database; ``--org`` says on whose behalf it submits.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, TextIO

import typer

from clearinghouse.access import service as access_service
from clearinghouse.access.roles import OrgKind, Role, Sector, parse_enum
from clearinghouse.access.visibility import LOCAL_ADMIN, Viewer
from clearinghouse.audit import service as audit_service
from clearinghouse.cli import disclosure, evaluation, scans, web
from clearinghouse.cli.output import emit, emit_json
from clearinghouse.core.errors import ClearinghouseError, InputError
from clearinghouse.core.tlp import Tlp
from clearinghouse.infra.blobs import iter_file
from clearinghouse.infra.settings import Settings
from clearinghouse.pipeline import (
    admin_flow,
    backup_flow,
    feeds_flow,
    intake_flow,
    inventory_flow,
    patch_flow,
    read_flow,
    submit_flow,
    triage_flow,
    validation_flow,
)
from clearinghouse.pipeline.runtime import Runtime

app = typer.Typer(
    name="clearinghouse",
    help="Clearinghouse: coordinated vulnerability intake, deduplication and disclosure.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
org_app = typer.Typer(help="Organizations.", no_args_is_help=True)
token_app = typer.Typer(help="API tokens.", no_args_is_help=True)
findings_app = typer.Typer(help="Submit and read findings.", no_args_is_help=True)
subs_app = typer.Typer(help="Submissions and who may see them.", no_args_is_help=True)
vulns_app = typer.Typer(help="Deduplicated vulnerabilities.", no_args_is_help=True)
audit_app = typer.Typer(help="The tamper-evident audit log.", no_args_is_help=True)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
targets_app = typer.Typer(
    help="Registered targets that proofs are reproduced on.", no_args_is_help=True
)
validation_app = typer.Typer(help="Validation runs.", no_args_is_help=True)
patches_app = typer.Typer(help="Candidate patches, judged in the sandbox.", no_args_is_help=True)
feeds_app = typer.Typer(help="Advisory feeds (OSV), CISA KEV and EPSS.", no_args_is_help=True)
inventory_app = typer.Typer(
    help="Operators' inventories (SBOMs) and the advisories that affect them.",
    no_args_is_help=True,
)
for sub, name in (
    (org_app, "org"),
    (token_app, "token"),
    (findings_app, "findings"),
    (subs_app, "submissions"),
    (vulns_app, "vulns"),
    (audit_app, "audit"),
    (db_app, "db"),
    (targets_app, "targets"),
    (validation_app, "validation"),
    (patches_app, "patches"),
    (feeds_app, "feeds"),
    (inventory_app, "inventory"),
    (disclosure.directory_app, "directory"),
    (disclosure.cases_app, "cases"),
    (disclosure.advisories_app, "advisories"),
    (disclosure.notifications_app, "notifications"),
    (disclosure.outbox_app, "outbox"),
    (scans.scans_app, "scans"),
    (evaluation.eval_app, "eval"),
    (evaluation.models_app, "models"),
    (evaluation.engagements_app, "engagements"),
    (evaluation.designation_app, "designation"),
    (web.web_app, "web"),
):
    app.add_typer(sub, name=name)

JsonFlag = Annotated[bool, typer.Option("--json", help="Print one JSON document.")]


def submitter_of(rt: Runtime, org: str) -> Viewer:
    """The CLI acting as a submitter of ``org`` (``--org``), which must exist."""
    with rt.db.session() as session:
        organization = access_service.get_org_by_name_or_raise(session, name=org)
        return access_service.viewer_for_org(organization, role=Role.SUBMITTER)


def read_chunks(file: Path) -> Iterable[bytes]:
    """The bytes of FILE, or of standard input for ``-``, in 1 MiB chunks."""
    if str(file) == "-":
        return iter(lambda: sys.stdin.buffer.read(1 << 20), b"")
    if not file.is_file():
        raise InputError(f"FILE: {file} is not a readable file")
    return iter_file(file)


class _State:
    settings: Settings | None = None
    runtime: Runtime | None = None


_state = _State()


def runtime() -> Runtime:
    if _state.runtime is None:
        settings = _state.settings or Settings()
        _state.runtime = Runtime.from_settings(settings)
        _state.runtime.ensure_schema()
    return _state.runtime


@app.callback()
def _root(
    data_dir: Annotated[
        Path | None,
        typer.Option(help="Data directory (default $CLEARINGHOUSE_DATA_DIR or ./.clearinghouse)."),
    ] = None,
    database_url: Annotated[
        str | None, typer.Option(help="SQLAlchemy URL (default SQLite in the data directory).")
    ] = None,
) -> None:
    overrides: dict[str, Any] = {}
    if data_dir is not None:
        overrides["data_dir"] = data_dir
    if database_url is not None:
        overrides["database_url"] = database_url
    _state.settings = Settings(**overrides)
    _state.runtime = None


@db_app.command("upgrade")
def db_upgrade(as_json: JsonFlag = False) -> None:
    """Create or migrate the schema to the newest version."""
    rt = runtime()
    emit(
        {"ok": True, "database": rt.db.engine.url.render_as_string(hide_password=True)},
        as_json=as_json,
    )


@org_app.command("create")
def org_create(
    name: str,
    kind: Annotated[str, typer.Option(help="|".join(k.value for k in OrgKind))],
    sector: Annotated[str | None, typer.Option(help="|".join(s.value for s in Sector))] = None,
    as_json: JsonFlag = False,
) -> None:
    """Register an organization."""
    org_kind = parse_enum(OrgKind, kind, field="kind")
    org_sector = parse_enum(Sector, sector, field="sector") if sector else None
    rt = runtime()
    doc = admin_flow.create_organization(
        rt.db, viewer=LOCAL_ADMIN, name=name, kind=org_kind, sector=org_sector, clock=rt.clock
    )
    emit(doc, as_json=as_json)


@org_app.command("list")
def org_list(as_json: JsonFlag = False) -> None:
    """List organizations."""
    rt = runtime()
    with rt.db.session() as session:
        docs = [
            {"id": o.id, "name": o.name, "kind": o.kind, "sector": o.sector}
            for o in access_service.list_orgs(session)
        ]
    emit(docs, as_json=as_json, columns=["id", "name", "kind", "sector"])


@token_app.command("create")
def token_create(
    org: Annotated[str, typer.Option(help="Organization name.")],
    role: Annotated[str, typer.Option(help="|".join(r.value for r in Role))],
    as_json: JsonFlag = False,
) -> None:
    """Create an API token; it is printed once and stored only as a hash."""
    token_role = parse_enum(Role, role, field="role")
    rt = runtime()
    doc = admin_flow.create_token(
        rt.db, viewer=LOCAL_ADMIN, organization=org, role=token_role, clock=rt.clock
    )
    emit(doc, as_json=as_json)


@findings_app.command("import")
def findings_import(
    file: Annotated[Path, typer.Argument(help="Document to import ('-' for stdin).")],
    org: Annotated[str, typer.Option(help="Submitting organization.")],
    format: Annotated[str, typer.Option(help="auto|sarif|osv|cve5|csaf|native")] = "auto",
    target: Annotated[str | None, typer.Option(help="Package URL or repository.")] = None,
    tlp: Annotated[str | None, typer.Option(help="CLEAR|GREEN|AMBER|AMBER+STRICT|RED")] = None,
    share_with: Annotated[
        list[str] | None,
        typer.Option("--share-with", help="Organization granted access (AMBER) or named (RED)."),
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Import findings from SARIF, OSV, CVE JSON 5, CSAF 2.0 or the native format."""
    label = Tlp.parse(tlp) if tlp else None
    chunks = read_chunks(file)
    rt = runtime()
    viewer = submitter_of(rt, org)
    _, doc = submit_flow.submit(
        rt,
        intake_flow.ImportRequest(
            organization=org,
            chunks=chunks,
            format=format,
            target=target,
            tlp=label,
            share_with=tuple(share_with or ()),
        ),
        viewer=viewer,
    )
    emit(doc, as_json=as_json)


@findings_app.command("list")
def findings_list(
    submission: Annotated[int | None, typer.Option(help="Only this submission.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=10_000)] = 100,
    offset: Annotated[int, typer.Option(min=0)] = 0,
    as_json: JsonFlag = False,
) -> None:
    """List findings."""
    rt = runtime()
    docs = read_flow.list_findings(
        rt.db,
        viewer=LOCAL_ADMIN,
        clock=rt.clock,
        submission_id=submission,
        limit=limit,
        offset=offset,
    )
    emit(
        docs, as_json=as_json, columns=["id", "vulnerability", "organization", "producer", "title"]
    )


@findings_app.command("show")
def findings_show(finding_id: int, as_json: JsonFlag = False) -> None:
    """Show one finding."""
    rt = runtime()
    emit(
        read_flow.show_finding(rt.db, viewer=LOCAL_ADMIN, clock=rt.clock, finding_id=finding_id),
        as_json=as_json,
    )


@subs_app.command("list")
def submissions_list(
    limit: Annotated[int, typer.Option(min=1, max=10_000)] = 100,
    offset: Annotated[int, typer.Option(min=0)] = 0,
    as_json: JsonFlag = False,
) -> None:
    """List submissions."""
    rt = runtime()
    docs = read_flow.list_submissions(
        rt.db, viewer=LOCAL_ADMIN, clock=rt.clock, limit=limit, offset=offset
    )
    emit(
        docs,
        as_json=as_json,
        columns=["id", "organization", "format", "tlp", "findings", "new_vulnerabilities"],
    )


@subs_app.command("grant")
def submissions_grant(
    submission_id: int,
    org: Annotated[str, typer.Option(help="Organization to grant (AMBER) or name (RED).")],
    as_json: JsonFlag = False,
) -> None:
    """Let one more organization see a restricted submission and its findings."""
    rt = runtime()
    doc = admin_flow.share_submission(
        rt.db, viewer=LOCAL_ADMIN, submission_id=submission_id, organization=org, clock=rt.clock
    )
    emit(doc, as_json=as_json)


@vulns_app.command("list")
def vulns_list(
    search: Annotated[str | None, typer.Option(help="Id, alias or words of the title.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=10_000)] = 100,
    offset: Annotated[int, typer.Option(min=0)] = 0,
    as_json: JsonFlag = False,
) -> None:
    """List vulnerabilities (one per real flaw)."""
    rt = runtime()
    docs = read_flow.list_vulns(
        rt.db, viewer=LOCAL_ADMIN, clock=rt.clock, search=search, limit=limit, offset=offset
    )
    emit(
        docs,
        as_json=as_json,
        columns=["id", "title", "status", "tlp", "cwe", "findings", "finders", "aliases"],
    )


@vulns_app.command("show")
def vulns_show(vuln_id: str, as_json: JsonFlag = False) -> None:
    """Show one vulnerability with its findings."""
    rt = runtime()
    doc = read_flow.show_vuln(rt.db, viewer=LOCAL_ADMIN, clock=rt.clock, public_id=vuln_id)
    if as_json:
        emit_json(doc)
        return
    summary = {k: v for k, v in doc.items() if k != "findings_detail"}
    summary["findings_detail"] = [
        f"#{f['id']} {f['organization']}: {f['title']}" for f in doc["findings_detail"]
    ]
    emit(summary, as_json=False, title=doc["id"])


@vulns_app.command("merge")
def vulns_merge(into: str, other: str, as_json: JsonFlag = False) -> None:
    """Merge OTHER into INTO (an analyst decision, audited)."""
    rt = runtime()
    emit(
        triage_flow.merge(rt.db, viewer=LOCAL_ADMIN, into=into, other=other, clock=rt.clock),
        as_json=as_json,
    )


@vulns_app.command("split")
def vulns_split(
    vuln_id: str,
    finding: Annotated[list[int], typer.Option("--finding", help="Finding id to split off.")],
    as_json: JsonFlag = False,
) -> None:
    """Split findings off into a new vulnerability; the engine never re-merges them."""
    rt = runtime()
    emit(
        triage_flow.split(
            rt.db, viewer=LOCAL_ADMIN, public_id=vuln_id, finding_ids=finding, clock=rt.clock
        ),
        as_json=as_json,
    )


@audit_app.command("verify")
def audit_verify(as_json: JsonFlag = False) -> None:
    """Check the hash chain; exit 1 naming the first altered, moved or missing event."""
    rt = runtime()
    with rt.db.session() as session:
        verdict = audit_service.verify_chain(session)
    doc: dict[str, Any] = {"ok": verdict.ok, "events": verdict.events}
    if not verdict.ok:
        doc.update({"first_bad_event": verdict.first_bad_seq, "reason": verdict.reason})
    emit(doc, as_json=as_json)
    if not verdict.ok:
        sys.stderr.write(f"audit chain broken at event {verdict.first_bad_seq}: {verdict.reason}\n")
        raise typer.Exit(1)


@targets_app.command("add")
def targets_add(
    path: Annotated[Path, typer.Argument(help="Directory holding clearinghouse-target.toml.")],
    as_json: JsonFlag = False,
) -> None:
    """Register a target (copied into the data directory; re-adding the same content is a no-op)."""
    rt = runtime()
    emit(validation_flow.add_target(rt, viewer=LOCAL_ADMIN, path=path), as_json=as_json)


@targets_app.command("list")
def targets_list(as_json: JsonFlag = False) -> None:
    """List registered targets."""
    rt = runtime()
    emit(
        validation_flow.list_targets(rt),
        as_json=as_json,
        columns=["id", "name", "version", "language", "digest", "files"],
    )


@app.command("validate")
def validate(
    finding_id: int,
    wait: Annotated[bool, typer.Option("--wait", help="Run it now and print the verdict.")] = False,
    repetitions: Annotated[
        int | None, typer.Option(min=1, max=50, help="Runs of the proof (default 3).")
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Queue a reproduction of a finding's proof; with --wait, run it and print the verdict.

    The verdict (reproduced, not_reproduced, build_failed, error) is data: the exit status is 0
    whatever it is, and 1 only when the run could not be queued or failed.
    """
    rt = runtime()
    doc = validation_flow.queue_validation(
        rt, viewer=LOCAL_ADMIN, finding_id=finding_id, repetitions=repetitions, dispatch=not wait
    )
    if wait:
        validation_flow.recover_stale_runs(rt)
        validation_flow.execute_run(rt, run_id=doc["id"])
        doc = validation_flow.show_run(rt, run_id=doc["id"])
    elif not doc["dispatched"]:
        sys.stderr.write(
            f"validation run {doc['id']} is queued; no broker is configured, so run "
            "'clearinghouse validation work' or start 'clearinghouse worker --broker URL'\n"
        )
    emit(doc, as_json=as_json)
    if doc["status"] == "failed":
        sys.stderr.write(f"validation run {doc['id']} failed: {doc['error']}\n")
        raise typer.Exit(1)


@validation_app.command("show")
def validation_show(run_id: int, as_json: JsonFlag = False) -> None:
    """Show one validation run with its log."""
    rt = runtime()
    emit(validation_flow.show_run(rt, run_id=run_id), as_json=as_json)


class RunStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


@validation_app.command("list")
def validation_list(
    status: Annotated[RunStatus | None, typer.Option(help="Only runs in this state.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=10_000)] = 100,
    offset: Annotated[int, typer.Option(min=0)] = 0,
    as_json: JsonFlag = False,
) -> None:
    """List validation runs, newest first (what the workers have queued, running and done)."""
    rt = runtime()
    emit(
        validation_flow.list_runs(
            rt, status=status.value if status else None, limit=limit, offset=offset
        ),
        as_json=as_json,
        columns=["id", "finding", "target", "status", "attempts", "verdict", "crash_type"],
    )


@validation_app.command("work")
def validation_work(
    workers: Annotated[int | None, typer.Option(min=1, max=64)] = None,
    as_json: JsonFlag = False,
) -> None:
    """Recover stale runs, run every queued run with the in-process pool, print them."""
    rt = runtime()
    emit(
        validation_flow.work_queued(rt, workers=workers),
        as_json=as_json,
        columns=["id", "finding", "target", "status", "verdict", "crash_type"],
    )


@patches_app.command("validate")
def patches_validate(
    vuln_id: str,
    patch: Annotated[Path, typer.Argument(help="A unified diff that applies with patch -p1.")],
    repetitions: Annotated[
        int, typer.Option(min=1, max=50, help="Runs of each reproduced proof.")
    ] = 3,
    as_json: JsonFlag = False,
) -> None:
    """Apply a patch to a fresh copy of the vulnerability's target, rebuild, rerun its
    reproduced proofs and the functional tests, and print the verdict with its evidence.

    The verdict (fixes, does_not_fix, breaks_tests, does_not_apply, build_failed) is data: the
    exit status is 0 whatever it is, and 1 when the patch could not be judged at all.
    """
    if patch.is_symlink() or not patch.is_file():
        raise InputError(f"PATCH: {patch} is not a file")
    rt = runtime()
    emit(
        patch_flow.validate_patch(
            rt,
            viewer=LOCAL_ADMIN,
            vuln_id=vuln_id,
            diff=patch.read_bytes(),
            repetitions=repetitions,
        ),
        as_json=as_json,
    )


@app.command("serve")
def serve(
    host: Annotated[str, typer.Option()] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535)] = 8000,
    workers: Annotated[int, typer.Option(min=1, max=64)] = 1,
) -> None:
    """Serve the HTTP API (FastAPI; OpenAPI at /openapi.json)."""
    import uvicorn

    rt = runtime()  # migrate before workers start
    settings = rt.settings
    os.environ["CLEARINGHOUSE_DATA_DIR"] = str(settings.data_dir)
    if settings.database_url:
        os.environ["CLEARINGHOUSE_DATABASE_URL"] = settings.database_url
    uvicorn.run(
        "clearinghouse.web.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="info",
        # With several workers uvicorn's supervisor kills a child that has not answered its
        # health check within this time, and a child spawned afresh re-imports the whole
        # package first: on a busy machine that took over the default 5 s, and the supervisor
        # killed every new worker forever. A killed worker is still replaced at once.
        timeout_worker_healthcheck=60,
    )


@feeds_app.command("import")
def feeds_import(
    path: Annotated[Path, typer.Argument(help="A directory, an OSV all.zip, or one file.")],
    source: Annotated[str, typer.Option(help="Name of the feed, for provenance.")] = "osv",
    as_json: JsonFlag = False,
) -> None:
    """Load OSV records (JSON or YAML); newer versions of known records replace them."""
    rt = runtime()

    def progress(records: int) -> None:
        sys.stderr.write(f"read {records} records\n")

    emit(
        feeds_flow.import_feed(rt, viewer=LOCAL_ADMIN, path=path, source=source, progress=progress),
        as_json=as_json,
    )


@feeds_app.command("sync")
def feeds_sync(
    source: Annotated[str, typer.Argument(help="The feed to download: osv.")],
    ecosystem: Annotated[str, typer.Option(help="OSV ecosystem, e.g. PyPI, Go, npm.")],
    as_json: JsonFlag = False,
) -> None:
    """Download a feed (OSV's per-ecosystem all.zip) and import it; needs the internet."""
    if source != "osv":
        raise typer.BadParameter("only 'osv' can be synced", param_hint="SOURCE")
    rt = runtime()

    def progress(records: int) -> None:
        sys.stderr.write(f"read {records} records\n")

    emit(
        feeds_flow.sync_osv(rt, viewer=LOCAL_ADMIN, ecosystem=ecosystem, progress=progress),
        as_json=as_json,
    )


@feeds_app.command("kev")
def feeds_kev(
    file: Annotated[Path, typer.Argument(help="known_exploited_vulnerabilities.json")],
    as_json: JsonFlag = False,
) -> None:
    """Replace the stored CISA KEV catalog."""
    emit(feeds_flow.import_kev(runtime(), viewer=LOCAL_ADMIN, path=file), as_json=as_json)


@feeds_app.command("epss")
def feeds_epss(
    file: Annotated[Path, typer.Argument(help="FIRST's EPSS CSV (cve,epss,percentile).")],
    as_json: JsonFlag = False,
) -> None:
    """Replace the stored EPSS scores."""
    emit(feeds_flow.import_epss(runtime(), viewer=LOCAL_ADMIN, path=file), as_json=as_json)


@inventory_app.command("import")
def inventory_import(
    file: Annotated[Path, typer.Argument(help="CycloneDX (JSON/XML) or SPDX (JSON/tag-value).")],
    org: Annotated[str, typer.Option(help="The organization that runs it.")],
    product: Annotated[
        str | None, typer.Option(help="Product name (default: the one the SBOM names).")
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Store an SBOM as the organization's current inventory of its product."""
    chunks = read_chunks(file)
    rt = runtime()
    viewer = submitter_of(rt, org)
    emit(
        inventory_flow.import_inventory(
            rt, viewer=viewer, organization=org, chunks=chunks, product=product
        ),
        as_json=as_json,
    )


@inventory_app.command("vex")
def inventory_vex(
    file: Annotated[Path, typer.Argument(help="OpenVEX, CycloneDX VEX or CSAF VEX (JSON).")],
    org: Annotated[str, typer.Option(help="The organization issuing the statements.")],
    as_json: JsonFlag = False,
) -> None:
    """Record VEX statements: not_affected and fixed suppress matches, the others annotate.

    An operator's statements apply to its own inventories; a vendor's or coordinator's to
    everyone's.
    """
    chunks = read_chunks(file)
    rt = runtime()
    viewer = submitter_of(rt, org)
    emit(
        inventory_flow.import_vex(rt, viewer=viewer, organization=org, chunks=chunks),
        as_json=as_json,
    )


@inventory_app.command("list")
def inventory_list(
    org: Annotated[str, typer.Option(help="The organization.")], as_json: JsonFlag = False
) -> None:
    """The organization's current inventories, one per product."""
    rt = runtime()
    emit(
        inventory_flow.list_inventories(rt, organization=org),
        as_json=as_json,
        columns=["id", "product", "product_version", "format", "components", "created_at"],
    )


@inventory_app.command("matches")
def inventory_matches(
    org: Annotated[str, typer.Option(help="The organization.")],
    all_matches: Annotated[
        bool, typer.Option("--all", help="Include matches VEX says are not_affected or fixed.")
    ] = False,
    as_json: JsonFlag = False,
) -> None:
    """Advisories affecting the organization's current inventories, by OSV's rules."""
    rt = runtime()
    result = inventory_flow.matches(rt, organization=org, include_suppressed=all_matches)
    if as_json:
        emit_json(result["matches"])
        return
    emit(result["matches"], as_json=False, columns=["product", "purl", "vulnerability"])


@inventory_app.command("report")
def inventory_report(
    org: Annotated[str, typer.Option(help="The organization.")], as_json: JsonFlag = False
) -> None:
    """What to patch first: matches ordered by deadline, with CVSS, KEV, EPSS, SSVC and why."""
    result = inventory_flow.report(runtime(), organization=org)
    emit(
        result if as_json else result["items"],
        as_json=as_json,
        columns=["deadline", "product", "purl", "vulnerability", "ssvc", "reason"],
    )


@app.command("exposure")
def exposure(vuln_id: str, as_json: JsonFlag = False) -> None:
    """Which organizations run something a vulnerability affects (CH id, OSV id or alias)."""
    result = inventory_flow.exposure(runtime(), viewer=LOCAL_ADMIN, vuln_id=vuln_id)
    if as_json:
        emit_json(result)
        return
    emit(
        [
            {**org, "components": [c["purl"] for c in org["components"]]}
            for org in result["organizations"]
        ],
        as_json=False,
        columns=["organization", "sector", "components"],
        title=f"{result['vulnerability']}: {result['by_sector']}",
    )


@app.command("worker")
def worker(
    broker: Annotated[
        str | None,
        typer.Option(
            help="redis://127.0.0.1:6379/0 or amqp://guest:guest@127.0.0.1:5672// "
            "(default $CLEARINGHOUSE_BROKER_URL)."
        ),
    ] = None,
    concurrency: Annotated[
        int | None, typer.Option(min=1, max=64, help="Runs at once (default 2).")
    ] = None,
    queue: Annotated[str | None, typer.Option(help="Queue name (default from settings).")] = None,
    loglevel: Annotated[str, typer.Option(help="Celery log level.")] = "INFO",
    beat: Annotated[
        bool, typer.Option(help="Also run Celery beat (the scheduler); one per site.")
    ] = False,
) -> None:
    """Run a Celery worker that takes validation runs (and scheduler ticks) from the broker."""
    from clearinghouse.infra.broker import check_broker_url
    from clearinghouse.workers.celery_worker import run_worker

    rt = runtime()
    url = broker or rt.settings.broker_url
    if not url:
        raise typer.BadParameter(
            "give --broker or set CLEARINGHOUSE_BROKER_URL", param_hint="--broker"
        )
    try:
        check_broker_url(url)
    except InputError as error:
        raise typer.BadParameter(str(error), param_hint="--broker") from None
    update: dict[str, Any] = {"broker_url": url}
    if queue:
        update["broker_queue"] = queue
    rt.settings = Settings.model_validate({**rt.settings.model_dump(), **update})
    run_worker(
        rt,
        broker_url=url,
        concurrency=concurrency or rt.settings.validation_workers,
        loglevel=loglevel.upper(),
        beat=beat,
    )


def _progress_line(message: str) -> None:
    """Long work says where it is on stderr (stdout stays one JSON document under --json)."""
    sys.stderr.write(f"{message}\n")
    sys.stderr.flush()


@app.command("backup")
def backup(
    file: Annotated[Path, typer.Argument(help="The archive to write (.tar.gz).")],
    overwrite: Annotated[
        bool, typer.Option("--overwrite", help="Replace FILE if it exists.")
    ] = False,
    quiet: Annotated[bool, typer.Option("--quiet", help="No progress lines on stderr.")] = False,
    as_json: JsonFlag = False,
) -> None:
    """Write a consistent backup (tables, blobs, targets, suites; not the signing key).

    Every table is read in one transaction and every blob hash-checked as it is copied.
    """
    rt = runtime()
    doc = backup_flow.backup(
        rt, path=file, overwrite=overwrite, progress=None if quiet else _progress_line
    )
    emit(doc if as_json else {k: v for k, v in doc.items() if k != "table_rows"}, as_json=as_json)


@app.command("restore")
def restore(
    file: Annotated[Path, typer.Argument(help="An archive written by 'clearinghouse backup'.")],
    quiet: Annotated[bool, typer.Option("--quiet", help="No progress lines on stderr.")] = False,
    as_json: JsonFlag = False,
) -> None:
    """Restore a backup into an empty instance, verified; on any failure nothing is kept.

    Row counts and digests, blob hashes and the audit chain are checked before the commit.
    """
    settings = _state.settings or Settings()
    rt = Runtime.from_settings(settings)  # not migrated: restore migrates in its transaction
    try:
        doc = backup_flow.restore(rt, path=file, progress=None if quiet else _progress_line)
    finally:
        rt.close()
    emit(doc if as_json else {k: v for k, v in doc.items() if k != "table_rows"}, as_json=as_json)


@app.command("demo")
def demo(
    data_dir: Annotated[
        Path | None, typer.Option(help="Where to build the demo world (default: a fresh temp dir).")
    ] = None,
    as_json: JsonFlag = False,
    serve: Annotated[
        bool,
        typer.Option(
            "--serve",
            help="Then keep serving the API and the web interface on 127.0.0.1 with the demo "
            "data, and print a sign-in token per demo organization.",
        ),
    ] = False,
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port for --serve.")] = 8000,
) -> None:
    """Build a fresh demo world and run every capability end to end."""
    from clearinghouse.pipeline.demo import run_demo

    report = run_demo(data_dir=data_dir, echo=None if as_json else print, with_tokens=serve)
    if as_json:
        emit_json(report)
        sys.stdout.flush()  # before serving: whoever reads the pipe gets the report now
    if serve:
        _serve_demo(report, port=port, out=sys.stderr if as_json else sys.stdout)


def _serve_demo(report: dict[str, Any], *, port: int, out: TextIO) -> None:
    """Serve the demo's data directory (its own SQLite database) until interrupted; the
    address and tokens go to ``out`` (stderr under ``--json``, whose stdout is one document)."""
    import uvicorn

    base = f"http://127.0.0.1:{port}"
    lines = [
        f"Serving the demo at {base}/ (the API and the web interface; Ctrl-C stops it)",
        f"Sign in at {base}/signin with one of these tokens (analyst role):",
        *(f"  {item['organization']:<30} {item['token']}" for item in report["sign_in"]),
    ]
    out.write("\n".join(lines) + "\n")
    out.flush()
    os.environ["CLEARINGHOUSE_DATA_DIR"] = str(report["data_dir"])
    os.environ.pop("CLEARINGHOUSE_DATABASE_URL", None)  # the demo's database is its own
    uvicorn.run(
        "clearinghouse.web.app:create_app",
        factory=True,
        host="127.0.0.1",
        port=port,
        log_level="warning",
    )


def main() -> None:
    try:
        code = app(standalone_mode=False)
        if isinstance(code, int) and code:
            sys.exit(code)
    except ClearinghouseError as error:
        sys.stderr.write(f"error: {error}\n")
        sys.exit(1)
    except typer.Exit as done:
        sys.exit(done.exit_code)
    except typer.Abort:
        sys.stderr.write("aborted\n")
        sys.exit(1)
    except Exception as error:
        # Typer's bundled click raises its own UsageError (exit code 2) and ClickException
        # (exit code 1); they carry the code and know how to print themselves.
        exit_code = getattr(error, "exit_code", None)
        show = getattr(error, "show", None)
        if isinstance(exit_code, int) and callable(show):
            show()
            sys.exit(exit_code)
        if os.environ.get("CLEARINGHOUSE_DEBUG"):
            raise
        first_line = str(error).splitlines()[0] if str(error) else ""
        sys.stderr.write(
            f"internal error: {type(error).__name__}: {first_line} "
            "(set CLEARINGHOUSE_DEBUG=1 for the traceback)\n"
        )
        sys.exit(1)


if __name__ == "__main__":
    main()
