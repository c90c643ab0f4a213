"""Shared fixtures: a migrated database on SQLite and on a throwaway PostgreSQL 15 cluster."""

from __future__ import annotations

import compileall
import contextlib
import itertools
import os
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from sqlalchemy import Engine
from sqlalchemy.engine import make_url

from cpd.storage import make_engine, migrate
from tests.support.dns_server import (  # noqa: F401 (fixtures)
    dkim_key,
    local_dns,
    mail_zone,
    other_dkim_key,
)
from tests.support.environment import clean_cpd_env  # noqa: F401 (fixture)
from tests.support.postgres import postgres_available, throwaway_postgres

_database_numbers = itertools.count(1)


_SHARED_CLUSTER = "cpd_postgres_cluster"
"""The ``workerinput`` key under which pytest-xdist workers get the controller's cluster URL."""
_controller_stack = contextlib.ExitStack()


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    """pytest-xdist, in the controller: one PostgreSQL cluster for all workers, started before
    the first one (an ``initdb`` and a server each would cost every worker seconds of CPU);
    each test still gets a database of its own in it. Stopped in ``pytest_unconfigure``."""
    config = node.config
    if not hasattr(config, "_cpd_cluster_url"):
        url = ""
        if postgres_available():
            url = _controller_stack.enter_context(throwaway_postgres())
        config._cpd_cluster_url = url
    node.workerinput[_SHARED_CLUSTER] = config._cpd_cluster_url


def pytest_unconfigure(config: pytest.Config) -> None:
    """Stop the shared cluster (controller only; a no-op elsewhere)."""
    if not hasattr(config, "workerinput"):
        _controller_stack.close()


@pytest.fixture(scope="session")
def postgres_cluster(request: pytest.FixtureRequest) -> Iterator[str]:
    """One PostgreSQL cluster for the whole run, shared by the xdist workers (each test gets its
    own database in it)."""
    shared = getattr(request.config, "workerinput", {}).get(_SHARED_CLUSTER)
    if shared:
        yield shared
        return
    if not postgres_available():
        if os.environ.get("CI") == "true":
            pytest.fail("PostgreSQL 15 binaries are missing on CI: .ci/run should install them")
        pytest.skip("PostgreSQL binaries not installed (apt-get install -y postgresql-15)")
    with throwaway_postgres() as url:
        yield url


def _admin_connection(cluster_url: str) -> psycopg.Connection[tuple[object, ...]]:
    url = make_url(cluster_url)
    return psycopg.connect(
        host=url.host, port=url.port, user=url.username, dbname=url.database, autocommit=True
    )


def _fresh_postgres_database(cluster_url: str) -> str:
    """The URL of a new, empty database in the cluster."""
    name = f"cpd_t{os.getpid()}_{next(_database_numbers)}"
    with _admin_connection(cluster_url) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    return make_url(cluster_url).set(database=name).render_as_string(hide_password=False)


def _drop_postgres_database(cluster_url: str, database_url: str) -> None:
    """Drop a test's database (connections left open are ended): the cluster stays small, and
    removing it at the end of the run is quick."""
    name = make_url(database_url).database
    with _admin_connection(cluster_url) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database URL, once on SQLite and once on PostgreSQL (dropped after the test)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'cpd.sqlite3'}"
        return
    cluster = request.getfixturevalue("postgres_cluster")
    url = _fresh_postgres_database(cluster)
    yield url
    _drop_postgres_database(cluster, url)


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    """A migrated engine on each backend."""
    engine = make_engine(db_url)
    migrate(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def sqlite_engine(tmp_path: Path) -> Iterator[Engine]:
    """A migrated SQLite engine only (for tests that are not about the backend)."""
    engine = make_engine(f"sqlite:///{tmp_path / 'cpd.sqlite3'}")
    migrate(engine)
    yield engine
    engine.dispose()


# The longest files start first: with `--dist loadfile` (.ci/run) a file runs whole on one
# worker, and a long one handed out last keeps the run going after the others are done. The
# fault cases are one file each for that reason (a file of three would be the critical path).
LONGEST_FIRST = (
    "tests/faults/test_telegram_faults.py",
    "tests/faults/test_telegram_claim_faults.py",
    "tests/faults/test_mail_size_faults.py",
    "tests/faults/test_reminder_faults.py",
    "tests/faults/test_evidence_faults.py",
    "tests/faults/test_mail_faults.py",
    "tests/faults/test_telegram_start_faults.py",
    "tests/bot/test_restart_conversation.py",
    "tests/bot/test_workflows.py",
    "tests/bot/test_bad_input.py",
    "tests/faults/",
    "tests/web/test_cpd_run_web.py",
    "tests/bot/test_end_to_end.py",
    "tests/bot/",
)
ROOT = Path(__file__).resolve().parents[1]


def pytest_configure(config: pytest.Config) -> None:
    """Compile the product's modules once, before the workers start: the machine's environment
    sets PYTHONDONTWRITEBYTECODE, and every `cpd` subprocess would otherwise compile each
    module it imports from source again (about 5 % of a `cpd run` start-up)."""
    if hasattr(config, "workerinput"):  # a pytest-xdist worker: the controller did it
        return
    with (ROOT / "pyproject.toml").open("rb") as handle:
        folders = tomllib.load(handle)["tool"]["setuptools"]["package-dir"].values()
    for folder in sorted(set(folders)):
        compileall.compile_dir(ROOT / folder, quiet=1)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Files matching ``LONGEST_FIRST`` ahead, in its order (the order within a file is kept)."""

    def rank(item: pytest.Item) -> int:
        path = item.path.resolve().relative_to(ROOT).as_posix()
        return next((i for i, p in enumerate(LONGEST_FIRST) if path.startswith(p)), 99)

    items.sort(key=rank)


# The fault-injection suite's figures (tests/faults/conftest.py records them in each report's
# user_properties): gathered here, where the controlling process also sees them under xdist.
FAULT_FIGURES_PROPERTY = "fault_figures"
FAULT_REPORT_FILE = Path(__file__).resolve().parents[1] / "benchmarks" / "results" / "faults.txt"
_fault_lines: list[str] = []


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    """Keep the fault figures a test recorded."""
    if report.when == "call":
        _fault_lines.extend(
            str(value) for name, value in report.user_properties if name == FAULT_FIGURES_PROPERTY
        )


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Print every fault case's figures after the run."""
    if not _fault_lines:
        return
    terminalreporter.section("fault injection figures")
    for line in _fault_lines:
        terminalreporter.write_line(line)
    if FAULT_REPORT_FILE.parent.is_dir():
        FAULT_REPORT_FILE.write_text("\n".join(_fault_lines) + "\n", encoding="utf-8")
