"""The outbox shared by several instances (PostgreSQL): each row leased to one sender, only the
lease holder marks it, a row whose sender died is due again when its lease runs out."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from sqlalchemy import Engine, select
from sqlmodel import Session, col

from cpd.claims import notifications
from cpd.storage import OutboxMessage, make_engine, transaction
from cpd.storage.outbox import enqueue


def _queue(engine: Engine, n: int) -> None:
    with transaction(engine) as session:
        for i in range(n):
            enqueue(session, f"k{i}", "telegram", "42", "message", {"text": f"m{i}"})


def _sent(engine: Engine) -> dict[str, str | None]:
    with Session(engine) as session:
        rows = session.execute(
            select(OutboxMessage.dedup_key, OutboxMessage.lease_owner).where(
                col(OutboxMessage.status) == "sent"
            )
        ).all()
    return {key: owner for key, owner in rows}


def test_two_engines_racing_deliver_each_row_once(engine: Engine, db_url: str) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite keeps one instance (the file lock): racing senders would repeat")
    _queue(engine, 300)
    engines = [engine, make_engine(db_url)]
    delivered: dict[str, list[str]] = {"a": [], "b": [], "c": [], "d": []}
    start = threading.Barrier(4)

    def sender(name: str, on: Engine) -> None:
        start.wait()
        while batch := notifications.due(on, "telegram", 7, owner=name):
            for message in batch:
                delivered[name].append(message.payload["text"])
                notifications.delivered(on, message)

    threads = [
        threading.Thread(target=sender, args=(name, engines[i % 2]))
        for i, name in enumerate(delivered)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    engines[1].dispose()
    everything = [text for texts in delivered.values() for text in texts]
    assert len(everything) == 300 and len(set(everything)) == 300
    assert len(_sent(engine)) == 300
    assert sum(1 for texts in delivered.values() if texts) >= 2  # they shared the work


def test_sqlite_keeps_todays_path(engine: Engine) -> None:
    if engine.dialect.name != "sqlite":
        pytest.skip("SQLite's path")
    _queue(engine, 3)
    first = notifications.due(engine, "telegram", 10, owner="me")
    assert len(first) == 3 and first[0].lease_owner is None
    notifications.delivered_all(engine, first)
    assert len(_sent(engine)) == 3


def test_a_dead_senders_rows_come_back_when_its_lease_runs_out(engine: Engine) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite keeps one instance: no leases")
    _queue(engine, 3)
    short = dt.timedelta(seconds=30)
    taken = notifications.due(engine, "telegram", 10, owner="dies", lease=short)
    assert len(taken) == 3 and {n.lease_owner for n in taken} == {"dies"}
    assert notifications.due(engine, "telegram", 10, owner="lives") == []  # leased
    again_mine = notifications.due(engine, "telegram", 10, owner="dies", lease=short)
    assert [n.id for n in again_mine] == [n.id for n in taken]  # its own rows, still its own
    later = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=31)
    from cpd.storage import outbox

    again = outbox.due(engine, "telegram", 10, now=later, owner="lives")
    assert [m.dedup_key for m in again] == ["k0", "k1", "k2"]
    notifications.delivered(engine, taken[0])  # the first holder woke up: it marks nothing
    notifications.failed(engine, taken[1], "late")
    assert _sent(engine) == {}
    for row in again:
        assert row.id is not None
        outbox.mark_sent(engine, row.id, "lives")
    assert _sent(engine) == {"k0": "lives", "k1": "lives", "k2": "lives"}


def test_a_failure_ends_the_lease(engine: Engine) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite keeps one instance: no leases")
    _queue(engine, 1)
    [taken] = notifications.due(engine, "telegram", 10, owner="a")
    notifications.failed(engine, taken, "429", retry_after=0.0001)
    with Session(engine) as session:
        row = session.execute(select(OutboxMessage)).scalar_one()
    assert row.lease_until is None and row.attempts == 1 and row.status == "pending"
