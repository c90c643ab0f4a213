"""The Telegram inbox table: updates stored (keyed by ``update_id``) before they are confirmed.

``store_updates`` inserts a batch in one transaction and ignores an ``update_id`` already
stored, so a re-delivered update (after a crash, or by a webhook retry) adds nothing. The
handler takes unhandled rows in ``update_id`` order, counts each attempt (``begin_handling``,
so that an update which crashes the process every time can be given up), and marks the row
handled. ``purge_handled`` is the retention hook: it deletes handled rows older than a moment.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, delete, func, select, update
from sqlalchemy.dialects import postgresql, sqlite

from cpd.storage.models import TelegramInboxUpdate, utcnow

TABLE = TelegramInboxUpdate.metadata.tables["telegram_inbox"]


@dataclass(frozen=True)
class InboxRow:
    """An update waiting to be handled: its id, its JSON and how often handling began."""

    update_id: int
    payload: dict[str, Any]
    attempts: int


def _insert(engine: Engine) -> Any:
    dialect = engine.dialect.name
    if dialect == "postgresql":
        return postgresql.insert(TABLE)
    if dialect == "sqlite":
        return sqlite.insert(TABLE)
    raise NotImplementedError(f"the Telegram inbox does not support {dialect}")


def store_updates(engine: Engine, updates: Sequence[Mapping[str, Any]]) -> int:
    """Store updates (each a Bot API ``Update`` object with its ``update_id``) in one
    transaction; an ``update_id`` already stored is ignored. Returns how many were new."""
    if not updates:
        return 0
    now = utcnow()
    rows = [
        {
            "update_id": int(u["update_id"]),
            "payload": dict(u),
            "received_at": now,
            "attempts": 0,
            "handled_at": None,
            "outcome": "",
        }
        for u in updates
    ]
    statement = _insert(engine).values(rows)
    statement = statement.on_conflict_do_nothing(index_elements=["update_id"]).returning(
        TABLE.c.update_id
    )
    with engine.begin() as connection:
        return len(connection.execute(statement).all())


def unhandled_updates(engine: Engine, limit: int = 100, after: int | None = None) -> list[InboxRow]:
    """Unhandled updates in ``update_id`` order (only those above ``after`` when given)."""
    query = select(TABLE.c.update_id, TABLE.c.payload, TABLE.c.attempts).where(
        TABLE.c.handled_at.is_(None)
    )
    if after is not None:
        query = query.where(TABLE.c.update_id > after)
    with engine.connect() as connection:
        found = connection.execute(query.order_by(TABLE.c.update_id).limit(limit)).all()
    return [InboxRow(int(r.update_id), dict(r.payload), int(r.attempts)) for r in found]


def begin_handling(engine: Engine, update_id: int) -> int | None:
    """Count one more attempt at handling ``update_id``: the attempts so far including this
    one, or None when the update is already handled (or was never stored)."""
    with engine.begin() as connection:
        changed = connection.execute(
            update(TABLE)
            .where(TABLE.c.update_id == update_id, TABLE.c.handled_at.is_(None))
            .values(attempts=TABLE.c.attempts + 1)
        ).rowcount
        if changed != 1:
            return None
        return int(
            connection.execute(
                select(TABLE.c.attempts).where(TABLE.c.update_id == update_id)
            ).scalar_one()
        )


def release_attempt(engine: Engine, update_id: int) -> bool:
    """Take back the attempt counted by :func:`begin_handling` (the handling failed on a
    temporary fault and is to be tried again without counting toward giving up)."""
    with engine.begin() as connection:
        changed = connection.execute(
            update(TABLE)
            .where(
                TABLE.c.update_id == update_id,
                TABLE.c.handled_at.is_(None),
                TABLE.c.attempts > 0,
            )
            .values(attempts=TABLE.c.attempts - 1)
        ).rowcount
    return changed == 1


def mark_handled(engine: Engine, update_id: int, outcome: str = "handled") -> bool:
    """Record that ``update_id`` was handled; False when it already was."""
    with engine.begin() as connection:
        changed = connection.execute(
            update(TABLE)
            .where(TABLE.c.update_id == update_id, TABLE.c.handled_at.is_(None))
            .values(handled_at=utcnow(), outcome=outcome[:32])
        ).rowcount
    return changed == 1


def purge_handled(engine: Engine, before: dt.datetime) -> int:
    """Retention: delete handled updates handled before ``before``; unhandled rows are never
    deleted. Returns how many rows went."""
    with engine.begin() as connection:
        return max(
            connection.execute(
                delete(TABLE).where(TABLE.c.handled_at.is_not(None), TABLE.c.handled_at < before)
            ).rowcount,
            0,
        )


def count_handled(engine: Engine, before: dt.datetime) -> int:
    """How many handled updates :func:`purge_handled` would delete."""
    with engine.connect() as connection:
        return int(
            connection.execute(
                select(func.count())
                .select_from(TABLE)
                .where(TABLE.c.handled_at.is_not(None), TABLE.c.handled_at < before)
            ).scalar_one()
        )


def inbox_counts(engine: Engine) -> tuple[int, int]:
    """(unhandled, handled) rows in the inbox."""
    with engine.connect() as connection:
        unhandled = connection.execute(
            select(func.count()).select_from(TABLE).where(TABLE.c.handled_at.is_(None))
        ).scalar_one()
        total = connection.execute(select(func.count()).select_from(TABLE)).scalar_one()
    return int(unhandled), int(total) - int(unhandled)
