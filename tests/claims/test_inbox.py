"""The claims layer's Telegram inbox: store before confirming, give up on an update that keeps
crashing the process, and the retention hook."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Engine

from cpd.claims.inbox import TelegramInbox


def test_store_is_idempotent_and_hands_out_what_is_unhandled(sqlite_engine: Engine) -> None:
    inbox = TelegramInbox(sqlite_engine)
    assert inbox.store([{"update_id": 5, "message": {"text": "a"}}]) == 1
    assert inbox.store([{"update_id": 5, "message": {"text": "a"}}]) == 0
    [row] = inbox.unhandled()
    assert (row.update_id, row.payload["message"]["text"], row.attempts) == (5, "a", 0)
    assert inbox.begin(5)
    assert inbox.handled(5)
    assert not inbox.begin(5)
    assert inbox.unhandled() == []


def test_an_update_that_never_finishes_is_given_up_after_max_attempts(
    sqlite_engine: Engine,
) -> None:
    inbox = TelegramInbox(sqlite_engine, max_attempts=3)
    inbox.store([{"update_id": 1}, {"update_id": 2}])
    for _ in range(3):  # three attempts, each cut short by a crash
        assert inbox.begin(1)
    assert not inbox.begin(1)  # the fourth: given up, marked handled
    assert [r.update_id for r in inbox.unhandled()] == [2]
    assert inbox.counts() == (1, 1)


def test_purge_keeps_recent_and_unhandled_updates(sqlite_engine: Engine) -> None:
    inbox = TelegramInbox(sqlite_engine)
    inbox.store([{"update_id": 1}, {"update_id": 2}])
    inbox.handled(1)
    assert inbox.purge(30) == 0
    later = dt.datetime.now(dt.UTC) + dt.timedelta(days=31)
    assert inbox.purge(30, now=later) == 1
    assert [r.update_id for r in inbox.unhandled()] == [2]
