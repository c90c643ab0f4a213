"""Inserts guarded by a unique key: ``INSERT ... ON CONFLICT DO NOTHING`` on SQLite and
PostgreSQL alike, never a check followed by an insert (two writers cannot both pass the check)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

from sqlalchemy import CursorResult, Executable, Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, SQLModel


def _insert(session: Session, table: Table) -> Any:
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        return postgresql.insert(table)
    if dialect == "sqlite":
        return sqlite.insert(table)
    raise NotImplementedError(f"storage does not support {dialect}")


def insert_ignore(session: Session, row: SQLModel, conflict: Sequence[str]) -> bool:
    """Insert ``row`` (its column values, defaults applied by the model) in the caller's
    transaction unless a row with the same ``conflict`` columns exists; True when it was added.

    Pending ORM changes are flushed first (autoflush), so an earlier ``session.add`` in the same
    transaction counts as existing."""
    table: Table = row.metadata.tables[str(row.__tablename__)]
    values = {
        column.name: getattr(row, column.name)
        for column in table.columns
        if getattr(row, column.name) is not None  # NULL, as the ORM writes it (JSON too)
    }
    statement = (
        _insert(session, table)
        .values(values)
        .on_conflict_do_nothing(index_elements=list(conflict))
        .returning(table.c[conflict[0]])  # rowcount is -1 here under psycopg: count rows
    )
    return session.execute(statement).first() is not None


def changed_rows(session: Session, statement: Executable) -> int:
    """Run an UPDATE or DELETE in the caller's transaction; how many rows it changed."""
    result = cast("CursorResult[Any]", session.execute(statement))
    return int(result.rowcount)
