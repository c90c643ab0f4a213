"""The mail channel's resource and quarantine settings, from the environment to MailConfig."""

from __future__ import annotations

from pathlib import Path

import pytest

from cpd.app.run import mail_config
from cpd.app.settings import SettingsError, load_settings


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import os

    for key in list(os.environ):
        if key.startswith("CPD_"):
            monkeypatch.delenv(key)
    monkeypatch.chdir(tmp_path)


def test_defaults() -> None:
    config = mail_config(load_settings())
    assert (config.max_sessions, config.max_attachments) == (8, 10)
    assert (config.max_attempts, config.retry_initial) == (5, 1.0)
    assert config.spool_dir == Path("cpd-data") / "spool" / "smtp"


def test_values_reach_the_mail_channel(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CPD_SMTP_MAX_SESSIONS", "3")
    monkeypatch.setenv("CPD_MAX_ATTACHMENTS", "4")
    monkeypatch.setenv("CPD_MAIL_MAX_ATTEMPTS", "2")
    monkeypatch.setenv("CPD_MAIL_RETRY_SECONDS", "0.5")
    config = mail_config(load_settings())
    assert (config.max_sessions, config.max_attachments) == (3, 4)
    assert (config.max_attempts, config.retry_initial) == (2, 0.5)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("CPD_SMTP_MAX_SESSIONS", "0"),
        ("CPD_MAX_ATTACHMENTS", "many"),
        ("CPD_MAIL_MAX_ATTEMPTS", "-1"),
        ("CPD_MAIL_RETRY_SECONDS", "0"),
    ],
)
def test_a_bad_value_is_one_line_naming_the_setting(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError) as error:
        load_settings()
    assert str(error.value).startswith(f"{name}:") and "\n" not in str(error.value)
