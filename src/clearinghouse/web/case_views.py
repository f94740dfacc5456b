"""The vendor case room: the cases a viewer takes part in (``/cases``), one case's room
(``/cases/{id}``: participants, the vendor x vulnerability status matrix, the embargo with its
countdown, threaded messages per product, patches with their validation verdicts) and the
advisory as it would be published (``/cases/{id}/advisory``, a preview).

Thin: the reads are ``pipeline.case_room``'s, every write is the ``case_flow`` function the API
calls, with the role the API asks for (``Action.SUBMIT``). A case the viewer does not take part
in is a 404 page for every route, asked first (``case_room.check_access``), so an outsider learns
nothing, not even from a refused role. A write the domain refuses for its input (a message too
long, a patch too large, an embargo date in the past) answers its status with the reason naming
the field: for htmx beside the form (``HX-Retarget``), otherwise as the error page.

A patch arrives as ``multipart/form-data`` (a file input, read by ``web.uploads``); its size is
capped while it streams in, before anything is parsed or stored.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request, Response
from fastapi.responses import RedirectResponse
from starlette.concurrency import run_in_threadpool

from clearinghouse.access.roles import Action, require
from clearinghouse.access.visibility import Viewer
from clearinghouse.core.errors import ConflictError, InputError, TooLargeError
from clearinghouse.pipeline import case_flow, case_room
from clearinghouse.pipeline.runtime import Runtime
from clearinghouse.validation.patching import MAX_DIFF_BYTES
from clearinghouse.web import uploads
from clearinghouse.web.pages import WebRoute, is_htmx, render, signed_in, web_state
from clearinghouse.web.security import read_form

router = APIRouter(route_class=WebRoute, include_in_schema=False)

CaseId = Annotated[str, Path(max_length=32)]

STATUS_LABELS = {
    "unknown": "Unknown",
    "affected": "Affected",
    "not_affected": "Not affected",
    "fixed": "Fixed",
    "no_response": "No response",
    "not_shared": "Not shared yet",
}
VENDOR_CHOICES = ("unknown", "affected", "not_affected", "fixed")
VERDICT_LABELS = {
    "fixes": "Fixes",
    "does_not_fix": "Does not fix",
    "breaks_tests": "Breaks tests",
    "does_not_apply": "Does not apply",
    "build_failed": "Build failed",
    "refused": "Refused",
}
EMBARGO_LABELS = {
    "proposed": "Proposed",
    "agreed": "Agreed",
    "extended": "Extended",
    "lifted": "Lifted",
    "broken": "Broken",
}
# Multipart framing around the diff (boundaries, headers, the two small fields).
MULTIPART_SLACK_BYTES = 16 * 1024
MAX_PATCH_FIELD_CHARS = 200
_FORM_ID = re.compile(r"[a-z][a-z0-9-]{0,60}")


def _viewer(request: Request) -> tuple[Viewer, Runtime]:
    viewer = signed_in(request).viewer
    require(role=viewer.role, kind=viewer.kind, action=Action.READ)
    return viewer, web_state(request).runtime


def remaining(until: dt.datetime, now: dt.datetime) -> str:
    """``12 days, 3 hours, 5 minutes``: the countdown as the server renders it (the page's
    script then ticks it every second)."""
    seconds = int((until - now).total_seconds())
    if seconds <= 0:
        return "the embargo date has passed"
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    parts = [(days, "day"), (hours, "hour"), (minutes, "minute")]
    shown = [f"{n} {unit}{'s' if n != 1 else ''}" for n, unit in parts if n]
    return ", ".join(shown) or "less than a minute"


def _context(doc: dict[str, Any], now: dt.datetime) -> dict[str, Any]:
    until = dt.datetime.fromisoformat(doc["embargo"]["until"])
    return {
        "case": doc,
        "matrix": case_room.matrix(doc),
        "remaining": remaining(until, now),
        "status_labels": STATUS_LABELS,
        "vendor_choices": VENDOR_CHOICES,
        "verdict_labels": VERDICT_LABELS,
        "embargo_labels": EMBARGO_LABELS,
        "max_message_chars": case_flow.MAX_MESSAGE_CHARS,
        "max_statement_chars": case_flow.MAX_STATEMENT_CHARS,
        "max_patch_bytes": MAX_DIFF_BYTES,
    }


def _room(viewer: Viewer, runtime: Runtime, case_id: str) -> dict[str, Any]:
    doc = case_room.room(runtime, viewer=viewer, case_id=case_id)
    return _context(doc, runtime.clock.now())


def _field_error(request: Request, error: InputError | ConflictError) -> Response:
    """The refusal beside the form that sent it (``#<form id>-error``), with its status; a
    request without htmx gets the error page."""
    form_id = request.headers.get("hx-trigger", "")
    if not is_htmx(request) or not _FORM_ID.fullmatch(form_id):
        raise error
    return render(
        request,
        "_case_form_error.html.j2",
        status=error.status,
        error=error,
        headers={"HX-Retarget": f"#{form_id}-error", "HX-Reswap": "innerHTML"},
    )


# --- pages -----------------------------------------------------------------------------------


@router.get("/cases")
def cases(request: Request) -> Response:
    viewer, runtime = _viewer(request)
    rows = case_room.case_summaries(runtime, viewer=viewer)
    return render(
        request,
        "cases.html.j2",
        active="cases",
        cases=rows,
        status_labels=STATUS_LABELS,
        embargo_labels=EMBARGO_LABELS,
    )


@router.get("/cases/{case_id}")
def case(request: Request, case_id: CaseId) -> Response:
    viewer, runtime = _viewer(request)
    return render(request, "case.html.j2", active="cases", **_room(viewer, runtime, case_id))


@router.get("/cases/{case_id}/advisory")
def advisory_preview(request: Request, case_id: CaseId) -> Response:
    viewer, runtime = _viewer(request)
    preview = case_room.advisory_preview(runtime, viewer=viewer, case_id=case_id)
    return render(
        request,
        "case_advisory.html.j2",
        active="cases",
        preview=preview,
        page=preview["page"],
        embargo_labels=EMBARGO_LABELS,
    )


# --- writes ----------------------------------------------------------------------------------


def _writer(request: Request, case_id: str) -> tuple[Viewer, Runtime]:
    """The viewer, once the case is known to be theirs (else 404) and their role may write."""
    viewer = signed_in(request).viewer
    runtime = web_state(request).runtime
    case_room.check_access(runtime, viewer=viewer, case_id=case_id)
    require(role=viewer.role, kind=viewer.kind, action=Action.SUBMIT)
    return viewer, runtime


def _text(form: dict[str, str], name: str) -> str:
    return form.get(name, "").strip()


def _optional(form: dict[str, str], name: str) -> str | None:
    return _text(form, name) or None


@router.post("/cases/{case_id}/messages")
async def post_message(request: Request, case_id: CaseId) -> Response:
    """A message in a thread (the case's or a product's), to everyone or one participant; htmx
    gets the message to append to its thread."""
    form = await read_form(request)
    viewer, runtime = await run_in_threadpool(_writer, request, case_id)
    body = form.get("body", "")
    thread = _text(form, "thread") or case_room.CASE_THREAD
    try:
        message = await run_in_threadpool(
            lambda: case_flow.post_message(
                runtime,
                viewer=viewer,
                case_id=case_id,
                body=body,
                thread=thread,
                to=_optional(form, "to"),
                tlp=_text(form, "tlp") or "AMBER",
            )
        )
    except (InputError, ConflictError) as error:
        return _field_error(request, error)
    if not is_htmx(request):
        return RedirectResponse(f"/cases/{case_id}#messages", status_code=303)
    return render(request, "_case_message.html.j2", message=message, fresh=True)


@router.post("/cases/{case_id}/statuses")
async def set_status(request: Request, case_id: CaseId) -> Response:
    """A vendor states its status of one vulnerability; htmx gets the matrix back."""
    form = await read_form(request)
    viewer, runtime = await run_in_threadpool(_writer, request, case_id)
    try:
        await run_in_threadpool(
            lambda: case_flow.set_status(
                runtime,
                viewer=viewer,
                case_id=case_id,
                vuln_id=_text(form, "vulnerability"),
                status=_text(form, "status"),
                statement=form.get("statement", "").strip(),
                fixed_version=_optional(form, "fixed_version"),
            )
        )
    except (InputError, ConflictError) as error:
        return _field_error(request, error)
    return await _matrix_answer(request, viewer, runtime, case_id)


@router.post("/cases/{case_id}/statuses/approve")
async def approve_status(request: Request, case_id: CaseId) -> Response:
    """A coordinator shares a vendor's statement with the other participants."""
    form = await read_form(request)
    viewer, runtime = await run_in_threadpool(_writer, request, case_id)
    await run_in_threadpool(
        lambda: case_flow.approve_status(
            runtime,
            viewer=viewer,
            case_id=case_id,
            vuln_id=_text(form, "vulnerability"),
            vendor=_text(form, "vendor"),
        )
    )
    return await _matrix_answer(request, viewer, runtime, case_id)


async def _matrix_answer(
    request: Request, viewer: Viewer, runtime: Runtime, case_id: str
) -> Response:
    if not is_htmx(request):
        return RedirectResponse(f"/cases/{case_id}#matrix", status_code=303)
    context = await run_in_threadpool(_room, viewer, runtime, case_id)
    return render(request, "_case_matrix.html.j2", **context)


def _until(value: str) -> dt.datetime | None:
    """A date-time from the form; a value without an offset is UTC, as the form says."""
    if not value:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        raise InputError(
            f"until: {value[:40]!r} is not a date and time (YYYY-MM-DDTHH:MM, UTC)"
        ) from None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=dt.UTC)


