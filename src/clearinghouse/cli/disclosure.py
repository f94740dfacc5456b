"""CLI for coordinated disclosure: the vendor directory, cases, advisories, notifications and
the outbox. The local operator acts as the coordinator; ``--as ORG`` acts as a member of that
organization (a vendor setting its status, an operator answering a notification)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated

import typer

from clearinghouse.access import service as access_service
from clearinghouse.access.roles import Role
from clearinghouse.access.visibility import LOCAL_ADMIN, Viewer
from clearinghouse.cli.output import emit, emit_json
from clearinghouse.core.errors import InputError
from clearinghouse.pipeline import case_flow, publish_flow, scheduler
from clearinghouse.pipeline.runtime import Runtime

directory_app = typer.Typer(
    help="The vendor directory: contacts, keys, package-URL namespaces, endpoints.",
    no_args_is_help=True,
)
cases_app = typer.Typer(help="Coordinated-disclosure cases.", no_args_is_help=True)
advisories_app = typer.Typer(help="Publish and serve advisories.", no_args_is_help=True)
notifications_app = typer.Typer(help="Notifications and operators' answers.", no_args_is_help=True)
outbox_app = typer.Typer(help="The notification outbox.", no_args_is_help=True)

JsonFlag = Annotated[bool, typer.Option("--json", help="Print one JSON document.")]
AsOrg = Annotated[str | None, typer.Option("--as", help="Act as a member of this organization.")]


def cli_runtime() -> Runtime:
    from clearinghouse.cli.main import runtime

    return runtime()


def actor(rt: Runtime, org: str | None, *, role: Role = Role.ANALYST) -> Viewer:
    """The local operator, or a member of ``org`` with ``role``."""
    if org is None:
        return LOCAL_ADMIN
    with rt.db.session() as session:
        organization = access_service.get_org_by_name_or_raise(session, name=org)
        return access_service.viewer_for_org(organization, role=role)


def instant(text: str | None, name: str) -> dt.datetime | None:
    if text is None:
        return None
    try:
        value = dt.datetime.fromisoformat(text)
    except ValueError:
        raise InputError(f"{name}: {text!r} is not an ISO 8601 instant") from None
    if value.tzinfo is None:
        raise InputError(f"{name}: {text!r} has no time zone; add Z or an offset")
    return value


# --- directory ------------------------------------------------------------------------------


@directory_app.command("set")
def directory_set(
    organization: str,
    contact: Annotated[list[str] | None, typer.Option(help="Contact URI (repeatable).")] = None,
    security_txt: Annotated[
        Path | None, typer.Option(help="An RFC 9116 security.txt to take contacts from.")
    ] = None,
    namespace: Annotated[
        list[str] | None, typer.Option(help="A package-URL prefix the org owns (repeatable).")
    ] = None,
    openpgp_key: Annotated[Path | None, typer.Option(help="Armored public key file.")] = None,
    disclosure_days: Annotated[
        int | None, typer.Option(min=1, max=3650, help="A finder's own disclosure policy.")
    ] = None,
    email: Annotated[str | None, typer.Option(help="Notification e-mail address.")] = None,
    webhook: Annotated[str | None, typer.Option(help="Notification webhook URL.")] = None,
    webhook_secret: Annotated[str | None, typer.Option(help="Webhook HMAC secret.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Fill an organization's directory entry."""
    if security_txt is not None and not security_txt.is_file():
        raise InputError(f"--security-txt: {security_txt} is not a file")
    if openpgp_key is not None and not openpgp_key.is_file():
        raise InputError(f"--openpgp-key: {openpgp_key} is not a file")
    rt = cli_runtime()
    emit(
        case_flow.set_directory(
            rt,
            viewer=LOCAL_ADMIN,
            organization=organization,
            contacts=contact or [],
            security_txt=security_txt.read_bytes()[: 1 << 20] if security_txt else None,
            namespaces=namespace or [],
            openpgp_key=openpgp_key.read_text(errors="replace") if openpgp_key else None,
            disclosure_days=disclosure_days,
            email=email,
            webhook=webhook,
            webhook_secret=webhook_secret,
        ),
        as_json=as_json,
    )


