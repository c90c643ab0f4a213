"""The outbox's retry wait and the Telegram sender's poll interval, from the environment down to
the claims service and the bot's configuration."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from cpd.run import bot_config, build_service
from cpd.settings import SettingsError, load_settings
from cpd.storage import outbox, transaction

pytestmark = pytest.mark.usefixtures("clean_cpd_env")  # tests/support/environment.py


def test_defaults_keep_one_second() -> None:
    settings = load_settings(telegram_token="1:x")
    assert (settings.outbox_retry_seconds, settings.outbox_poll_seconds) == (1.0, 1.0)
    assert bot_config(settings).outbox_interval == 1.0


def test_the_retry_wait_reaches_the_service_and_the_poll_the_bot(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("CPD_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("CPD_OUTBOX_RETRY_SECONDS", "0.25")
    monkeypatch.setenv("CPD_OUTBOX_POLL_SECONDS", "0.2")
    assert bot_config(load_settings(telegram_token="1:x")).outbox_interval == 0.2
    service = build_service(load_settings())
    try:
        with transaction(service.engine) as session:
            outbox.enqueue(session, "k1", "email", "jane@example.com", "notice", {})
        (due,) = service.due_notifications("email")
        before = dt.datetime.now(dt.UTC)
        later = service.delivery_failed(due, "relay said 451")
        assert 0.25 <= (later - before).total_seconds() < 0.75  # not the default 1 s
    finally:
        service.engine.dispose()


@pytest.mark.parametrize("name", ["CPD_OUTBOX_RETRY_SECONDS", "CPD_OUTBOX_POLL_SECONDS"])
def test_a_bad_value_is_one_line_naming_the_setting(
    monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    monkeypatch.setenv(name, "0")
    with pytest.raises(SettingsError) as error:
        load_settings()
    assert str(error.value).startswith(f"{name}:") and "\n" not in str(error.value)
