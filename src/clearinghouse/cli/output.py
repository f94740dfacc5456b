"""Rendering for the CLI: one JSON document with ``--json``, a table otherwise."""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from typing import Any

import orjson
from rich.console import Console
from rich.table import Table

_console = Console()
_NEVER_WRAP = frozenset({"id", "vulnerability", "tlp", "cwe", "status", "findings", "format"})


def emit_json(value: Any) -> None:
    sys.stdout.write(orjson.dumps(value, option=orjson.OPT_INDENT_2).decode() + "\n")


def emit_table(
    rows: Sequence[Mapping[str, Any]], columns: Sequence[str], *, title: str = ""
) -> None:
    table = Table(title=title or None)
    for column in columns:
        # Identifiers are never shortened; free text wraps instead.
        table.add_column(column, no_wrap=column in _NEVER_WRAP)
    for row in rows:
        table.add_row(*[_cell(row.get(column)) for column in columns])
    _console.print(table)


def emit_mapping(value: Mapping[str, Any], *, title: str = "") -> None:
    table = Table(title=title or None, show_header=False)
    table.add_column("field", style="bold")
    table.add_column("value")
    for key, item in value.items():
        table.add_row(key, _cell(item))
    _console.print(table)


def emit(value: Any, *, as_json: bool, columns: Sequence[str] = (), title: str = "") -> None:
    if as_json:
        emit_json(value)
    elif isinstance(value, list):
        emit_table(value, columns, title=title)
    else:
        emit_mapping(value, title=title)


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value)
    return str(value)