@directory_app.command("show")
def directory_show(organization: str, as_json: JsonFlag = False) -> None:
    rt = cli_runtime()
    emit(
        case_flow.show_directory(rt, viewer=LOCAL_ADMIN, organization=organization), as_json=as_json
    )


# --- cases ----------------------------------------------------------------------------------


@cases_app.command("open")
def cases_open(
    vuln_ids: Annotated[list[str], typer.Argument(help="CH-YYYY-NNNNN ids.")],
    title: Annotated[str | None, typer.Option(help="Case title (default: the first's).")] = None,
    vendor: Annotated[list[str] | None, typer.Option(help="Add this vendor (repeatable).")] = None,
    allow_unvalidated: Annotated[
        bool, typer.Option(help="Open on vulnerabilities without a reproduced proof.")
    ] = False,
    as_json: JsonFlag = False,
) -> None:
    """Open a case; vendors owning an affected package URL are added automatically."""
    rt = cli_runtime()
    emit(
        case_flow.open_case(
            rt,
            viewer=LOCAL_ADMIN,
            vuln_ids=vuln_ids,
            title=title,
            vendors=vendor or [],
            allow_unvalidated=allow_unvalidated,
        ),
        as_json=as_json,
    )


@cases_app.command("list")
def cases_list(as_org: AsOrg = None, as_json: JsonFlag = False) -> None:
    rt = cli_runtime()
    emit(
        case_flow.list_cases(rt, viewer=actor(rt, as_org)),
        as_json=as_json,
        columns=["id", "title", "status", "embargo", "embargo_until"],
    )


@cases_app.command("show")
def cases_show(case_id: str, as_org: AsOrg = None, as_json: JsonFlag = False) -> None:
    rt = cli_runtime()
    emit(case_flow.show_case(rt, viewer=actor(rt, as_org), case_id=case_id), as_json=as_json)


@cases_app.command("add")
def cases_add(
    case_id: str,
    organization: str,
    role: Annotated[str, typer.Option(help="vendor, reporter or coordinator.")] = "vendor",
    as_json: JsonFlag = False,
) -> None:
    rt = cli_runtime()
    emit(
        case_flow.add_participant(
            rt, viewer=LOCAL_ADMIN, case_id=case_id, organization=organization, role=role
        ),
        as_json=as_json,
    )


@cases_app.command("status")
def cases_status(
    case_id: str,
    vuln_id: str,
    status: Annotated[str, typer.Option(help="unknown|affected|not_affected|fixed|no_response")],
    statement: Annotated[str, typer.Option(help="The vendor's statement.")] = "",
    product: Annotated[str | None, typer.Option(help="Product package URL.")] = None,
    fixed_version: Annotated[str | None, typer.Option(help="First fixed version.")] = None,
    vendor: Annotated[
        str | None, typer.Option(help="As coordinator: set this vendor's status.")
    ] = None,
    as_org: AsOrg = None,
    as_json: JsonFlag = False,
) -> None:
    """A vendor states its status (``--as VENDOR``); it shows to others once approved."""
    rt = cli_runtime()
    emit(
        case_flow.set_status(
            rt,
            viewer=actor(rt, as_org, role=Role.SUBMITTER),
            case_id=case_id,
            vuln_id=vuln_id,
            status=status,
            statement=statement,
            product=product,
            fixed_version=fixed_version,
            vendor=vendor,
        ),
        as_json=as_json,
    )


@cases_app.command("approve")
def cases_approve(case_id: str, vuln_id: str, vendor: str, as_json: JsonFlag = False) -> None:
    rt = cli_runtime()
    emit(
        case_flow.approve_status(
            rt, viewer=LOCAL_ADMIN, case_id=case_id, vuln_id=vuln_id, vendor=vendor
        ),
        as_json=as_json,
    )


