"""The locks several instances share: the SQLite file lock, session advisory locks, the
migrations' lock."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from sqlalchemy import Engine

from cpd.storage import make_engine, migrate, table_names
from cpd.storage.locks import DatabaseInUse, SessionLock, hold_sqlite_file, sqlite_lock_path
from tests.support.waiting import wait_until


def test_a_second_holder_of_a_sqlite_file_is_refused_until_the_first_lets_go(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'cpd.sqlite3'}"
    first = hold_sqlite_file(url)
    assert first is not None
    # flock locks belong to the open file: a second open in this process conflicts as a
    # second process would
    with pytest.raises(DatabaseInUse, match="another cpd run .*cpd.sqlite3"):
        hold_sqlite_file(url)
    first.close()
    again = hold_sqlite_file(url)
    assert again is not None
    again.close()
    assert sqlite_lock_path("postgresql+psycopg://u@127.0.0.1:1/x") is None
    assert sqlite_lock_path("sqlite://") is None


def test_a_session_lock_has_one_holder_and_passes_on_when_it_is_released(
    engine: Engine, db_url: str
) -> None:
    other = make_engine(db_url)
    try:
        mine, theirs = SessionLock(engine, "imap"), SessionLock(other, "imap")
        assert mine.try_acquire() and mine.try_acquire()  # held, and confirmed again
        if engine.dialect.name == "postgresql":
            assert not theirs.try_acquire()
            assert SessionLock(other, "telegram dispatch").try_acquire()  # another name
        mine.release()
        assert theirs.try_acquire()
        theirs.release()
    finally:
        other.dispose()


def test_a_session_lock_whose_connection_dies_is_taken_over(engine: Engine, db_url: str) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("advisory locks are PostgreSQL's")
    other = make_engine(db_url)
    try:
        mine, theirs = SessionLock(engine, "imap"), SessionLock(other, "imap")
        assert mine.try_acquire()
        assert mine._connection is not None
        pid = mine._connection.exec_driver_sql("SELECT pg_backend_pid()").scalar()
        mine._connection.commit()
        with other.connect() as admin:  # the holder's session ends as if its process died
            admin.exec_driver_sql(f"SELECT pg_terminate_backend({int(pid or 0)})")
            admin.commit()
        wait_until(theirs.try_acquire, 10, what="the lock to pass on")  # ends soon after
        assert not mine.try_acquire()  # the dead connection noticed, the lock is theirs now
        theirs.release()
    finally:
        other.dispose()


def test_instances_migrating_at_once_migrate_once(db_url: str) -> None:
    if not db_url.startswith("postgresql"):
        pytest.skip("SQLite's file lock lets one instance in")
    engines = [make_engine(db_url) for _ in range(3)]
    errors: list[BaseException] = []

    def start(engine: Engine) -> None:
        try:
            migrate(engine)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=start, args=(e,)) for e in engines]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    try:
        assert not errors, errors
        assert "outbox" in table_names(engines[0])
    finally:
        for engine in engines:
            engine.dispose()
