"""CLI for frontier model assessment: suites, runs, Inspect imports and reports (``eval``);
registered models (``models``); engagements with their window, grants and trusted partners
(``engagements``); and designation decisions (``designation``). The local operator acts for
the government side; ``--as ORG`` acts as a member of that organization (a model developer,
an evaluating agency, a partner)."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path
from typing import Annotated

import typer

from clearinghouse.cli.disclosure import actor, cli_runtime, instant
from clearinghouse.cli.output import emit, emit_json
from clearinghouse.core.errors import InputError
from clearinghouse.evaluation import designation as designation_rules
from clearinghouse.evaluation.agent import Budget
from clearinghouse.pipeline import designation_flow, eval_flow

eval_app = typer.Typer(
    help="Cyber-capability benchmark: suites, runs, Inspect imports, statistics.",
    no_args_is_help=True,
)
models_app = typer.Typer(help="Models registered by their developers.", no_args_is_help=True)
engagements_app = typer.Typer(
    help="Voluntary engagements: window, access grants, trusted partners.", no_args_is_help=True
)
designation_app = typer.Typer(
    help="Covered-frontier-model decisions under a versioned threshold policy.",
    no_args_is_help=True,
)

JsonFlag = Annotated[bool, typer.Option("--json", help="Print one JSON document.")]
AsOrg = Annotated[str | None, typer.Option("--as", help="Act as a member of this organization.")]


def _progress(done: int, total: int, what: str) -> None:
    print(f"[{done}/{total}] {what}", file=sys.stderr, flush=True)


def _required(text: str, name: str) -> dt.datetime:
    value = instant(text, name)
    if value is None:  # pragma: no cover - typer requires the option
        raise InputError(f"{name}: required")
    return value


# --- eval -----------------------------------------------------------------------------------


@eval_app.command("register")
def eval_register(
    path: Annotated[
        Path | None, typer.Argument(help="Suite directory (default: the starter suite).")
    ] = None,
    confidential: Annotated[
        bool | None,
        typer.Option("--confidential/--not-confidential", help="Override the suite's TLP."),
    ] = None,
    evaluator: Annotated[
        list[str] | None, typer.Option(help="Organization that may see content (repeatable).")
    ] = None,
    as_org: AsOrg = None,
    as_json: JsonFlag = False,
) -> None:
    """Register a suite under its content hash."""
    rt = cli_runtime()
    emit(
        eval_flow.register_suite(
            rt,
            viewer=actor(rt, as_org),
            path=path,
            confidential=confidential,
            evaluators=evaluator or [],
        ),
        as_json=as_json,
    )


@eval_app.command("suites")
def eval_suites(as_org: AsOrg = None, as_json: JsonFlag = False) -> None:
    """List registered suites."""
    rt = cli_runtime()
    emit(eval_flow.list_suites(rt, viewer=actor(rt, as_org)), as_json=as_json)


@eval_app.command("suite")
def eval_suite(suite: str, as_org: AsOrg = None, as_json: JsonFlag = False) -> None:
    """Show a suite (its tasks only to those who may see its content)."""
    rt = cli_runtime()
    emit(eval_flow.show_suite(rt, viewer=actor(rt, as_org), ref=suite), as_json=as_json)


@eval_app.command("verify")
def eval_verify(suite: str, as_org: AsOrg = None, as_json: JsonFlag = False) -> None:
    """Grade every task's reference, empty and wrong answers in the sandbox; exit 1 on a miss."""
    rt = cli_runtime()
    result = eval_flow.verify_registered(
        rt, viewer=actor(rt, as_org), ref=suite, progress=_progress
    )
    emit(result, as_json=as_json)
    if not result["ok"]:
        raise typer.Exit(1)


