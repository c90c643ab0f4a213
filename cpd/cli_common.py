"""What every ``cpd`` command shares: one-line errors, settings, the database, dates, files.

A user mistake (a bad option, an unreadable file, an unreachable database, a data directory
that cannot be created) is a ``UserError``: ``cli.main`` prints it as one line on stderr and
exits 2. Database URLs are shown with their password masked, and the password is scrubbed from
any driver message quoted.
"""

from __future__ import annotations

import datetime as dt
import re
import sys
from pathlib import Path
from typing import NoReturn
from zoneinfo import ZoneInfo

import typer
from sqlalchemy import Engine
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, OperationalError

from cpd.rules.values import FIRST_YEAR, LAST_YEAR
from cpd.settings import Settings, load_settings

_USERINFO = re.compile(r"(://[^:/@\s]*:)[^@\s]*@")


class UserError(Exception):
    """A mistake in what the user asked: printed as one line, exit 2."""


def fail(message: str, code: int = 2) -> NoReturn:
    """Print ``cpd: error: message`` to stderr and exit."""
    typer.echo(f"cpd: error: {message}", err=True)
    raise typer.Exit(code)


def settings() -> Settings:
    """The settings (SettingsError, one line, on a bad value), with the SQLite database's
    directory created (UserError when it cannot be) and the data directory checked, so that
    every command, ``cpd run`` included, fails in one line on a data directory it cannot use."""
    config = load_settings()
    url = make_url(config.effective_database_url)
    variable = "CPD_DATABASE_URL" if config.database_url else "CPD_DATA_DIR"
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        make_directory(Path(url.database).parent, variable)
    if config.database_url:
        ancestor = config.data_dir.absolute()
        while not ancestor.exists() and ancestor != ancestor.parent:
            ancestor = ancestor.parent
        if not ancestor.is_dir():
            raise UserError(
                f"CPD_DATA_DIR: cannot create the directory {config.data_dir}: {ancestor} is a file"
            )
    return config


def make_directory(path: Path, variable: str) -> None:
    """Create ``path`` (and its parents) or raise a UserError naming ``variable``."""
    try:
        path.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise UserError(
            f"{variable}: cannot create the directory {path}: it is a file, not a directory"
        ) from None
    except OSError as exc:
        raise UserError(
            f"{variable}: cannot create the directory {exc.filename or path}: {exc.strerror or exc}"
        ) from None


def redact(text: str, url: str | None = None) -> str:
    """``text`` without the password of ``url`` nor any ``user:password@`` in a URL."""
    if url:
        try:
            password = make_url(url).password
        except ArgumentError:
            password = None
        if password:
            text = text.replace(str(password), "***")
    return _USERINFO.sub(r"\1***@", text)


def _shown(url: str) -> str:
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return redact(url)


def _first_line(exc: BaseException) -> str:
    cause = getattr(exc, "orig", None) or exc
    lines = [line.strip() for line in str(cause).splitlines() if line.strip()]
    return lines[0] if lines else type(cause).__name__


def database_problem(settings: Settings, exc: BaseException) -> UserError:
    """A one-line, password-free error for a database that cannot be opened or reached."""
    url = settings.effective_database_url
    variable = "CPD_DATABASE_URL" if settings.database_url else "CPD_DATA_DIR"
    reason = redact(_first_line(exc), url)
    return UserError(f"{variable}: cannot use the database {_shown(url)}: {reason}")


def open_engine(settings: Settings) -> Engine:
    """The migrated database engine, or a UserError naming the setting to fix."""
    from cpd.storage import make_engine, migrate

    url = settings.effective_database_url
    variable = "CPD_DATABASE_URL" if settings.database_url else "CPD_DATA_DIR"
    try:
        engine = make_engine(url)
    except OSError as exc:  # the SQLite file's directory could not be created
        where = exc.filename or settings.data_dir
        reason = (
            "it is a file, not a directory"
            if isinstance(exc, FileExistsError)
            else (exc.strerror or str(exc))
        )
        raise UserError(f"{variable}: cannot create the directory {where}: {reason}") from None
    except (ArgumentError, ImportError) as exc:
        raise UserError(f"CPD_DATABASE_URL: {redact(_first_line(exc), url)}") from None
    try:
        migrate(engine)
    except (OperationalError, DBAPIError) as exc:
        engine.dispose()
        raise database_problem(settings, exc) from None
    return engine


def read_input(path: str) -> str:
    """The text of ``path`` (``-`` for stdin)."""
    if path == "-":
        return sys.stdin.read()
    try:
        return Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise UserError(f"cannot read {path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise UserError(f"{path} is not UTF-8 text") from None


def write_output(path: Path, data: str | bytes) -> None:
    """Write ``data`` to ``path``; a missing directory or a refused write is a UserError."""
    if path.is_dir():
        raise UserError(f"cannot write {path}: it is a directory")
    if not path.parent.is_dir():
        raise UserError(f"cannot write {path}: no directory {path.parent}")
    try:
        if isinstance(data, bytes):
            path.write_bytes(data)
        else:
            path.write_text(data, encoding="utf-8")
    except OSError as exc:
        raise UserError(f"cannot write {path}: {exc.strerror or exc}") from None


def date_option(value: str | None, name: str) -> dt.date:
    """A ``YYYY-MM-DD`` option (default: today)."""
    if value is None:
        return dt.date.today()
    try:
        day = dt.date.fromisoformat(value)
    except ValueError:
        raise UserError(f"{name}: {value!r} is not a date (use YYYY-MM-DD)") from None
    _in_calendar(day, name, value)
    return day


def _in_calendar(day: dt.date, name: str, value: str) -> None:
    if not FIRST_YEAR <= day.year <= LAST_YEAR:  # periods around it would leave the calendar
        raise UserError(f"{name}: {value!r} is outside {FIRST_YEAR}-{LAST_YEAR}")


def moment_option(
    value: str | None,
    zone: ZoneInfo,
    dry_run: bool,
    not_before: dt.timedelta | None = None,
) -> dt.datetime:
    """A ``--now`` ISO date-time (default: now; naive means the body's time zone).

    Later than the real time is refused unless ``dry_run``: a real run would tell members about
    a future that has not happened. With ``not_before``, a moment further back than that is
    refused too (the outbox rows that make a replay harmless have been purged by then).
    """
    real = dt.datetime.now(dt.UTC)
    if value is None:
        return real
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError:
        raise UserError(f"--now: {value!r} is not an ISO date-time") from None
    _in_calendar(moment.date(), "--now", value)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone)
    if dry_run:
        return moment
    if moment > real + dt.timedelta(minutes=1):
        raise UserError(
            f"--now: {value} is later than the real time; use --dry-run to see what would happen"
        )
    if not_before is not None and moment < real - not_before:
        raise UserError(
            f"--now: {value} is more than {not_before.days} days ago (CPD_RETENTION_DAYS): "
            "the records that make a repeat harmless are gone; use --dry-run"
        )
    return moment
