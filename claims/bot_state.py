"""The Telegram bot's persisted state, for the bot's database-backed persistence (several
instances on PostgreSQL): load it all when a dispatching turn begins, save each change."""

from __future__ import annotations

from collections.abc import Sequence

from cpd.storage import Engine
from cpd.storage import bot_state as store


def load(engine: Engine) -> list[tuple[str, str, bytes]]:
    """Every stored piece of state: (kind, key, pickled value)."""
    return store.load(engine)


def save(engine: Engine, changes: Sequence[tuple[str, str, bytes | None]]) -> None:
    """Write changes in one transaction (a None value deletes that piece)."""
    store.save(engine, changes)