@cases_app.command("describe")
def cases_describe(
    case_id: str,
    vuln_id: str,
    cvss_v3: Annotated[str | None, typer.Option(help="A CVSS:3.x vector.")] = None,
    cvss_v4: Annotated[str | None, typer.Option(help="A CVSS:4.0 vector.")] = None,
    cve: Annotated[str | None, typer.Option(help="The CVE id assigned.")] = None,
    title: Annotated[str | None, typer.Option()] = None,
    description: Annotated[str | None, typer.Option()] = None,
    as_json: JsonFlag = False,
) -> None:
    """Set what the advisory says of one vulnerability."""
    rt = cli_runtime()
    emit(
        case_flow.describe_vulnerability(
            rt,
            viewer=LOCAL_ADMIN,
            case_id=case_id,
            vuln_id=vuln_id,
            cvss_v3=cvss_v3,
            cvss_v4=cvss_v4,
            cve=cve,
            title=title,
            description=description,
        ),
        as_json=as_json,
    )


@cases_app.command("embargo")
def cases_embargo(
    case_id: str,
    action: Annotated[str, typer.Argument(help="agree, extend, accept, lift or break.")],
    until: Annotated[
        str | None, typer.Option(help="ISO 8601 instant with zone (extend, accept).")
    ] = None,
    reason: Annotated[str, typer.Option(help="Why (extend, break).")] = "",
    as_org: AsOrg = None,
    as_json: JsonFlag = False,
) -> None:
    rt = cli_runtime()
    emit(
        case_flow.embargo_action(
            rt,
            viewer=actor(rt, as_org, role=Role.SUBMITTER),
            case_id=case_id,
            action=action,
            until=instant(until, "--until"),
            reason=reason,
        ),
        as_json=as_json,
    )


@cases_app.command("message")
def cases_message(
    case_id: str,
    body: Annotated[str, typer.Option(help="The message text.")],
    thread: Annotated[str, typer.Option(help="'case' or a product package URL.")] = "case",
    to: Annotated[str | None, typer.Option(help="Private to this organization.")] = None,
    tlp: Annotated[str, typer.Option(help="TLP label.")] = "AMBER",
    as_org: AsOrg = None,
    as_json: JsonFlag = False,
) -> None:
    rt = cli_runtime()
    emit(
        case_flow.post_message(
            rt,
            viewer=actor(rt, as_org, role=Role.SUBMITTER),
            case_id=case_id,
            body=body,
            thread=thread,
            to=to,
            tlp=tlp,
        ),
        as_json=as_json,
    )


@cases_app.command("messages")
def cases_messages(case_id: str, as_org: AsOrg = None) -> None:
    """Messages by thread (always JSON)."""
    rt = cli_runtime()
    emit_json(case_flow.list_messages(rt, viewer=actor(rt, as_org), case_id=case_id))


@cases_app.command("patch")
def cases_patch(
    case_id: str,
    vuln_id: str,
    patch: Annotated[Path, typer.Argument(help="A unified diff (patch -p1).")],
    fixed_version: Annotated[str | None, typer.Option(help="The release with the fix.")] = None,
    as_org: AsOrg = None,
    as_json: JsonFlag = False,
) -> None:
    """Upload a vendor patch; the sandbox judges it and every participant sees the verdict."""
    if patch.is_symlink() or not patch.is_file():
        raise InputError(f"PATCH: {patch} is not a file")
    rt = cli_runtime()
    emit(
        case_flow.upload_patch(
            rt,
            viewer=actor(rt, as_org, role=Role.SUBMITTER),
            case_id=case_id,
            vuln_id=vuln_id,
            diff=patch.read_bytes()[: 1 << 21],
            fixed_version=fixed_version,
        ),
        as_json=as_json,
    )


@cases_app.command("prenotify")
def cases_prenotify(case_id: str, as_json: JsonFlag = False) -> None:
    """Warn exposed operators under embargo (TLP:AMBER+STRICT)."""
    rt = cli_runtime()
    emit(publish_flow.prenotify(rt, viewer=LOCAL_ADMIN, case_id=case_id), as_json=as_json)


@cases_app.command("rates")
def cases_rates(case_id: str, as_json: JsonFlag = False) -> None:
    """How many exposed operators were told, answered, and remediated."""
    rt = cli_runtime()
    emit(publish_flow.response_rates(rt, viewer=LOCAL_ADMIN, case_id=case_id), as_json=as_json)


