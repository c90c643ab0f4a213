"""Throwaway PostgreSQL clusters for the storage tests.

``throwaway_postgres()`` runs ``initdb`` into a fresh temporary directory, starts a server
on a free loopback port with trust authentication and no fsync, waits until it accepts
connections, and yields a SQLAlchemy URL such as
``postgresql+psycopg://postgres@127.0.0.1:54321/cpd_test``. On exit, whether the body
returned or raised, the server is stopped and the directory removed.

The server binaries are looked up with ``pg_config --bindir`` and then under
``/usr/lib/postgresql/*/bin`` (version 15 first). ``initdb`` refuses to run as root, so when
the tests run as root the cluster commands are run as the ``postgres`` user through
``runuser``, on a directory handed to that user.

Without binaries, ``throwaway_postgres()`` raises ``PostgresUnavailable``; tests call
``postgres_available()`` (or ``require_postgres()``) first to skip, or to fail when the
environment variable ``CI`` is ``"true"``.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import re
import shlex
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg

__all__ = [
    "PostgresUnavailable",
    "find_bindir",
    "postgres_available",
    "require_postgres",
    "throwaway_postgres",
]

PG_LIB = Path("/usr/lib/postgresql")
"""Where Debian installs each major version's binaries, as ``PG_LIB/<major>/bin``."""

PREFERRED_MAJOR = 15
"""The major version looked for first under ``/usr/lib/postgresql``."""

SERVER_USER = "postgres"
"""The database superuser created by ``initdb``, and the OS user used when we are root."""

DEFAULT_DBNAME = "cpd_test"
"""The database created in each cluster and named in the yielded URL."""

_PREFIX = "cpd-pg-"
_MAX_SOCKET_PATH = 100  # sun_path is 108 bytes; leave room for "/.s.PGSQL.NNNNN" below
_COMMAND_TIMEOUT = 60.0


class PostgresUnavailable(RuntimeError):
    """PostgreSQL server binaries, or the means to run them, are not on this machine."""


class PostgresStartError(RuntimeError):
    """A throwaway cluster could not be created or started; the message carries its log."""


def _has_server(bindir: Path) -> bool:
    """Tell whether ``bindir`` holds the executables a throwaway cluster needs."""
    return all(os.access(bindir / name, os.X_OK) for name in ("initdb", "pg_ctl", "postgres"))


