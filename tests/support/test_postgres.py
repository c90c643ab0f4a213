"""Tests for the throwaway PostgreSQL cluster helper.

Skipped when no PostgreSQL server binaries are installed, except under ``CI=true``, where
a missing server is a failure.
"""

from __future__ import annotations

import errno
import socket
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from . import postgres as helper
from .postgres import PostgresUnavailable, postgres_available, require_postgres, throwaway_postgres


@pytest.fixture
def needs_postgres() -> None:
    """Skip (or under CI, fail) the test when PostgreSQL is missing."""
    require_postgres()


needs_server = pytest.mark.usefixtures("needs_postgres")


def _cluster_root(engine: Engine) -> Path:
    """Return the temporary directory of the cluster behind ``engine``."""
    with engine.connect() as conn:
        data = Path(conn.execute(text("SHOW data_directory")).scalar_one())
    assert data.name == "data"
    return data.parent


def _assert_port_free(port: int) -> None:
    """Assert nothing listens on ``127.0.0.1:port`` and the port can be bound again."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.settimeout(2)
        code = probe.connect_ex(("127.0.0.1", port))
    assert code == errno.ECONNREFUSED, f"something still answers on port {port}"
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        # SO_REUSEADDR tolerates TIME_WAIT leftovers but not a live listener.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", port))


@needs_server
def test_available() -> None:
    """The fixture got past its check, so the helper agrees PostgreSQL is there."""
    assert postgres_available()


@needs_server
def test_round_trip_then_cleanup() -> None:
    """A table is created, written and read through SQLAlchemy; nothing is left behind."""
    with throwaway_postgres() as url:
        parsed = make_url(url)
        assert parsed.drivername == "postgresql+psycopg"
        assert parsed.host == "127.0.0.1"
        assert parsed.database == "cpd_test"
        assert parsed.password is None
        port = parsed.port
        assert port is not None

        engine = create_engine(url)
        try:
            root = _cluster_root(engine)
            assert root.is_dir()
            assert (root / "sock" / f".s.PGSQL.{port}").exists()
            with engine.begin() as conn:
                conn.execute(text("CREATE TABLE claim (id serial PRIMARY KEY, title text)"))
                conn.execute(text("INSERT INTO claim (title) VALUES (:t)"), {"t": "Ethics ✓"})
            with engine.connect() as conn:
                rows = conn.execute(text("SELECT id, title FROM claim")).all()
                fsync = conn.execute(text("SHOW fsync")).scalar_one()
                listen = conn.execute(text("SHOW listen_addresses")).scalar_one()
            assert [tuple(r) for r in rows] == [(1, "Ethics ✓")]
            assert fsync == "off"
            assert listen == "127.0.0.1"
        finally:
            engine.dispose()

    assert not root.exists()
    _assert_port_free(port)


@needs_server
def test_cleanup_after_exception_in_body() -> None:
    """An exception in the body propagates, and the cluster is still stopped and removed."""

    class Boom(Exception):
        pass

    seen: dict[str, object] = {}
    with pytest.raises(Boom), throwaway_postgres(dbname="other_db") as url:
        engine = create_engine(url)
        try:
            seen["root"] = _cluster_root(engine)
            # Keep a connection open across the failure: stopping must not wait for it.
            conn = engine.connect()
            conn.execute(text("SELECT 1"))
            seen["port"] = make_url(url).port
            raise Boom
        finally:
            engine.dispose()

    root, port = seen["root"], seen["port"]
    assert isinstance(root, Path) and isinstance(port, int)
    assert not root.exists()
    _assert_port_free(port)


@needs_server
def test_two_clusters_at_once() -> None:
    """Clusters are independent: two can run side by side on different ports."""
    with throwaway_postgres() as first, throwaway_postgres() as second:
        assert make_url(first).port != make_url(second).port
        for url in (first, second):
            engine = create_engine(url)
            try:
                with engine.connect() as conn:
                    assert conn.execute(text("SELECT 1")).scalar_one() == 1
            finally:
                engine.dispose()


def test_unavailable_is_clear(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """With no binaries to be found, the helper says so instead of failing obscurely."""
    monkeypatch.setattr(helper, "_bindir_from_pg_config", lambda: None)
    monkeypatch.setattr(helper, "PG_LIB", tmp_path)
    (tmp_path / "15" / "bin").mkdir(parents=True)  # a client-only install: no initdb
    assert not postgres_available()
    with pytest.raises(PostgresUnavailable, match="apt-get install -y postgresql-15"):  # noqa: SIM117
        with throwaway_postgres():
            pass  # pragma: no cover
