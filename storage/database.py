"""Engine and session set-up for SQLite (the embedded default) and PostgreSQL, and migration.

SQLite runs in WAL mode with foreign keys on and a busy timeout, so that the bot, the mail
listener and the CLI can share one file. The schema is created by the Alembic migrations in
``storage/migrations`` (``migrate``), never by ``create_all``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import orjson
from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event, inspect
from sqlalchemy.engine import make_url
from sqlmodel import Session

MIGRATIONS_DIR = Path(__file__).with_name("migrations")


def _sqlite_pragmas(dbapi_connection: Any, _record: object) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def make_engine(url: str) -> Engine:
    """An engine for ``url``; SQLite files get their directory created and their pragmas set."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": 10},
            json_serializer=_dumps,
            json_deserializer=orjson.loads,
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(
        url, pool_pre_ping=True, json_serializer=_dumps, json_deserializer=orjson.loads
    )


def _dumps(value: object) -> str:
    # orjson is several times faster than json on the millions of rows a bulk evaluation reads
    return orjson.dumps(value).decode("utf-8")


def alembic_config(engine: Engine) -> Config:
    """An Alembic configuration pointing at the shipped migrations and at ``engine``."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["engine"] = engine
    return config


def migrate(engine: Engine, revision: str = "head") -> None:
    """Bring the schema up to ``revision`` (idempotent). On PostgreSQL under an advisory lock:
    of several instances starting at once one migrates, the others wait and find it done."""
    from cpd.storage.locks import migration_lock

    with migration_lock(engine):
        command.upgrade(alembic_config(engine), revision)


def downgrade(engine: Engine, revision: str) -> None:
    """Take the schema down to ``revision`` (used by the migration tests)."""
    command.downgrade(alembic_config(engine), revision)


def table_names(engine: Engine) -> set[str]:
    """The tables that exist in the database."""
    return set(inspect(engine).get_table_names())


@contextmanager
def transaction(engine: Engine) -> Iterator[Session]:
    """A session whose work is committed on success and rolled back on any error."""
    with Session(engine, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


def reading(engine: Engine) -> Session:
    """A session for reads outside a transaction of changes: its rows stay usable (detached,
    not expired) after it closes. Use it as a context manager."""
    return Session(engine, expire_on_commit=False)
