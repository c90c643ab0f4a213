"""The mail channel's resource and quarantine settings, from the environment to MailConfig."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from cpd.run import mail_config
from cpd.settings import SettingsError, load_settings

pytestmark = pytest.mark.usefixtures("clean_cpd_env")  # tests/support/environment.py


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


# -- transport security (issue 10, item 7) ----------------------------------------------------


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> Any:
    from tests.mail_ingest.tls_certs import make_ca_and_cert

    return make_ca_and_cert(tmp_path_factory.mktemp("tls"))


def _users(tmp_path: Path) -> Path:
    from cpd.mail_ingest.passwords import hash_password

    path = tmp_path / "users"
    path.write_text(f"mx:{hash_password('pw', n=2**10)}\n")
    return path


def test_transport_security_reaches_the_mail_channel(
    monkeypatch: pytest.MonkeyPatch, tls: Any, tmp_path: Path
) -> None:
    import datetime as dt

    from cpd.run import startup_lines

    monkeypatch.setenv("CPD_SMTP_TLS_CERT", str(tls.cert))
    monkeypatch.setenv("CPD_SMTP_TLS_KEY", str(tls.key))
    monkeypatch.setenv("CPD_SMTP_REQUIRE_TLS", "true")
    monkeypatch.setenv("CPD_SMTP_AUTH_USERS", str(_users(tmp_path)))
    monkeypatch.setenv("CPD_SMTP_RELAY", "127.0.0.1:2525")
    monkeypatch.setenv("CPD_SMTP_RELAY_CA", str(tls.ca))
    monkeypatch.setenv("CPD_SMTP_RELAY_USER", "cpd")
    monkeypatch.setenv("CPD_SMTP_RELAY_PASSWORD", "relay-secret")
    monkeypatch.setenv("CPD_IMAP_SINCE", "2026-06-01")
    monkeypatch.setenv("CPD_IMAP_URL", "imap://u:p@127.0.0.1:1143/INBOX")
    settings = load_settings()
    config = mail_config(settings)
    assert (config.tls_cert, config.tls_key, config.require_tls) == (tls.cert, tls.key, True)
    assert config.auth_users == tmp_path / "users"
    assert (config.relay_ca, config.effective_relay_tls) == (tls.ca, "starttls")
    assert (config.relay_user, config.relay_password) == ("cpd", "relay-secret")
    assert "relay-secret" not in repr(config)
    assert config.imap_since == dt.datetime(2026, 6, 1, tzinfo=settings.zone)
    assert config.imap_since.utcoffset() == dt.timedelta(hours=1)  # BST
    lines = "\n".join(startup_lines(settings, config))
    assert "STARTTLS required; AUTH required" in lines
    assert f"STARTTLS required, verified against {tls.ca}; login as cpd" in lines
    assert "mail before 2026-06-01T00:00:00+01:00 left alone" in lines
    from cpd.redact import secrets_of

    assert "relay-secret" in secrets_of(settings)


def test_without_transport_settings_nothing_changes() -> None:
    config = mail_config(load_settings())
    assert not config.tls_enabled and config.auth_users is None
    assert config.effective_relay_tls == "auto" and config.imap_since is None


@pytest.mark.parametrize(
    ("variables", "name", "words"),
    [
        ({"CPD_SMTP_TLS_CERT": "{tmp}/missing.pem"}, "CPD_SMTP_TLS_CERT", "No such file"),
        ({"CPD_SMTP_TLS_CERT": "{tmp}"}, "CPD_SMTP_TLS_CERT", "is a directory"),
        ({"CPD_SMTP_TLS_CERT": "{cert}"}, "CPD_SMTP_TLS_KEY", "give its key file"),
        ({"CPD_SMTP_TLS_KEY": "{key}"}, "CPD_SMTP_TLS_KEY", "both or neither"),
        (
            {"CPD_SMTP_TLS_CERT": "{cert}", "CPD_SMTP_TLS_KEY": "{other_key}"},
            "CPD_SMTP_TLS_KEY",
            "not the key of the certificate",
        ),
        (
            {"CPD_SMTP_TLS_CERT": "{cert}", "CPD_SMTP_TLS_KEY": "{tmp}/nokey"},
            "CPD_SMTP_TLS_KEY",
            "No such file",
        ),
        ({"CPD_SMTP_REQUIRE_TLS": "true"}, "CPD_SMTP_REQUIRE_TLS", "needs CPD_SMTP_TLS_CERT"),
        ({"CPD_SMTP_AUTH_USERS": "{users}"}, "CPD_SMTP_AUTH_USERS", "only offered over TLS"),
        (
            {
                "CPD_SMTP_TLS_CERT": "{cert}",
                "CPD_SMTP_TLS_KEY": "{key}",
                "CPD_SMTP_AUTH_USERS": "{cert}",
            },
            "CPD_SMTP_AUTH_USERS",
            "line 1",
        ),
        ({"CPD_SMTP_RELAY_TLS": "maybe"}, "CPD_SMTP_RELAY_TLS", "auto, starttls, tls, none"),
        ({"CPD_SMTP_RELAY_CA": "{key}"}, "CPD_SMTP_RELAY_CA", "not a PEM CA"),
        (
            {"CPD_SMTP_RELAY_TLS": "none", "CPD_SMTP_RELAY_CA": "{ca}"},
            "CPD_SMTP_RELAY_CA",
            "CPD_SMTP_RELAY_TLS is none",
        ),
        ({"CPD_SMTP_RELAY_USER": "cpd"}, "CPD_SMTP_RELAY_PASSWORD", "or neither"),
        ({"CPD_SMTP_RELAY_PASSWORD": "pw"}, "CPD_SMTP_RELAY_PASSWORD", "or neither"),
        (
            {
                "CPD_SMTP_RELAY_TLS": "none",
                "CPD_SMTP_RELAY_USER": "c",
                "CPD_SMTP_RELAY_PASSWORD": "pw",
            },
            "CPD_SMTP_RELAY_PASSWORD",
            "in the clear",
        ),
        ({"CPD_IMAP_SINCE": "01/06/2026"}, "CPD_IMAP_SINCE", "date"),
    ],
)
def test_a_bad_transport_setting_is_one_line_naming_it(
    monkeypatch: pytest.MonkeyPatch,
    tls: Any,
    tmp_path: Path,
    variables: dict[str, str],
    name: str,
    words: str,
) -> None:
    files = {
        "tmp": str(tmp_path),
        "cert": str(tls.cert),
        "key": str(tls.key),
        "other_key": str(tls.other_key),
        "ca": str(tls.ca),
        "users": str(_users(tmp_path)),
    }
    for key, value in variables.items():
        monkeypatch.setenv(key, value.format(**files))
    with pytest.raises(SettingsError) as error:
        load_settings()
    message = str(error.value)
    assert message.startswith(f"{name}:") and "\n" not in message
    assert words in message
    assert "pw" not in message.split(":", 1)[1] or name != "CPD_SMTP_RELAY_PASSWORD"


def test_empty_values_mean_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("CPD_SMTP_TLS_CERT", "CPD_SMTP_TLS_KEY", "CPD_SMTP_AUTH_USERS", "CPD_IMAP_SINCE"):
        monkeypatch.setenv(name, "")
    config = mail_config(load_settings())
    assert not config.tls_enabled and config.imap_since is None


def test_hash_password_prints_a_line_for_the_users_file(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from cpd.cli import app
    from cpd.mail_ingest.passwords import PasswordFile

    result = CliRunner().invoke(app, ["smtp", "hash-password", "mx"], input="s3cret pw\n")
    assert result.exit_code == 0, result.output
    line = result.stdout.strip()
    assert line.startswith("mx:scrypt$") and "s3cret" not in line
    (tmp_path / "users").write_text(line + "\n")
    users = PasswordFile.load(tmp_path / "users")
    assert users("mx", "s3cret pw") and not users("mx", "s3cret")
    bad = CliRunner().invoke(app, ["smtp", "hash-password", "a:b"], input="pw\n")
    assert bad.exit_code == 2