@eval_app.command("run")
def eval_run(
    suite: Annotated[str, typer.Option(help="Suite id or NAME[@VERSION].")],
    model: Annotated[
        str,
        typer.Option(
            help="openai:MODEL@BASE_URL, anthropic:MODEL, llamacpp:FILE.gguf or scripted:FILE."
        ),
    ],
    epochs: Annotated[int, typer.Option(min=1, max=100)] = 1,
    engagement: Annotated[int | None, typer.Option(help="Count this run for it.")] = None,
    task: Annotated[list[str] | None, typer.Option(help="Only these tasks (repeatable).")] = None,
    workers: Annotated[int | None, typer.Option(min=1, max=64)] = None,
    max_steps: Annotated[int | None, typer.Option(min=1, max=1000)] = None,
    max_tokens: Annotated[int | None, typer.Option(min=1000)] = None,
    wall_time: Annotated[float | None, typer.Option(min=1.0, help="Seconds per sample.")] = None,
    as_org: AsOrg = None,
    as_json: JsonFlag = False,
) -> None:
    """Run a model on a suite through the sandboxed agent; prints per-family statistics."""
    rt = cli_runtime()
    base = eval_flow.default_budget(rt)
    budget = Budget(
        max_steps=max_steps or base.max_steps,
        max_tokens=max_tokens or base.max_tokens,
        wall_time_s=wall_time or base.wall_time_s,
        command_timeout_s=base.command_timeout_s,
    )
    emit(
        eval_flow.run_model(
            rt,
            viewer=actor(rt, as_org),
            suite_ref=suite,
            model_spec=model,
            epochs=epochs,
            budget=budget,
            engagement_id=engagement,
            tasks=task or [],
            workers=workers,
            progress=_progress,
        ),
        as_json=as_json,
    )


@eval_app.command("resume")
def eval_resume(
    run: int,
    model: Annotated[str | None, typer.Option(help="Model spec (default: the run's).")] = None,
    workers: Annotated[int | None, typer.Option(min=1, max=64)] = None,
    as_org: AsOrg = None,
    as_json: JsonFlag = False,
) -> None:
    """Finish the pending samples of an interrupted run."""
    rt = cli_runtime()
    emit(
        eval_flow.resume_run(
            rt,
            viewer=actor(rt, as_org),
            run_id=run,
            model_spec=model,
            workers=workers,
            progress=_progress,
        ),
        as_json=as_json,
    )


@eval_app.command("runs")
def eval_runs(as_org: AsOrg = None, as_json: JsonFlag = False) -> None:
    """List the runs you may see."""
    rt = cli_runtime()
    emit(eval_flow.list_runs(rt, viewer=actor(rt, as_org)), as_json=as_json)


@eval_app.command("report")
def eval_report(
    run: int,
    reference: Annotated[int | None, typer.Option(help="Pair against this run.")] = None,
    confidence: Annotated[float, typer.Option(min=0.5, max=0.999)] = 0.95,
    as_org: AsOrg = None,
    as_json: JsonFlag = False,
) -> None:
    """Per-family success with cluster-bootstrap and Wilson intervals, pass@k and pass^k."""
    rt = cli_runtime()
    emit(
        eval_flow.report(
            rt,
            viewer=actor(rt, as_org),
            run_id=run,
            reference_run=reference,
            confidence=confidence,
        ),
        as_json=as_json,
    )


@eval_app.command("transcript")
def eval_transcript(run: int, sample: int, as_org: AsOrg = None) -> None:
    """Print one sample's stored transcript (JSON)."""
    rt = cli_runtime()
    emit_json(eval_flow.transcript(rt, viewer=actor(rt, as_org), run_id=run, sample_id=sample))


@eval_app.command("import-inspect")
def eval_import_inspect(
    log: Annotated[Path, typer.Argument(help="An Inspect .eval or .json log.")],
    suite: Annotated[str, typer.Option(help="The suite whose task ids the samples use.")],
    engagement: Annotated[int | None, typer.Option()] = None,
    steps_budget: Annotated[int, typer.Option(min=0, help="The message limit used.")] = 0,
    tokens_budget: Annotated[int, typer.Option(min=0, help="The token limit used.")] = 0,
    as_org: AsOrg = None,
    as_json: JsonFlag = False,
) -> None:
    """Import an Inspect log's samples as a run (keeps the log's SHA-256)."""
    rt = cli_runtime()
    emit(
        eval_flow.import_inspect(
            rt,
            viewer=actor(rt, as_org),
            path=log,
            suite_ref=suite,
            engagement_id=engagement,
            steps_budget=steps_budget,
            tokens_budget=tokens_budget,
        ),
        as_json=as_json,
    )