@router.post("/cases/{case_id}/embargo")
async def embargo(request: Request, case_id: CaseId) -> Response:
    """Agree, extend, lift or break (coordinators), or accept the date (participants); htmx
    gets the embargo section back."""
    form = await read_form(request)
    viewer, runtime = await run_in_threadpool(_writer, request, case_id)
    try:
        action = _text(form, "action")
        if action not in case_flow.EMBARGO_ACTIONS:
            raise InputError(f"action: one of {', '.join(case_flow.EMBARGO_ACTIONS)}")
        reason = form.get("reason", "").strip()
        if len(reason) > 2_000:
            raise InputError("reason: at most 2000 characters")
        until = _until(_text(form, "until"))
        await run_in_threadpool(
            lambda: case_flow.embargo_action(
                runtime, viewer=viewer, case_id=case_id, action=action, until=until, reason=reason
            )
        )
    except (InputError, ConflictError) as error:
        return _field_error(request, error)
    if not is_htmx(request):
        return RedirectResponse(f"/cases/{case_id}#embargo", status_code=303)
    context = await run_in_threadpool(_room, viewer, runtime, case_id)
    return render(request, "_case_embargo.html.j2", **context)


# --- patches ---------------------------------------------------------------------------------


def _too_large() -> str:
    return f"patch: the file is larger than {MAX_DIFF_BYTES // 1024} KiB; nothing was stored"


