"""Secrets from the settings never reach a log line, a traceback or the CLI's one-line error."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pytest

from cpd import redact
from cpd.settings import Settings

TOKEN = "987654:AAF-secret_Token-value"
IMAP_PASSWORD = "imap p@ss/word"
DB_PASSWORD = "db-S3cret!"


@pytest.fixture
def settings() -> Settings:
    return Settings(
        telegram_token=TOKEN,
        imap_url="imap://claims%40example.org:imap%20p%40ss%2Fword@mail.example.org:143/INBOX",
        database_url=f"postgresql+psycopg://cpd:{DB_PASSWORD}@db.example.org:5432/cpd",
    )


@pytest.fixture
def logger(settings: Settings) -> Iterator[tuple[logging.Logger, io.StringIO]]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    redactor = redact.Redactor(redact.secrets_of(settings))
    handler.addFilter(redact.RedactingFilter(redactor))
    handler.setFormatter(redact.RedactingFormatter(redactor))
    log = logging.getLogger("test.redact")
    log.addHandler(handler)
    log.propagate = False
    log.setLevel(logging.INFO)
    yield log, stream
    log.removeHandler(handler)


def test_every_secret_of_the_settings_is_collected(settings: Settings) -> None:
    found = redact.secrets_of(settings)
    assert TOKEN in found and IMAP_PASSWORD in found and DB_PASSWORD in found
    assert "imap%20p%40ss%2Fword" in found  # the form it has inside the URL


@pytest.mark.parametrize(
    "line",
    [
        f"POST https://api.telegram.org/bot{TOKEN}/getMe failed",
        f"The token `{TOKEN}` was rejected by the server.",
        f"connection to postgresql+psycopg://cpd:{DB_PASSWORD}@db.example.org/cpd refused",
        f"LOGIN claims@example.org {IMAP_PASSWORD}",
        "imap://claims%40example.org:imap%20p%40ss%2Fword@mail.example.org/INBOX",
    ],
)
def test_a_log_line_never_shows_a_secret(
    logger: tuple[logging.Logger, io.StringIO], line: str
) -> None:
    log, stream = logger
    log.info("got %s", line)
    out = stream.getvalue()
    assert "***" in out
    for secret in (TOKEN, DB_PASSWORD, IMAP_PASSWORD, "imap%20p%40ss%2Fword"):
        assert secret not in out


def test_a_traceback_is_masked_too(logger: tuple[logging.Logger, io.StringIO]) -> None:
    log, stream = logger
    try:
        raise RuntimeError(f"https://api.telegram.org/bot{TOKEN}/getUpdates: 502")
    except RuntimeError:
        log.exception("the fetch failed for %s", TOKEN)
    out = stream.getvalue()
    assert "Traceback" in out and "RuntimeError" in out
    assert TOKEN not in out and out.count("***") >= 2


def test_configure_installs_the_mask_on_the_root_handlers(settings: Settings) -> None:
    root = logging.getLogger()
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    saved = root.handlers[:], root.level
    root.handlers[:] = [handler]
    try:
        redact.configure(settings)
        logging.getLogger("telegram.ext.Updater").error("token %s rejected", TOKEN)
        assert redact.redact(f"bot{TOKEN}") == "bot***"
    finally:
        root.handlers[:], level = saved
        root.setLevel(level)
        redact.configure(None)
    assert TOKEN not in stream.getvalue() and "token *** rejected" in stream.getvalue()


def test_nothing_configured_masks_nothing() -> None:
    assert redact.Redactor(())("plain text") == "plain text"