@eval_app.command("assist")
def eval_assist(
    vuln: str,
    model: Annotated[str, typer.Option(help="Model spec, as for 'eval run'.")],
    engagement: Annotated[int | None, typer.Option(help="The grant's engagement.")] = None,
    as_org: AsOrg = None,
    as_json: JsonFlag = False,
) -> None:
    """Ask a model for a candidate patch; only a patch the engine says fixes is offered."""
    rt = cli_runtime()
    emit(
        designation_flow.assist_patch(
            rt,
            viewer=actor(rt, as_org),
            vuln_id=vuln,
            model_spec=model,
            engagement_id=engagement,
        ),
        as_json=as_json,
    )


# --- models and engagements ------------------------------------------------------------------


@models_app.command("register")
def models_register(
    name: str,
    version: Annotated[str, typer.Option()],
    release: Annotated[str, typer.Option(help="Planned release, ISO 8601 with zone.")],
    as_org: AsOrg = None,
    as_json: JsonFlag = False,
) -> None:
    """A developer registers a model and its planned release."""
    rt = cli_runtime()
    emit(
        designation_flow.register_model(
            rt,
            viewer=actor(rt, as_org),
            name=name,
            version=version,
            planned_release=_required(release, "release"),
        ),
        as_json=as_json,
    )


@engagements_app.command("open")
def engagements_open(
    model: int,
    question: Annotated[str, typer.Option()] = "",
    as_org: AsOrg = None,
    as_json: JsonFlag = False,
) -> None:
    """Ask whether the model is covered (voluntary; withdraw at any time)."""
    rt = cli_runtime()
    emit(
        designation_flow.open_engagement(
            rt, viewer=actor(rt, as_org), model_id=model, question=question
        ),
        as_json=as_json,
    )


@engagements_app.command("show")
def engagements_show(engagement: int, as_org: AsOrg = None, as_json: JsonFlag = False) -> None:
    rt = cli_runtime()
    emit(
        designation_flow.show_engagement(rt, viewer=actor(rt, as_org), engagement_id=engagement),
        as_json=as_json,
    )


@engagements_app.command("withdraw")
def engagements_withdraw(engagement: int, as_org: AsOrg = None, as_json: JsonFlag = False) -> None:
    """Leave the engagement; every access grant ends now."""
    rt = cli_runtime()
    emit(
        designation_flow.withdraw(rt, viewer=actor(rt, as_org), engagement_id=engagement),
        as_json=as_json,
    )


@engagements_app.command("window")
def engagements_window(
    engagement: int,
    opens: Annotated[str, typer.Option(help="At most 30 days before the planned release.")],
    as_org: AsOrg = None,
    as_json: JsonFlag = False,
) -> None:
    """Open the pre-release access window of a covered model."""
    rt = cli_runtime()
    emit(
        designation_flow.open_window(
            rt,
            viewer=actor(rt, as_org),
            engagement_id=engagement,
            opens_at=_required(opens, "opens"),
        ),
        as_json=as_json,
    )


@engagements_app.command("grant")
def engagements_grant(
    engagement: int,
    organization: Annotated[str, typer.Option("--to", help="A government evaluator.")],
    expires: Annotated[str | None, typer.Option(help="Default: when the window closes.")] = None,
    as_org: AsOrg = None,
    as_json: JsonFlag = False,
) -> None:
    """Give a government evaluator pre-release access (expires by itself)."""
    rt = cli_runtime()
    emit(
        designation_flow.grant_evaluator(
            rt,
            viewer=actor(rt, as_org),
            engagement_id=engagement,
            organization=organization,
            expires_at=instant(expires, "expires"),
        ),
        as_json=as_json,
    )


