"""The Telegram inbox, the channel-neutral side: store an update before it is confirmed, hand
out the unhandled ones in order, record each as handled.

The rule it serves: whatever comes in is stored before it is acknowledged. The long-polling
fetcher calls :meth:`TelegramInbox.store` with a ``getUpdates`` batch and only then sends the
offset that confirms it; a webhook endpoint calls the same ``store`` with its one update and
answers 200 only after it returned. The same ``update_id`` twice is stored once and handled
once. An update whose handling began ``max_attempts`` times without finishing (each attempt
ended by a crash) is given up, logged, and never blocks the ones behind it. An update whose
handler met a temporary fault (:func:`is_temporary`: the database down or locked) stays
unhandled, that attempt not counted, and is handled again once the fault has passed.

Retention: :meth:`TelegramInbox.purge` deletes handled rows older than N days (the nightly
purge job calls it; unhandled rows are never deleted).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from cpd.storage import Engine
from cpd.storage import errors as storage_errors
from cpd.storage import inbox as storage

log = logging.getLogger(__name__)

DEFAULT_MAX_ATTEMPTS = 5
DEFAULT_RETENTION_DAYS = 30


@dataclass(frozen=True)
class StoredUpdate:
    """An update waiting in the inbox: its ``update_id``, its Bot API JSON, attempts so far."""

    update_id: int
    payload: dict[str, Any]
    attempts: int


class TelegramInbox:
    """Stores Telegram updates before they are confirmed, and tracks which were handled."""

    def __init__(self, engine: Engine, max_attempts: int = DEFAULT_MAX_ATTEMPTS) -> None:
        self.engine = engine
        self.max_attempts = max_attempts

    def store(self, updates: Sequence[Mapping[str, Any]]) -> int:
        """Store a batch of updates in one transaction (duplicates ignored); returns how many
        were new. Confirm them to Telegram only after this returned."""
        return storage.store_updates(self.engine, updates)

    def unhandled(self, limit: int = 100, after: int | None = None) -> list[StoredUpdate]:
        """Unhandled updates in ``update_id`` order (only above ``after`` when given)."""
        return [
            StoredUpdate(row.update_id, row.payload, row.attempts)
            for row in storage.unhandled_updates(self.engine, limit, after)
        ]

    def begin(self, update_id: int) -> int:
        """Count an attempt at handling ``update_id``: the attempt's number (2 and more: an
        earlier handling was cut short by a crash), or 0 when it must not be handled (already
        handled, or given up after ``max_attempts`` unfinished attempts)."""
        attempts = storage.begin_handling(self.engine, update_id)
        if attempts is None:
            return 0
        if attempts > self.max_attempts:
            log.error(
                "Telegram update %s was not handled after %s attempts: given up",
                update_id,
                attempts - 1,
            )
            storage.mark_handled(self.engine, update_id, "given_up")
            return 0
        return attempts

    def retry_later(self, update_id: int) -> None:
        """The handling of ``update_id`` failed on a temporary fault (see :func:`is_temporary`):
        leave it unhandled, its attempt not counted, to be handled again."""
        storage.release_attempt(self.engine, update_id)

    def handled(self, update_id: int, outcome: str = "handled") -> bool:
        """Record that ``update_id`` was handled (False if it already was)."""
        return storage.mark_handled(self.engine, update_id, outcome)

    def purge(
        self, older_than_days: int = DEFAULT_RETENTION_DAYS, now: dt.datetime | None = None
    ) -> int:
        """Retention hook: delete handled updates older than ``older_than_days``; how many."""
        moment = now or dt.datetime.now(dt.UTC)
        return storage.purge_handled(self.engine, moment - dt.timedelta(days=older_than_days))

    def counts(self) -> tuple[int, int]:
        """(unhandled, handled) updates in the inbox."""
        return storage.inbox_counts(self.engine)


def is_temporary(error: BaseException) -> bool:
    """Whether ``error`` is a fault of the infrastructure that passes (the database is down,
    locked or restarting), so the update that met it must be handled again later rather than
    recorded as handled."""
    return storage_errors.is_temporary(error)
