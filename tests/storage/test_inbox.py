"""The Telegram inbox table on SQLite and PostgreSQL: stored once per update_id, handed out in
order, handled once, purged only when handled and old."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from sqlalchemy import Engine, update

from cpd.claims.retention import INBOX_DAYS, RetentionPolicy, purge
from cpd.storage.inbox import (
    TABLE,
    begin_handling,
    inbox_counts,
    mark_handled,
    purge_handled,
    store_updates,
    unhandled_updates,
)


def _update(update_id: int, text: str = "hello") -> dict[str, object]:
    return {"update_id": update_id, "message": {"message_id": update_id, "text": text}}


def test_storing_the_same_update_twice_keeps_one_row(engine: Engine) -> None:
    assert store_updates(engine, [_update(7), _update(8)]) == 2
    assert store_updates(engine, [_update(8, "again"), _update(9)]) == 1
    assert store_updates(engine, [_update(7)]) == 0
    rows = unhandled_updates(engine)
    assert [r.update_id for r in rows] == [7, 8, 9]
    assert rows[1].payload["message"]["text"] == "hello"  # the first delivery is kept
    assert inbox_counts(engine) == (3, 0)


def test_unhandled_rows_come_in_update_id_order_whatever_the_insert_order(
    engine: Engine,
) -> None:
    store_updates(engine, [_update(30), _update(10)])
    store_updates(engine, [_update(20)])
    assert [r.update_id for r in unhandled_updates(engine)] == [10, 20, 30]
    assert [r.update_id for r in unhandled_updates(engine, limit=1)] == [10]
    assert [r.update_id for r in unhandled_updates(engine, after=10)] == [20, 30]


def test_an_update_is_handled_once(engine: Engine) -> None:
    store_updates(engine, [_update(1), _update(2)])
    assert begin_handling(engine, 1) == 1
    assert begin_handling(engine, 1) == 2  # a second attempt (after a crash) is counted
    assert mark_handled(engine, 1)
    assert not mark_handled(engine, 1)
    assert begin_handling(engine, 1) is None
    assert begin_handling(engine, 99) is None  # never stored
    assert store_updates(engine, [_update(1)]) == 0  # a re-delivery after handling adds nothing
    assert [r.update_id for r in unhandled_updates(engine)] == [2]
    assert inbox_counts(engine) == (1, 1)


def test_update_ids_beyond_32_bits_are_stored(engine: Engine) -> None:
    big = 2**40 + 5
    assert store_updates(engine, [_update(big)]) == 1
    assert unhandled_updates(engine)[0].update_id == big


def test_purge_removes_only_old_handled_rows(engine: Engine) -> None:
    store_updates(engine, [_update(1), _update(2), _update(3)])
    mark_handled(engine, 1)
    mark_handled(engine, 2)
    old = dt.datetime.now(dt.UTC) - dt.timedelta(days=40)
    with engine.begin() as connection:
        connection.execute(update(TABLE).where(TABLE.c.update_id == 1).values(handled_at=old))
        connection.execute(update(TABLE).where(TABLE.c.update_id == 3).values(received_at=old))
    cutoff = dt.datetime.now(dt.UTC) - dt.timedelta(days=30)
    assert purge_handled(engine, cutoff) == 1
    assert inbox_counts(engine) == (1, 1)  # 2 handled recently, 3 unhandled however old
    assert purge_handled(engine, cutoff) == 0


def test_the_nightly_purge_drops_handled_updates_after_two_days(
    engine: Engine, tmp_path: Path
) -> None:
    """Kept long enough to catch Telegram's re-deliveries (a day), short of the week after which
    Telegram may reuse an update_id at random."""
    store_updates(engine, [_update(1), _update(2), _update(3)])
    mark_handled(engine, 1)
    mark_handled(engine, 2)
    now = dt.datetime.now(dt.UTC)
    with engine.begin() as connection:
        connection.execute(
            update(TABLE)
            .where(TABLE.c.update_id.in_([1, 3]))
            .values(handled_at=None, received_at=now - dt.timedelta(days=5))
        )
        connection.execute(
            update(TABLE)
            .where(TABLE.c.update_id == 1)
            .values(handled_at=now - dt.timedelta(days=INBOX_DAYS, hours=1))
        )
    policy = RetentionPolicy()
    assert purge(engine, tmp_path, policy, now, dry_run=True).inbox_rows == 1
    assert inbox_counts(engine) == (1, 2)
    report = purge(engine, tmp_path, policy, now)
    assert report.inbox_rows == 1
    assert "1 handled Telegram update(s)" in report.line()
    assert inbox_counts(engine) == (1, 1)  # 2 handled today, 3 never handled: both kept