@engagements_app.command("revoke")
def engagements_revoke(grant: int, as_org: AsOrg = None, as_json: JsonFlag = False) -> None:
    rt = cli_runtime()
    emit(
        designation_flow.revoke_grant(rt, viewer=actor(rt, as_org), grant_id=grant),
        as_json=as_json,
    )


@engagements_app.command("access")
def engagements_access(
    engagement: int,
    purpose: Annotated[str, typer.Option()],
    as_org: AsOrg = None,
    as_json: JsonFlag = False,
) -> None:
    """Record an access to the model under your grant; exit 1 without an active one."""
    rt = cli_runtime()
    emit(
        designation_flow.record_access(
            rt, viewer=actor(rt, as_org), engagement_id=engagement, purpose=purpose
        ),
        as_json=as_json,
    )


@engagements_app.command("nominate")
def engagements_nominate(
    engagement: int,
    organization: str,
    reason: Annotated[str, typer.Option()] = "",
    as_org: AsOrg = None,
    as_json: JsonFlag = False,
) -> None:
    """Nominate a trusted partner (counts as your side's approval)."""
    rt = cli_runtime()
    emit(
        designation_flow.nominate(
            rt,
            viewer=actor(rt, as_org),
            engagement_id=engagement,
            organization=organization,
            reason=reason,
        ),
        as_json=as_json,
    )


@engagements_app.command("approve")
def engagements_approve(
    engagement: int,
    organization: str,
    reject: Annotated[bool, typer.Option("--reject", help="Reject instead.")] = False,
    expires: Annotated[str | None, typer.Option(help="The early-access grant's end.")] = None,
    as_org: AsOrg = None,
    as_json: JsonFlag = False,
) -> None:
    """Approve a nominee; admitted (with an early-access grant) once both sides approve."""
    rt = cli_runtime()
    emit(
        designation_flow.decide_partner(
            rt,
            viewer=actor(rt, as_org),
            engagement_id=engagement,
            organization=organization,
            approve=not reject,
            expires_at=instant(expires, "expires"),
        ),
        as_json=as_json,
    )


# --- designation ------------------------------------------------------------------------------


@designation_app.command("decide")
def designation_decide(
    engagement: int,
    policy: Annotated[Path | None, typer.Option(help="Threshold policy TOML.")] = None,
    run: Annotated[list[int] | None, typer.Option(help="Only these runs (repeatable).")] = None,
    as_org: AsOrg = None,
    as_json: JsonFlag = False,
) -> None:
    """Decide covered / not_covered / alert under a threshold policy (pending sign-off)."""
    rt = cli_runtime()
    text = policy.read_text(encoding="utf-8") if policy is not None else None
    emit(
        designation_flow.decide(
            rt,
            viewer=actor(rt, as_org),
            engagement_id=engagement,
            policy_text=text,
            run_ids=run,
        ),
        as_json=as_json,
    )


@designation_app.command("sign-off")
def designation_sign_off(
    designation: int,
    note: Annotated[str, typer.Option()] = "",
    as_org: AsOrg = None,
    as_json: JsonFlag = False,
) -> None:
    """A reviewer other than the decider signs the decision off."""
    rt = cli_runtime()
    emit(
        designation_flow.sign_off(
            rt, viewer=actor(rt, as_org), designation_id=designation, note=note
        ),
        as_json=as_json,
    )


@designation_app.command("show")
def designation_show(designation: int, as_org: AsOrg = None, as_json: JsonFlag = False) -> None:
    rt = cli_runtime()
    emit(
        designation_flow.show_designation(rt, viewer=actor(rt, as_org), designation_id=designation),
        as_json=as_json,
    )


@designation_app.command("policy")
def designation_policy() -> None:
    """Print the default threshold policy (TOML) to start your own from."""
    typer.echo(designation_rules.DEFAULT_POLICY_TOML)
