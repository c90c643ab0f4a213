"""Logging for ``cpd run`` with every secret of the settings replaced by ``***``.

The secrets are collected once from the settings: the Telegram token (and so every
``…/bot<token>/…`` URL), the IMAP password in ``CPD_IMAP_URL``, the database password in
``CPD_DATABASE_URL``, and any other ``SecretStr`` setting (a relay password, a webhook secret).
A :class:`RedactingFilter` on each root handler rewrites the record's message, its formatted
traceback (``exc_text``) and stack before any handler formats it; the handlers' formatter
redacts its whole output once more, and uncaught exceptions (``sys.excepthook``, threads) go
through the same replacement. :func:`redact` is there for anything printed outside logging
(the CLI's one-line errors).
"""

from __future__ import annotations

import logging
import re
import sys
import threading
import traceback
from collections.abc import Iterable
from types import TracebackType
from typing import Any
from urllib.parse import quote, unquote, urlsplit

from pydantic import SecretStr
from sqlalchemy.engine import make_url

from cpd.settings import Settings

MASK = "***"
FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
_QUIET = ("httpx", "httpcore", "apscheduler", "telegram.ext.Application", "mail.log", "alembic")


def _url_password(url: str | None) -> list[str]:
    if not url:
        return []
    found: list[str] = []
    try:
        password = urlsplit(url).password
    except ValueError:
        password = None
    if password:
        found += [password, unquote(password)]
    try:
        parsed = make_url(url).password
    except Exception:
        parsed = None
    if parsed:
        found.append(str(parsed))
    return found


def secrets_of(settings: Settings) -> list[str]:
    """Every secret value the settings hold, in the forms it may be printed in."""
    found: list[str] = []
    for name in type(settings).model_fields:
        value = getattr(settings, name)
        if isinstance(value, SecretStr) and name != "imap_url":
            found.append(value.get_secret_value())
    if settings.imap_url is not None:
        found += _url_password(settings.imap_url.get_secret_value())
    found += _url_password(settings.database_url)
    forms: set[str] = set()
    for secret in found:
        if secret:
            forms |= {secret, quote(secret, safe=""), quote(secret)}
    return sorted(forms, key=len, reverse=True)  # longest first: a secret inside another


class Redactor:
    """Replaces each secret with ``***`` in a text."""

    def __init__(self, secrets: Iterable[str]) -> None:
        unique = sorted({s for s in secrets if s}, key=len, reverse=True)
        self.pattern = re.compile("|".join(re.escape(s) for s in unique)) if unique else None

    def __call__(self, text: str) -> str:
        """``text`` with every secret masked."""
        if self.pattern is None or not text:
            return text
        return self.pattern.sub(MASK, text)


_ACTIVE = Redactor(())


def redact(text: str) -> str:
    """``text`` with the secrets of the configured settings masked (see :func:`configure`)."""
    return _ACTIVE(text)


class RedactingFilter(logging.Filter):
    """Masks secrets in a record's message, arguments, traceback and stack (in place)."""

    def __init__(self, redactor: Redactor) -> None:
        super().__init__()
        self.redactor = redactor
        self._formatter = logging.Formatter()

    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrite the record; never drops it."""
        try:
            message = record.getMessage()
        except Exception:  # a bad format string: show what there is
            message = f"{record.msg} {record.args}"
        record.msg, record.args = self.redactor(message), None
        if record.exc_info and not record.exc_text:
            record.exc_text = self._formatter.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redactor(record.exc_text)
        if record.stack_info:
            record.stack_info = self.redactor(record.stack_info)
        return True


class RedactingFormatter(logging.Formatter):
    """A formatter whose whole output (message, traceback) is masked once more."""

    def __init__(self, redactor: Redactor, fmt: str = FORMAT) -> None:
        super().__init__(fmt)
        self.redactor = redactor

    def format(self, record: logging.LogRecord) -> str:
        """The formatted record, secrets masked."""
        return self.redactor(super().format(record))


def _excepthook(redactor: Redactor) -> Any:
    def hook(kind: type[BaseException], value: BaseException, tb: TracebackType | None) -> None:
        text = "".join(traceback.format_exception(kind, value, tb))
        sys.stderr.write(redactor(text))

    return hook


def configure(settings: Settings | None, level: int = logging.INFO) -> Redactor:
    """Log to stderr with secrets masked; HTTP client request lines stay out. Call once the
    settings are read (``None``: nothing to mask yet). Returns the redactor."""
    global _ACTIVE
    redactor = Redactor(secrets_of(settings) if settings is not None else ())
    _ACTIVE = redactor
    root = logging.getLogger()
    if not root.handlers:
        root.addHandler(logging.StreamHandler(sys.stderr))
    root.setLevel(level)
    for handler in root.handlers:
        for old in [f for f in handler.filters if isinstance(f, RedactingFilter)]:
            handler.removeFilter(old)
        handler.addFilter(RedactingFilter(redactor))
        handler.setFormatter(RedactingFormatter(redactor))
    for noisy in _QUIET:
        logging.getLogger(noisy).setLevel(logging.WARNING)
    sys.excepthook = _excepthook(redactor)
    thread_hook = _excepthook(redactor)
    threading.excepthook = lambda args: thread_hook(
        args.exc_type, args.exc_value or args.exc_type(), args.exc_traceback
    )
    return redactor