def _bindir_from_pg_config() -> Path | None:
    """Return ``pg_config --bindir`` when it names a directory with the server binaries.

    Debian's ``libpq-dev`` ships a ``pg_config`` that reports the server's directory even
    when no server is installed, so the answer is checked, not trusted.
    """
    pg_config = shutil.which("pg_config")
    if pg_config is None:
        return None
    try:
        done = subprocess.run(
            [pg_config, "--bindir"], capture_output=True, text=True, timeout=10, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return None
    if done.returncode != 0 or not done.stdout.strip():
        return None
    bindir = Path(done.stdout.strip())
    return bindir if _has_server(bindir) else None


def _version_key(bindir: Path) -> tuple[int, int]:
    """Sort key putting ``PREFERRED_MAJOR`` first, then newer major versions."""
    name = bindir.parent.name
    major = int(name) if name.isdigit() else -1
    return (0 if major == PREFERRED_MAJOR else 1, -major)


def find_bindir() -> Path:
    """Return the directory holding ``initdb``, ``pg_ctl`` and ``postgres``.

    Raises:
        PostgresUnavailable: no usable server binaries were found.
    """
    bindir = _bindir_from_pg_config()
    if bindir is not None:
        return bindir
    candidates = sorted(
        (d for d in PG_LIB.glob("*/bin") if _has_server(d)),
        key=_version_key,
    )
    if candidates:
        return candidates[0]
    raise PostgresUnavailable(
        "PostgreSQL server binaries (initdb, pg_ctl, postgres) not found: neither "
        "`pg_config --bindir` nor /usr/lib/postgresql/*/bin has them. "
        f"On Debian: apt-get install -y postgresql-{PREFERRED_MAJOR}"
    )


def _server_account() -> pwd.struct_passwd | None:
    """Return the account to run cluster commands as, or ``None`` to run them as ourselves.

    Raises:
        PostgresUnavailable: we are root but there is no ``postgres`` user or no ``runuser``.
    """
    if os.geteuid() != 0:
        return None
    try:
        account = pwd.getpwnam(SERVER_USER)
    except KeyError:
        raise PostgresUnavailable(
            f"running as root, and initdb refuses root, but there is no {SERVER_USER!r} user"
        ) from None
    if shutil.which("runuser") is None:
        raise PostgresUnavailable("running as root, and initdb refuses root, but no `runuser`")
    return account


def postgres_available() -> bool:
    """Tell whether ``throwaway_postgres()`` can find what it needs to run a cluster."""
    try:
        find_bindir()
        _server_account()
    except PostgresUnavailable:
        return False
    return True


def require_postgres() -> None:
    """Skip the calling test when PostgreSQL is missing, or fail it when ``CI`` is ``"true"``.

    Meant to be called from a test or fixture; ``pytest`` is imported only here.
    """
    import pytest

    try:
        find_bindir()
        _server_account()
    except PostgresUnavailable as exc:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true but PostgreSQL is unavailable: {exc}", pytrace=False)
        pytest.skip(f"PostgreSQL is unavailable: {exc}")


def _free_port() -> int:
    """Return a loopback TCP port that was free a moment ago (bind to port 0, then close)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _run(
    argv: list[str], account: pwd.struct_passwd | None, timeout: float = _COMMAND_TIMEOUT
) -> subprocess.CompletedProcess[str]:
    """Run a cluster command, as ``account`` through ``runuser`` when one is given."""
    if account is not None:
        argv = ["runuser", "-u", account.pw_name, "--", *argv]
    return subprocess.run(
        argv,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        cwd="/",  # runuser keeps the cwd, which the postgres user may not be able to enter
    )


def _make_root(account: pwd.struct_passwd | None) -> Path:
    """Create the temporary directory, owned by ``account`` when one is given.

    The socket directory lives inside it, so a long ``TMPDIR`` falls back to ``/tmp``.
    """
    base = tempfile.gettempdir()
    if len(os.path.join(base, _PREFIX + "x" * 8, "sock", ".s.PGSQL.65535")) > _MAX_SOCKET_PATH:
        base = "/tmp"
    root = Path(tempfile.mkdtemp(prefix=_PREFIX, dir=base))
    if account is not None:
        os.chown(root, account.pw_uid, account.pw_gid)
    return root


def _log_tail(log: Path, lines: int = 30) -> str:
    """Return the last lines of the server log, or a note that there is none."""
    try:
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no server log)"


def _wait_until_accepting(port: int, deadline: float) -> None:
    """Connect over TCP until the server answers a query; try once more past ``deadline``."""
    while True:
        try:
            with psycopg.connect(
                host="127.0.0.1", port=port, user=SERVER_USER, dbname="postgres", connect_timeout=2
            ) as conn:
                conn.execute("SELECT 1")
                return
        except psycopg.OperationalError as exc:
            if time.monotonic() >= deadline:
                raise PostgresStartError(
                    f"server on port {port} did not accept connections in time: {exc}"
                ) from exc
            time.sleep(0.05)


def _kill_postmaster(data: Path) -> None:
    """Signal the postmaster named in ``postmaster.pid``, the fallback when pg_ctl fails.

    SIGQUIT first (an immediate shutdown, which also ends the backends), SIGKILL after 5 s.
    """
    try:
        pid = int((data / "postmaster.pid").read_text().split("\n", 1)[0])
    except (OSError, ValueError):
        return
    for sig, grace in ((signal.SIGQUIT, 5.0), (signal.SIGKILL, 5.0)):
        try:
            os.kill(pid, sig)
        except (ProcessLookupError, PermissionError):
            return
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.02)


@contextlib.contextmanager
def throwaway_postgres(dbname: str = DEFAULT_DBNAME, start_timeout: float = 30.0) -> Iterator[str]:
    """Run a throwaway PostgreSQL cluster and yield a SQLAlchemy URL for it.

    The URL is ``postgresql+psycopg://postgres@127.0.0.1:PORT/DBNAME``: trust auth on
    loopback, no password. The cluster lives in a temporary directory (data, unix socket
    and log), is started with ``fsync=off``, and is stopped with ``pg_ctl stop -m immediate``
    and deleted on exit, even when the body raised.

    Args:
        dbname: database to create in the cluster and name in the URL.
        start_timeout: seconds allowed for the server to start and accept connections.

    Raises:
        PostgresUnavailable: no server binaries, or (as root) no way to run them.
        PostgresStartError: initdb or the server failed, or it did not come up in time.
    """
    if not re.fullmatch(r"[a-z_][a-z0-9_]*", dbname):
        raise ValueError(f"dbname must be a plain lower-case identifier, got {dbname!r}")
    bindir = find_bindir()
    account = _server_account()
    root = _make_root(account)
    data, sock, log = root / "data", root / "sock", root / "server.log"
    started = False
    try:
        init = _run(
            [
                str(bindir / "initdb"),
                f"--pgdata={data}",
                f"--username={SERVER_USER}",
                "--auth=trust",
                "--encoding=UTF8",
                "--locale=C",
                "--no-sync",
                "--no-instructions",
            ],
            account,
        )
        if init.returncode != 0:
            raise PostgresStartError(f"initdb failed:\n{init.stdout}\n{init.stderr}")
        sock.mkdir()
        if account is not None:
            os.chown(sock, account.pw_uid, account.pw_gid)

        deadline = time.monotonic() + start_timeout
        for attempt in range(3):  # the free port may be taken between probing and binding
            port = _free_port()
            options = [
                f"--port={port}",
                "--listen_addresses=127.0.0.1",  # i.e. -c listen_addresses=127.0.0.1
                f"--unix_socket_directories={sock}",
                "--fsync=off",
                "--synchronous_commit=off",
                "--full_page_writes=off",
            ]
            remaining = max(1, int(deadline - time.monotonic()))
            start = _run(
                [
                    str(bindir / "pg_ctl"),
                    "start",
                    f"--pgdata={data}",
                    f"--log={log}",
                    "--wait",
                    f"--timeout={remaining}",
                    f"--options={shlex.join(options)}",  # pg_ctl hands this string to /bin/sh
                ],
                account,
                timeout=remaining + 10,
            )
            started = True  # even a failed start may have left a postmaster behind
            if start.returncode == 0:
                break
            if attempt < 2 and "Address already in use" in _log_tail(log):
                _stop(bindir, data, account)
                continue
            raise PostgresStartError(
                f"pg_ctl start failed:\n{start.stdout}\n{start.stderr}\n"
                f"server log:\n{_log_tail(log)}"
            )

        _wait_until_accepting(port, deadline)
        with psycopg.connect(
            host="127.0.0.1", port=port, user=SERVER_USER, dbname="postgres", autocommit=True
        ) as conn:
            conn.execute(f'CREATE DATABASE "{dbname}"')  # dbname is checked above

        yield f"postgresql+psycopg://{SERVER_USER}@127.0.0.1:{port}/{dbname}"
    finally:
        try:
            if started:
                _stop(bindir, data, account)
        finally:
            shutil.rmtree(root, ignore_errors=True)


def _stop(bindir: Path, data: Path, account: pwd.struct_passwd | None) -> None:
    """Stop the server at once; kill the postmaster if ``pg_ctl`` cannot."""
    try:
        stop = _run(
            [str(bindir / "pg_ctl"), "stop", "-D", str(data), "-m", "immediate", "-w", "-t", "10"],
            account,
            timeout=20,
        )
        failed = stop.returncode != 0 and (data / "postmaster.pid").exists()
    except (OSError, subprocess.SubprocessError):
        failed = True
    if failed:
        _kill_postmaster(data)