def _field(parts: dict[str, uploads.Part], name: str) -> str:
    part = parts.get(name)
    try:
        text = part.data.decode("utf-8").strip() if part else ""
    except UnicodeDecodeError:
        raise InputError(f"{name}: not UTF-8 text") from None
    if len(text) > MAX_PATCH_FIELD_CHARS:
        raise InputError(f"{name}: at most {MAX_PATCH_FIELD_CHARS} characters")
    return text


@router.post("/cases/{case_id}/patches")
async def upload_patch(request: Request, case_id: CaseId) -> Response:
    """A vendor's (or coordinator's) patch for one of the case's vulnerabilities, validated in
    the sandbox as the API's upload is; htmx gets the verdict with its evidence."""
    viewer, runtime = await run_in_threadpool(_writer, request, case_id)
    try:
        parts: dict[str, uploads.Part] = {}
        for part in await uploads.read_multipart(
            request, max_bytes=MAX_DIFF_BYTES + MULTIPART_SLACK_BYTES, what="patch"
        ):
            parts.setdefault(part.name, part)
        upload = parts.get("patch")
        filename, diff = (upload.filename, upload.data) if upload else (None, b"")
        if len(diff) > MAX_DIFF_BYTES:
            raise TooLargeError(_too_large())
        if not diff:
            raise InputError("patch: choose a unified diff file (it is empty or missing)")
        vulnerability = _field(parts, "vulnerability")
        if not vulnerability:
            raise InputError("vulnerability: choose the vulnerability the patch fixes")
        fixed_version = _field(parts, "fixed_version") or None
        result = await run_in_threadpool(
            lambda: case_flow.upload_patch(
                runtime,
                viewer=viewer,
                case_id=case_id,
                vuln_id=vulnerability,
                diff=diff,
                fixed_version=fixed_version,
            )
        )
    except InputError as error:
        if not is_htmx(request):
            raise
        return render(
            request,
            "_case_patch_verdict.html.j2",
            status=error.status,
            result=None,
            refused=error.detail,
            verdict_labels=VERDICT_LABELS,
            headers={"HX-Retarget": "#patch-verdict", "HX-Reswap": "innerHTML"},
        )
    if not is_htmx(request):
        return RedirectResponse(f"/cases/{case_id}#patches", status_code=303)
    context = await run_in_threadpool(_room, viewer, runtime, case_id)
    return render(
        request,
        "_case_patch_verdict.html.j2",
        result=result,
        refused=None,
        filename=filename,
        oob_patches=True,
        **context,
    )
