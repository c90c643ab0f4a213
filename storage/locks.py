"""Locks that let several ``cpd run`` share one database, and keep two off one SQLite file.

* :func:`hold_sqlite_file`: an exclusive ``flock`` on ``<database>.lock`` beside a SQLite file,
  held for the life of the process (the kernel drops it when the process dies, SIGKILL
  included). A second ``cpd run`` on the same file gets :class:`DatabaseInUse`.
* :class:`SessionLock`: a PostgreSQL *session* advisory lock held on a connection of its own
  for as long as the instance does one thing alone (polling IMAP, dispatching Telegram
  updates). It goes with the connection: when the holder dies the server drops it and another
  instance's :meth:`SessionLock.try_acquire` succeeds. On SQLite it is always granted (the file
  lock already makes the process the only one).
* :func:`advisory_key`: the stable 64-bit key of a lock name (the same in every instance).
* :func:`migration_lock`: a blocking session advisory lock around the migrations, so one
  instance migrates and the others wait, then find the schema at head.
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from sqlalchemy import Connection, Engine, text
from sqlalchemy.engine import make_url

log = logging.getLogger(__name__)


class DatabaseInUse(Exception):
    """Another process holds the SQLite database's lock file."""


def advisory_key(name: str) -> int:
    """The signed 64-bit advisory lock key of ``name`` (sha256, so every instance agrees)."""
    return int.from_bytes(hashlib.sha256(f"cpd:{name}".encode()).digest()[:8], "big", signed=True)


def sqlite_lock_path(url: str) -> Path | None:
    """The lock file beside a SQLite database file; None for PostgreSQL or in-memory SQLite."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database:
        return None
    if parsed.database == ":memory:":
        return None
    database = Path(parsed.database).resolve()
    return database.with_name(database.name + ".lock")


def hold_sqlite_file(url: str) -> IO[str] | None:
    """Take the exclusive lock of a SQLite database for this process and return the open lock
    file (keep it: closing it releases the lock); None when ``url`` is not a SQLite file.

    Raises DatabaseInUse (naming the holder's pid when known) if another process holds it."""
    path = sqlite_lock_path(url)
    if path is None:
        return None
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = path.open("a+", encoding="utf-8")
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        holder = handle.read().strip()[:20]
        handle.close()
        who = f" (pid {holder})" if holder.isdigit() else ""
        raise DatabaseInUse(
            f"another cpd run{who} is using the SQLite database {path.with_suffix('')}: "
            "stop it first, or use PostgreSQL (CPD_DATABASE_URL) for several instances"
        ) from None
    handle.seek(0)
    handle.truncate()
    handle.write(f"{os.getpid()}\n")
    handle.flush()
    return handle


def _is_postgresql(engine: Engine) -> bool:
    return engine.dialect.name == "postgresql"


class SessionLock:
    """A named PostgreSQL session advisory lock on a dedicated connection (always granted on
    SQLite). Not thread-safe: one owner calls it."""

    def __init__(self, engine: Engine, name: str) -> None:
        self.engine, self.name = engine, name
        self.key = advisory_key(name)
        self._connection: Connection | None = None
        self._held_sqlite = False

    @property
    def held(self) -> bool:
        """Whether this instance believed it held the lock at the last check."""
        return self._connection is not None or self._held_sqlite

    def try_acquire(self) -> bool:
        """Take the lock if it is free, or confirm it is still ours (its connection alive);
        True when this instance holds it now. Never blocks on another holder."""
        if not _is_postgresql(self.engine):
            self._held_sqlite = True
            return True
        if self._connection is not None:
            try:
                self._connection.execute(text("SELECT 1"))
                self._connection.commit()
                return True
            except Exception as exc:  # the server dropped the connection: the lock went with it
                log.warning("lost the %r lock with its connection: %s", self.name, exc)
                self._close()
        try:
            connection = self.engine.connect()
        except Exception as exc:
            log.warning("cannot try the %r lock: %s", self.name, exc)
            return False
        try:
            got = bool(
                connection.execute(
                    text("SELECT pg_try_advisory_lock(:key)"), {"key": self.key}
                ).scalar()
            )
            connection.commit()
        except Exception as exc:
            log.warning("cannot try the %r lock: %s", self.name, exc)
            connection.close()
            return False
        if not got:
            connection.close()
            return False
        self._connection = connection
        return True

    def release(self) -> None:
        """Give the lock up (closing its connection)."""
        self._held_sqlite = False
        if self._connection is None:
            return
        try:
            self._connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": self.key})
            self._connection.commit()
        except Exception:  # the connection is gone: so is the lock
            pass
        self._close()

    def _close(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            try:
                connection.invalidate()  # never back to the pool with a lock on it
                connection.close()
            except Exception:
                pass


@contextmanager
def migration_lock(engine: Engine) -> Iterator[None]:
    """Hold the migrations' advisory lock (waiting for another instance's migration to end) on
    PostgreSQL; nothing on SQLite."""
    if not _is_postgresql(engine):
        yield
        return
    key = advisory_key("migrations")
    with engine.connect() as connection:
        connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": key})
        connection.commit()
        try:
            yield
        finally:
            connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": key})
            connection.commit()
