"""Recording deliveries in the outbox (``mark_sent_many``), on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Engine, event
from sqlmodel import Session, select

from cpd.storage import OutboxMessage, transaction
from cpd.storage import outbox as store
from cpd.storage.models import utcnow


def queue(engine: Engine, count: int) -> list[int]:
    with transaction(engine) as session:
        for index in range(count):
            store.enqueue(session, f"k{index}", "email", f"m{index}@example.com", "notice", {})
    with Session(engine) as session:
        return list(session.exec(select(OutboxMessage.id).order_by(OutboxMessage.id)))  # type: ignore[arg-type]


def states(engine: Engine) -> list[tuple[str, int, bool]]:
    with Session(engine) as session:
        found = session.exec(select(OutboxMessage).order_by(OutboxMessage.id)).all()
        return [(m.status, m.attempts, m.sent_at is not None) for m in found]


def test_mark_sent_many_changes_only_the_pending_rows_named_and_only_once(
    engine: Engine,
) -> None:
    ids = queue(engine, 5)
    store.mark_failed(engine, ids[1], "refused", 1, give_up=True)  # dead: stays dead
    store.mark_sent_many(engine, ids[:3])
    store.mark_sent_many(engine, ids[:3])  # again: nothing changes
    store.mark_sent(engine, ids[3])
    store.mark_sent_many(engine, [])
    assert states(engine) == [
        ("sent", 1, True),
        ("dead", 1, False),
        ("sent", 1, True),
        ("sent", 1, True),
        ("pending", 0, False),
    ]


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_on_sqlite_the_recording_looks_rows_up_by_key_not_by_status(engine: Engine) -> None:
    """With ``status = 'pending'`` SQLite scanned every pending row for each recording."""
    ids = queue(engine, 3)
    executed: list[tuple[str, Any]] = []

    def capture(conn: Any, cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if statement.lstrip().upper().startswith("UPDATE"):
            executed.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", capture)
    try:
        store.mark_sent_many(engine, ids)
    finally:
        event.remove(engine, "before_cursor_execute", capture)
    [(statement, parameters)] = executed
    with engine.connect() as connection:
        plan = connection.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters).all()
    details = " ".join(str(row[-1]) for row in plan)
    assert "PRIMARY KEY" in details and "ix_outbox" not in details, details


@pytest.mark.parametrize("backoff", [1.0, 0.25])
def test_a_failed_delivery_waits_the_backoff_doubled_per_earlier_attempt(
    sqlite_engine: Engine, backoff: float
) -> None:
    ids = queue(sqlite_engine, 3)
    for attempts, message_id in enumerate(ids):
        before = utcnow()
        next_at = store.mark_failed(sqlite_engine, message_id, "refused", attempts, backoff=backoff)
        waited = (next_at - before).total_seconds()
        assert backoff * 2**attempts <= waited < backoff * 2**attempts + 0.5
    told = store.mark_failed(sqlite_engine, ids[0], "429", 5, retry_after=3, backoff=backoff)
    assert 2.5 <= (told - utcnow()).total_seconds() <= 3  # the channel's own wait wins
    attempts = [(status, count) for status, count, _ in states(sqlite_engine)]
    assert attempts == [("pending", 2), ("pending", 1), ("pending", 1)]
