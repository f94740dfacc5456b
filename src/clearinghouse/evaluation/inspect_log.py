"""Read evaluation logs written by the UK AISI's Inspect (``inspect-ai``) into frozen records.

A developer or evaluator who already runs Inspect can hand over its log instead of running the
suite through our own agent. This module turns one log file (``.eval``, a zip, or ``.json``)
into an :class:`ImportedLog`: the log's identity (its SHA-256, model, task, eval id, status,
epochs) and one :class:`ImportedSample` per sample and epoch, with a solved flag read from a
score. Parsing is left to ``inspect_ai.log.read_eval_log`` itself, so every log layout Inspect
can read is read the same way here; ``inspect-ai`` is an optional extra, imported only when a
log is read.

What it does not do: match task ids to a suite, decide whether a sample is decisive, or store
anything. The records say what the log says; the evaluation service judges them.

Which score: the one named by ``scorer=``, else the task's first scorer. How its value becomes
``solved`` (Inspect's own constants are ``C``/``I``/``P``/``N``):

- ``True``: ``"C"``, ``True``, a number ``>= 1.0``.
- ``False``: ``"I"``, ``"N"`` (no answer), ``False``, a number ``< 1.0``, and ``"P"``: partial
  credit is not a solve, just as a fraction below 1.0 is not.
- ``None`` (unscored, the reason in ``error``): NaN or infinity (``Score.unscored``), any other
  string, a list or a mapping (never guessed either way); no score from that scorer; a sample
  that ended in an error (even if scored anyway); a sample a reviewer invalidated.

Tokens are summed over every model a sample used (a model grader's included), cache reads and
writes counted as input.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
import math
import re
import zipfile
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path
from typing import TYPE_CHECKING, Final, Literal

from clearinghouse.core.errors import DecodeError, InputError, SchemaError, TooLargeError

if TYPE_CHECKING:
    from inspect_ai.log import EvalLog, EvalSample, ProvenanceData
    from inspect_ai.scorer import Score

MAX_LOG_BYTES: Final = 256 << 20
MAX_EXPANDED_BYTES: Final = 1 << 30
"""A ``.eval`` zip is refused when its members would inflate beyond this (a zip bomb)."""
MAX_TEXT_CHARS: Final = 2000
"""Error texts and raw score values are cut here: a traceback is not a record field."""

INSTALL_HINT: Final = "install the `inspect` extra: pip install 'clearinghouse[inspect]'"

_JSON_START: Final = re.compile(rb"[ \t\r\n]*\{")


@dataclass(frozen=True, slots=True)
class ImportedSample:
    """One sample of one epoch, as the log scored it."""

    task_id: str
    epoch: int
    solved: bool | None  # None: unscored (see the module docstring)
    score_raw: str | None  # the score's value as the log has it; None when there is no score
    input_tokens: int  # every model the sample used, cache reads and writes included
    output_tokens: int
    error: str | None  # why the sample is unscored, or the sample's own error


@dataclass(frozen=True, slots=True)
class ImportedLog:
    """One Inspect log: its identity and its samples, sorted by task id then epoch."""

    log_sha256: str  # hex SHA-256 of the file's bytes, exactly the bytes that were parsed
    model: str
    task_name: str
    eval_id: str
    status: str  # Inspect's: "started" | "success" | "cancelled" | "error"
    epochs: int
    samples: tuple[ImportedSample, ...]
    created: str  # ISO 8601, as Inspect wrote it


def read_inspect_log(
    path: Path,
    *,
    max_bytes: int = MAX_LOG_BYTES,
    max_expanded_bytes: int = MAX_EXPANDED_BYTES,
    scorer: str | None = None,
    require_success: bool = False,
) -> ImportedLog:
    """Read one ``.eval`` or ``.json`` Inspect log from ``path``.

    The file is read once; the hash and the parse see the same bytes, so a file replaced while
    it is read cannot be recorded under another file's hash. ``scorer`` names the score to read
    (default: the task's first scorer); ``require_success`` refuses a log whose run did not finish.
    """
    name = path.name
    try:
        with path.open("rb") as handle:
            data = handle.read(max_bytes + 1)
    except OSError as exc:
        raise InputError(f"{name}: cannot be read ({exc.strerror or type(exc).__name__})") from exc
    if len(data) > max_bytes:
        raise TooLargeError(f"{name}: larger than {max_bytes} bytes")
    return read_inspect_log_bytes(
        data,
        name=name,
        max_expanded_bytes=max_expanded_bytes,
        scorer=scorer,
        require_success=require_success,
    )


def read_inspect_log_bytes(
    data: bytes,
    *,
    name: str = "log",
    max_expanded_bytes: int = MAX_EXPANDED_BYTES,
    scorer: str | None = None,
    require_success: bool = False,
) -> ImportedLog:
    """Read an Inspect log already in memory (an upload); ``name`` is used in error messages.

    The format comes from the bytes, not from a file name: a zip is an ``.eval`` log, a JSON
    object a ``.json`` log.
    """
    digest = hashlib.sha256(data).hexdigest()
    log_format = _sniff(data, name)
    if log_format == "eval":
        _check_expanded_size(data, name, max_expanded_bytes)
    log = _parse(data, log_format, name)
    if require_success and log.status != "success":
        raise InputError(
            f"{name}: the run's status is {log.status!r}; only a finished run ('success') "
            "can be imported here"
        )
    chosen = scorer or _first_scorer(log)
    samples = tuple(
        sorted(
            (
                _sample(sample, index, name, chosen)
                for index, sample in enumerate(log.samples or ())
            ),
            key=lambda s: (s.task_id, s.epoch),
        )
    )
    _refuse_duplicates(samples, name)
    return ImportedLog(
        log_sha256=digest,
        model=log.eval.model,
        task_name=log.eval.task,
        eval_id=log.eval.eval_id or log.eval.run_id,  # logs older than eval_id have a run id
        status=log.status,
        epochs=log.eval.config.epochs or 1,  # unset means Inspect's default of one epoch
        samples=samples,
        created=log.eval.created,
    )


def _refuse_duplicates(samples: tuple[ImportedSample, ...], name: str) -> None:
    # Two samples claiming one task and epoch (through metadata task_id) would count twice.
    for first, second in pairwise(samples):
        if (first.task_id, first.epoch) == (second.task_id, second.epoch):
            raise SchemaError(
                "/samples",
                f"one sample per task and epoch; task {first.task_id!r} has two in epoch "
                f"{first.epoch}",
                document=name,
            )


def solved_from_value(value: object) -> tuple[bool | None, str | None]:
    """``(solved, why unscored)`` for one score value; the table in the module docstring."""
    if isinstance(value, bool):
        return value, None
    if isinstance(value, int | float):
        if not math.isfinite(value):
            return None, "the scorer gave no finite value (NaN: unscored)"
        return value >= 1.0, None
    if isinstance(value, str):
        if value == "C":
            return True, None
        if value in ("I", "N", "P"):
            return False, None
        return None, f"unrecognised score value {_cut(value)!r}"
    return None, "the score value is a list or a mapping, not one verdict"


def _sniff(data: bytes, name: str) -> Literal["eval", "json"]:
    if data.startswith(b"PK"):
        return "eval"
    if _JSON_START.match(data):
        return "json"
    raise DecodeError(f"{name}: not an Inspect log (neither an .eval zip nor a .json object)")


def _check_expanded_size(data: bytes, name: str, limit: int) -> None:
    # zipfile stops inflating a member at its declared size, so the declared sizes bound memory.
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            expanded = sum(member.file_size for member in archive.infolist())
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise DecodeError(f"{name}: not a readable .eval zip ({_cut(str(exc), 300)})") from exc
    if expanded > limit:
        raise TooLargeError(f"{name}: the .eval zip expands to {expanded} bytes; at most {limit}")


def _parse(data: bytes, log_format: Literal["eval", "json"], name: str) -> EvalLog:
    try:
        from inspect_ai.log import read_eval_log
    except ImportError as exc:
        raise InputError(f"reading Inspect logs needs inspect-ai: {INSTALL_HINT}") from exc

    def parse() -> EvalLog:
        return read_eval_log(io.BytesIO(data), format=log_format)

    try:
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return parse()
        # Inside a running event loop Inspect would patch that loop (nest_asyncio) for good;
        # a thread of its own has no loop, so the caller's stays untouched.
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="inspect-log") as pool:
            return pool.submit(parse).result()
    except Exception as exc:
        # Inspect raises whatever its parsers raise (zip, JSON, pydantic, version checks); to a
        # submitter they all mean the same thing: this file is not a log Inspect can read.
        raise DecodeError(
            f"{name}: Inspect cannot read this log ({type(exc).__name__}: {_cut(str(exc), 300)})"
        ) from exc


def _sample(sample: EvalSample, index: int, name: str, scorer: str | None) -> ImportedSample:
    input_tokens, output_tokens = _tokens(sample, index, name)
    score = _chosen_score(sample.scores, scorer)
    score_raw = None if score is None else _raw(score.value)
    solved: bool | None
    error: str | None
    if sample.invalidation is not None:
        solved, error = None, _invalidated(sample.invalidation)
    elif sample.error is not None:
        solved, error = None, _cut(sample.error.message)
    elif score is None:
        solved = None
        error = "no score" if scorer is None else f"no score from scorer {scorer!r}"
    else:
        solved, error = solved_from_value(score.value)
        if error is not None and score.reason:
            error = _cut(f"{error}; the scorer's reason: {score.reason}")
    return ImportedSample(
        task_id=_task_id(sample, index, name),
        epoch=sample.epoch,
        solved=solved,
        score_raw=score_raw,
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        error=error,
    )


def _task_id(sample: EvalSample, index: int, name: str) -> str:
    # A dataset whose sample ids are not our task ids names the task in its metadata.
    pointer = f"/samples/{index}/metadata/task_id"
    declared = sample.metadata.get("task_id")
    if declared is None:
        pointer, declared = f"/samples/{index}/id", sample.id
    if isinstance(declared, bool) or not isinstance(declared, str | int):
        raise SchemaError(pointer, "a task id (a string or an integer)", document=name)
    task_id = str(declared)
    if not task_id.strip():
        raise SchemaError(pointer, "a non-empty task id", document=name)
    return task_id


def _first_scorer(log: EvalLog) -> str | None:
    # The task's first scorer, not each sample's first score: a scorer that gave a sample no
    # score must leave it unscored, not promote the next scorer's verdict. Samples key scores
    # by the unqualified name, and the first scorer always keeps its name unsuffixed.
    if not log.eval.scorers:
        return None
    return log.eval.scorers[0].name.rsplit("/", 1)[-1]


def _chosen_score(scores: Mapping[str, Score] | None, scorer: str | None) -> Score | None:
    if not scores:
        return None
    if scorer is not None:
        return scores.get(scorer)
    return next(iter(scores.values()))  # a log that does not list its scorers


def _tokens(sample: EvalSample, index: int, name: str) -> tuple[int, int]:
    input_tokens = output_tokens = 0
    for model, usage in sample.model_usage.items():
        parts = (
            usage.input_tokens,
            usage.input_tokens_cache_read or 0,
            usage.input_tokens_cache_write or 0,
            usage.output_tokens,
        )
        if any(part < 0 for part in parts):
            escaped = model.replace("~", "~0").replace("/", "~1")
            raise SchemaError(
                f"/samples/{index}/model_usage/{escaped}",
                "non-negative token counts",
                document=name,
            )
        input_tokens += sum(parts[:3])
        output_tokens += usage.output_tokens
    return input_tokens, output_tokens


def _invalidated(provenance: ProvenanceData) -> str:
    return _cut(f"invalidated by {provenance.author}: {provenance.reason or 'no reason given'}")


def _raw(value: object) -> str:
    # JSON spelling for everything but a plain string, so both log formats agree ("true", "NaN").
    return _cut(value if isinstance(value, str) else json.dumps(value, sort_keys=True, default=str))


def _cut(text: str, limit: int = MAX_TEXT_CHARS) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
