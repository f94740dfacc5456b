"""CLI for scan coordination: scope claims and proofs, owner policy and kill switch,
authorizations, campaigns, the source lookup, allow-lists, and open-source leases. The local
operator may act for any organization (``--org``)."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path
from typing import Annotated

import typer

from clearinghouse.access.roles import Role
from clearinghouse.cli.disclosure import actor, cli_runtime, instant
from clearinghouse.cli.output import emit
from clearinghouse.core.errors import InputError
from clearinghouse.pipeline import scan_flow

scans_app = typer.Typer(
    help="Scan coordination: scope, authorizations, campaigns, lookups, leases.",
    no_args_is_help=True,
)

JsonFlag = Annotated[bool, typer.Option("--json", help="Print one JSON document.")]
Org = Annotated[str, typer.Option("--org", help="The organization acted for.")]


def _required(text: str | None, name: str) -> dt.datetime:
    value = instant(text, name)
    if value is None:
        raise InputError(f"{name}: required")
    return value


@scans_app.command("claim")
def claim(
    org: Org,
    domain: Annotated[str, typer.Option(help="The domain whose DNS or web server proves it.")],
    network: Annotated[list[str] | None, typer.Option(help="CIDR (repeatable).")] = None,
    hostname: Annotated[list[str] | None, typer.Option(help="Hostname (repeatable).")] = None,
    code: Annotated[list[str] | None, typer.Option(help="Repository or purl (repeatable).")] = None,
    fragile: Annotated[bool, typer.Option(help="Never actively scanned.")] = False,
    as_json: JsonFlag = False,
) -> None:
    """Claim scope; prints the DNS TXT record and HTTP token that prove it."""
    rt = cli_runtime()
    emit(
        scan_flow.claim_scope(
            rt,
            viewer=actor(rt, org),
            organization=org,
            networks=network or [],
            hostnames=hostname or [],
            code=code or [],
            domain=domain,
            fragile=fragile,
        ),
        as_json=as_json,
    )


@scans_app.command("verify")
def verify(
    org: Org,
    method: Annotated[str, typer.Option(help="dns or http.")] = "dns",
    nameserver: Annotated[
        list[str] | None, typer.Option(help="Ask this server (repeatable).")
    ] = None,
    dns_port: Annotated[int, typer.Option(min=1, max=65535)] = 53,
    base_url: Annotated[str | None, typer.Option(help="Where the HTTP token is served.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Check the claim's challenge (DNS TXT or HTTP well-known token); exit 1 if not found."""
    rt = cli_runtime()
    result = scan_flow.verify_scope(
        rt,
        viewer=actor(rt, org),
        organization=org,
        method=method,
        nameservers=nameserver or None,
        dns_port=dns_port,
        base_url=base_url,
    )
    emit(result, as_json=as_json)
    if not result["ok"]:
        raise typer.Exit(1)