@cases_app.command("tick")
def cases_tick(as_json: JsonFlag = False) -> None:
    """Run the scheduler once: lift due embargoes, remind/escalate vendors, deliver the outbox."""
    rt = cli_runtime()
    emit(scheduler.tick(rt), as_json=as_json)


# --- advisories -----------------------------------------------------------------------------


@advisories_app.command("publish")
def advisories_publish(
    case_id: str,
    summary: Annotated[str, typer.Option(help="The revision's summary.")] = "",
    as_json: JsonFlag = False,
) -> None:
    """Publish (or revise) a case's advisory once its embargo has ended."""
    rt = cli_runtime()
    emit(
        publish_flow.publish(rt, viewer=LOCAL_ADMIN, case_id=case_id, summary=summary),
        as_json=as_json,
    )


@advisories_app.command("show")
def advisories_show(
    case_id: str,
    version: Annotated[int | None, typer.Option(min=1)] = None,
    kind: Annotated[str | None, typer.Option(help="csaf, csaf_vex, osv, cve, md or html.")] = None,
) -> None:
    """A published advisory's documents (JSON), or one document's body with --kind."""
    rt = cli_runtime()
    docs = publish_flow.advisory_documents(rt, case_id=case_id, version=version)
    if kind is None:
        emit_json(docs)
        return
    chosen = [d for d in docs if d["kind"] == kind]
    if not chosen:
        raise InputError(f"--kind: {case_id} has no {kind} document")
    for doc in chosen:
        typer.echo(doc["body"], nl=False)


@advisories_app.command("export")
def advisories_export(
    directory: Annotated[Path, typer.Argument(help="Where to write the static CSAF tree.")],
    as_json: JsonFlag = False,
) -> None:
    """Write every published advisory in the CSAF trusted-provider layout, signed."""
    rt = cli_runtime()
    emit(publish_flow.export_provider(rt, directory=directory), as_json=as_json)


@advisories_app.command("verify")
def advisories_verify(directory: Path, as_json: JsonFlag = False) -> None:
    """Check an exported tree: hashes, signatures and listings. Exit 1 on any problem."""
    from clearinghouse.advisories.provider import verify_tree

    rt = cli_runtime()
    key = publish_flow.signing_key(rt)
    problems = verify_tree(directory, key.public_armored.encode())
    result = {"directory": str(directory), "problems": problems, "ok": not problems}
    emit(result, as_json=as_json)
    if problems:
        raise typer.Exit(1)


# --- notifications and outbox ---------------------------------------------------------------


@notifications_app.command("list")
def notifications_list(as_org: AsOrg = None, as_json: JsonFlag = False) -> None:
    rt = cli_runtime()
    emit(
        publish_flow.list_notifications(rt, viewer=actor(rt, as_org, role=Role.VIEWER)),
        as_json=as_json,
        columns=["id", "case", "kind", "tlp", "deadline", "response", "subject"],
    )


@notifications_app.command("respond")
def notifications_respond(
    notification_id: int,
    status: Annotated[str, typer.Option(help="acknowledged|remediated|mitigated|not_affected")],
    statement: Annotated[str, typer.Option()] = "",
    as_org: AsOrg = None,
    as_json: JsonFlag = False,
) -> None:
    rt = cli_runtime()
    emit(
        publish_flow.respond(
            rt,
            viewer=actor(rt, as_org, role=Role.SUBMITTER),
            notification_id=notification_id,
            response=status,
            statement=statement,
        ),
        as_json=as_json,
    )


@outbox_app.command("list")
def outbox_list(
    status: Annotated[str | None, typer.Option(help="pending, sent or dead.")] = None,
    as_json: JsonFlag = False,
) -> None:
    rt = cli_runtime()
    emit(
        publish_flow.list_outbox(rt, status=status),
        as_json=as_json,
        columns=["id", "channel", "recipient", "status", "attempts", "last_error"],
    )


@outbox_app.command("deliver")
def outbox_deliver(as_json: JsonFlag = False) -> None:
    """Deliver what is due now, once."""
    rt = cli_runtime()
    emit(publish_flow.deliver_due(rt), as_json=as_json)
