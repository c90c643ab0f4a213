"""The Telegram bot's persisted state in the database (table ``bot_state``): opaque bytes the
bot pickles, keyed by (kind, key), e.g. ("user", "42") or ("conversation:member", "[42, 42]").

Several instances take turns dispatching Telegram updates; the one whose turn it is loads this
state when its turn begins and writes each change as it happens, so the next one continues
every conversation where it stood."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Engine, delete, select, tuple_
from sqlalchemy.dialects import postgresql, sqlite

from cpd.storage.models import BotState, utcnow

TABLE = BotState.metadata.tables["bot_state"]


def _insert(engine: Engine) -> Any:
    return (postgresql if engine.dialect.name == "postgresql" else sqlite).insert(TABLE)


def load(engine: Engine) -> list[tuple[str, str, bytes]]:
    """Every stored (kind, key, value)."""
    with engine.connect() as connection:
        rows = connection.execute(select(TABLE.c.kind, TABLE.c.key, TABLE.c.value)).all()
    return [(str(r.kind), str(r.key), bytes(r.value)) for r in rows]


def save(engine: Engine, changes: Sequence[tuple[str, str, bytes | None]]) -> None:
    """Write changes in one transaction: a value replaces the stored one, None deletes it."""
    if not changes:
        return
    now = utcnow()
    gone = [(kind, key) for kind, key, value in changes if value is None]
    kept = {(k, key): v for k, key, v in changes if v is not None}  # the last change counts
    with engine.begin() as connection:
        if gone:
            connection.execute(delete(TABLE).where(tuple_(TABLE.c.kind, TABLE.c.key).in_(gone)))
        if kept:
            statement = _insert(engine).values(
                [
                    {"kind": k, "key": key, "value": v, "updated_at": now}
                    for (k, key), v in kept.items()
                ]
            )
            connection.execute(
                statement.on_conflict_do_update(
                    index_elements=["kind", "key"],
                    set_={"value": statement.excluded.value, "updated_at": now},
                )
            )
