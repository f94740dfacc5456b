"""Fast multi-row INSERT for hot paths: one prepared statement, DBAPI ``executemany``.

SQLAlchemy's ORM and Core bulk inserts process every parameter of every row in Python; for an
import of hundreds of thousands of findings that costs more than the database does. Here the
caller hands plain tuples in column order, values that need a type's bind processing (the
import timestamp, the same for every row) are processed once, and the driver does the rest.
Used inside the caller's transaction like any other statement.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Table
from sqlalchemy.orm import Session


def table_of(model: type[Any]) -> Table:
    """The ``Table`` behind a declarative model (typed: ``__table__`` is a ``FromClause``)."""
    table = model.__table__
    if not isinstance(table, Table):
        raise TypeError(f"{model.__name__} is not mapped to a plain table")
    return table


def bind_value(session: Session, table: Table, column: str, value: Any) -> Any:
    """``value`` as the driver must receive it for ``table.column`` (e.g. an aware datetime)."""
    dialect = session.get_bind().dialect
    processor = table.c[column].type.bind_processor(dialect)
    bound = processor(value) if processor is not None else value
    if dialect.name == "sqlite" and isinstance(bound, dt.datetime):
        # What sqlite3's default adapter would store, made once instead of once per row.
        return bound.isoformat(" ")
    return bound


def insert_rows(
    session: Session,
    table: Table,
    columns: Sequence[str],
    rows: Sequence[tuple[Any, ...]],
    *,
    on_conflict_ignore: Sequence[str] = (),
) -> None:
    """Insert ``rows``; with ``on_conflict_ignore`` (a unique key), skip rows already stored.

    ``ON CONFLICT (…) DO NOTHING`` is the same statement on SQLite (3.24+) and PostgreSQL.
    """
    if not rows:
        return
    dialect = session.get_bind().dialect
    if dialect.name == "postgresql" and not on_conflict_ignore:
        _copy_rows(session, table, columns, rows)
        return
    marker = "?" if dialect.paramstyle == "qmark" else "%s"
    preparer = dialect.identifier_preparer
    # Only quoted identifiers and placeholders go into the text; values are bound.
    sql = "INSERT INTO {} ({}) VALUES ({})".format(  # noqa: S608
        preparer.format_table(table),
        ", ".join(preparer.quote(column) for column in columns),
        ", ".join(marker for _ in columns),
    )
    if on_conflict_ignore:
        sql += " ON CONFLICT ({}) DO NOTHING".format(
            ", ".join(preparer.quote(column) for column in on_conflict_ignore)
        )
    session.connection().exec_driver_sql(sql, list(rows))


def _copy_rows(
    session: Session, table: Table, columns: Sequence[str], rows: Sequence[tuple[Any, ...]]
) -> None:
    """PostgreSQL's ``COPY … FROM STDIN``: one stream instead of one message per row."""
    preparer = session.get_bind().dialect.identifier_preparer
    sql = "COPY {} ({}) FROM STDIN".format(
        preparer.format_table(table), ", ".join(preparer.quote(column) for column in columns)
    )
    driver_connection = session.connection().connection.driver_connection
    if driver_connection is None:  # pragma: no cover - a pooled connection always has one
        raise RuntimeError("no driver connection for COPY")
    with driver_connection.cursor() as cursor, cursor.copy(sql) as copy:
        for row in rows:
            copy.write_row(row)