@scans_app.command("policy")
def policy(
    org: Org,
    timezone: Annotated[str | None, typer.Option(help="IANA zone of the windows.")] = None,
    rate_cap: Annotated[int | None, typer.Option(help="Shared packets/s for all scanners.")] = None,
    exclusive: Annotated[bool | None, typer.Option(help="One scanner at a time.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Set the owner's time zone, shared throttle and exclusivity."""
    rt = cli_runtime()
    emit(
        scan_flow.set_policy(
            rt,
            viewer=actor(rt, org),
            organization=org,
            timezone=timezone,
            rate_cap_pps=rate_cap,
            exclusive=exclusive,
        ),
        as_json=as_json,
    )


@scans_app.command("kill-switch")
def kill_switch(
    org: Org,
    off: Annotated[bool, typer.Option("--off", help="Resume scanning.")] = False,
    as_json: JsonFlag = False,
) -> None:
    """Pause every scan of the organization's assets at once (audited)."""
    rt = cli_runtime()
    emit(
        scan_flow.kill_switch(rt, viewer=actor(rt, org), organization=org, on=not off),
        as_json=as_json,
    )


@scans_app.command("authorize")
def authorize(
    org: Org,
    scanner: Annotated[str, typer.Option(help="The scanning organization.")],
    windows: Annotated[str, typer.Option(help="e.g. 'mon-fri 22:00-06:00; sat 00:00-24:00'.")],
    technique: Annotated[list[str], typer.Option(help="Allowed technique (repeatable).")],
    max_rate: Annotated[int, typer.Option(help="Packets per second.")],
    expires: Annotated[str, typer.Option(help="ISO 8601 instant with zone.")],
    network: Annotated[list[str] | None, typer.Option(help="CIDR (repeatable).")] = None,
    hostname: Annotated[list[str] | None, typer.Option(help="Hostname (repeatable).")] = None,
    max_concurrency: Annotated[int, typer.Option()] = 4,
    as_json: JsonFlag = False,
) -> None:
    """Grant a scanner part of the organization's verified scope, in weekly windows."""
    rt = cli_runtime()
    emit(
        scan_flow.authorize(
            rt,
            viewer=actor(rt, org),
            owner=org,
            scanner=scanner,
            ranges=network or [],
            hostnames=hostname or [],
            windows=windows,
            techniques=technique,
            max_rate_pps=max_rate,
            max_concurrency=max_concurrency,
            expires_at=_required(expires, "--expires"),
        ),
        as_json=as_json,
    )


@scans_app.command("revoke")
def revoke(authorization_id: int, org: Org, as_json: JsonFlag = False) -> None:
    """Revoke an authorization at once."""
    rt = cli_runtime()
    emit(
        scan_flow.revoke(rt, viewer=actor(rt, org), authorization_id=authorization_id),
        as_json=as_json,
    )


@scans_app.command("declare")
def declare(
    org: Org,
    source: Annotated[list[str], typer.Option(help="Source CIDR (repeatable).")],
    start: Annotated[str, typer.Option(help="ISO 8601 instant with zone.")],
    end: Annotated[str, typer.Option(help="ISO 8601 instant with zone.")],
    technique: Annotated[str, typer.Option()],
    rate: Annotated[int, typer.Option(help="Packets per second.")],
    target: Annotated[list[str] | None, typer.Option(help="Target CIDR (repeatable).")] = None,
    hostname: Annotated[list[str] | None, typer.Option(help="Target host (repeatable).")] = None,
    concurrency: Annotated[int, typer.Option()] = 1,
    contact: Annotated[str, typer.Option(help="How a defender reaches you.")] = "",
    as_json: JsonFlag = False,
) -> None:
    """Declare a campaign: a ticket, or exit 1 with every reason it is refused."""
    rt = cli_runtime()
    emit(
        scan_flow.declare_campaign(
            rt,
            viewer=actor(rt, org, role=Role.SUBMITTER),
            scanner=org,
            targets=target or [],
            hostnames=hostname or [],
            sources=source,
            start=_required(start, "--start"),
            end=_required(end, "--end"),
            technique=technique,
            rate_pps=rate,
            concurrency=concurrency,
            contact=contact,
        ),
        as_json=as_json,
    )


@scans_app.command("lookup")
def lookup(
    ip: str,
    at: Annotated[str | None, typer.Option(help="ISO 8601 instant (default now).")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Was an authorized scan coming from IP at that time, whose, and how to reach them?"""
    rt = cli_runtime()
    emit(
        scan_flow.lookup(rt, ip=ip, at=instant(at, "--at"), viewer=actor(rt, None)),
        as_json=as_json,
    )


@scans_app.command("allowlist")
def allowlist(
    org: Org,
    format: Annotated[str, typer.Option(help="csv, json or stix.")] = "csv",
) -> None:
    """The organization's allow-list of authorized scanning sources, for its SIEM."""
    rt = cli_runtime()
    sys.stdout.buffer.write(
        scan_flow.export_allowlist(rt, viewer=actor(rt, org), organization=org, fmt=format)
    )


@scans_app.command("project")
def project(
    name: str,
    signal: Annotated[
        list[str] | None, typer.Option(help="NAME=VALUE criticality signal (repeatable).")
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Register an open-source project with its OpenSSF criticality signals."""
    values: dict[str, float] = {}
    for item in signal or []:
        key, _, value = item.partition("=")
        try:
            values[key.strip()] = float(value)
        except ValueError:
            raise InputError(f"--signal: {item!r} is not NAME=NUMBER") from None
    rt = cli_runtime()
    emit(
        scan_flow.add_project(rt, viewer=actor(rt, None), name=name, signals=values),
        as_json=as_json,
    )


@scans_app.command("lease")
def lease(
    org: Org,
    count: Annotated[int, typer.Option(min=1, max=100)] = 5,
    as_json: JsonFlag = False,
) -> None:
    """Lease the next open-source targets for the organization."""
    rt = cli_runtime()
    emit(
        scan_flow.next_targets(rt, viewer=actor(rt, org), organization=org, count=count),
        as_json=as_json,
        columns=["project", "score", "expires_at"],
    )


@scans_app.command("complete")
def complete(
    org: Org,
    project: str,
    commit: Annotated[str, typer.Option()],
    technique: Annotated[str, typer.Option()] = "vulnerability-scan",
    as_json: JsonFlag = False,
) -> None:
    """Record a completed scan as coverage and end the lease."""
    rt = cli_runtime()
    emit(
        scan_flow.complete_scan(
            rt,
            viewer=actor(rt, org),
            organization=org,
            project=project,
            commit=commit,
            technique=technique,
        ),
        as_json=as_json,
    )


@scans_app.command("toolchain")
def toolchain(
    directory: Annotated[
        Path | None, typer.Argument(help="Where (default: the scanner_toolchain setting).")
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Build the scanners' own venv (flawfinder, bandit, semgrep) with the system Python."""
    from clearinghouse.validation.scanners import SCANNER_PINS, install_toolchain

    rt = cli_runtime()
    target = directory or rt.settings.scanner_dir
    path = install_toolchain(target.resolve(), progress=lambda line: typer.echo(line, err=True))
    emit({"toolchain": str(path), "scanners": list(SCANNER_PINS)}, as_json=as_json)


@scans_app.command("run")
def run(
    org: Org,
    target: Annotated[str, typer.Argument(help="A registered target's name.")],
    scanner: Annotated[
        list[str] | None, typer.Option(help="flawfinder, bandit, semgrep (default: all).")
    ] = None,
    fuzz_seconds: Annotated[
        int | None, typer.Option(min=0, max=3600, help="libFuzzer budget (0: no fuzzing).")
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Scanning as a service: run the scanners (and a fuzzing job) on a target the
    organization owns or leased, inside the sandbox, and import what they find."""
    from clearinghouse.pipeline import scan_service

    rt = cli_runtime()
    emit(
        scan_service.run_service(
            rt,
            viewer=actor(rt, org),
            organization=org,
            target=target,
            static=scanner or scan_service.STATIC_SCANNERS,
            fuzz_seconds=fuzz_seconds,
        ),
        as_json=as_json,
    )
