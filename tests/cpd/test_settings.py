"""Settings: environment, cpd.toml, defaults, and one-line errors naming the setting."""

from __future__ import annotations

from pathlib import Path

import pytest

from cpd.settings import SettingsError, load_settings

pytestmark = pytest.mark.usefixtures("clean_cpd_env")  # tests/support/environment.py


def test_defaults_follow_the_contract() -> None:
    settings = load_settings()
    assert settings.data_dir == Path("cpd-data")
    assert settings.effective_database_url.startswith("sqlite:///")
    assert settings.effective_database_url.endswith("cpd-data/cpd.sqlite3")
    assert (settings.scheme, settings.smtp_listen, settings.mail_from) == (
        "iims",
        "127.0.0.1:8025",
        "cpd@localhost",
    )
    assert (settings.nudge_cron, settings.timezone) == ("0 9 * * MON", "Europe/London")
    assert settings.telegram_token is None and settings.smtp_relay is None


def test_file_in_either_key_style_and_environment_wins(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / "cpd.toml").write_text(
        'CPD_SCHEME = "imi"\ntimezone = "Europe/Paris"\ntelegram_token = "123:abc"\n'
    )
    monkeypatch.setenv("CPD_TIMEZONE", "Europe/Dublin")
    settings = load_settings()
    assert settings.scheme == "imi" and settings.timezone == "Europe/Dublin"
    assert settings.telegram_token is not None
    assert "123:abc" not in repr(settings) and "123:abc" not in str(settings)


@pytest.mark.parametrize(
    ("variable", "value", "words"),
    [
        ("CPD_TIMEZONE", "Mars/Base", "unknown time zone"),
        ("CPD_SCHEME", "xyz", "unknown scheme"),
        ("CPD_SMTP_LISTEN", "localhost", "host:port"),
        ("CPD_SMTP_RELAY", "relay:99999", "host:port"),
        ("CPD_NUDGE_CRON", "every monday", "cron"),
        ("CPD_SECRETARY_CHAT_ID", "the secretary", "integer"),
        ("CPD_DATABASE_URL", "mysql://x", "sqlite"),
    ],
)
def test_a_bad_value_is_one_line_naming_the_setting(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, words: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(SettingsError) as raised:
        load_settings()
    message = str(raised.value)
    assert message.startswith(variable + ":") and "\n" not in message
    assert words in message


def test_unknown_key_in_the_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "cpd.toml").write_text('data_dri = "x"\n')
    with pytest.raises(SettingsError, match="unknown setting 'data_dri'"):
        load_settings()


def test_a_config_file_named_by_cpd_config_must_exist(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("CPD_CONFIG", str(tmp_path / "missing.toml"))
    with pytest.raises(SettingsError, match=r"^CPD_CONFIG: '.*missing\.toml': no such file$"):
        load_settings()
    monkeypatch.setenv("CPD_CONFIG", str(tmp_path))
    with pytest.raises(SettingsError, match=r"^CPD_CONFIG: .*: is a directory$"):
        load_settings()
    (tmp_path / "elsewhere.toml").write_text('scheme = "imi"\nretention_days = 120\n')
    monkeypatch.setenv("CPD_CONFIG", str(tmp_path / "elsewhere.toml"))
    settings = load_settings()
    assert (settings.scheme, settings.retention.days) == ("imi", 120)


def test_a_missing_default_cpd_toml_is_fine() -> None:
    assert not Path("cpd.toml").exists()
    assert load_settings().retention_days == 90


@pytest.mark.parametrize(
    "variable,value", [("CPD_RETENTION_DAYS", "3"), ("CPD_DRAFT_RETENTION_DAYS", "-1")]
)
def test_retention_settings_are_checked(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(SettingsError, match=f"^{variable}: "):
        load_settings()


def test_mail_auth_defaults_to_verify_with_the_system_resolvers() -> None:
    settings = load_settings()
    assert (settings.mail_auth, settings.mail_authserv_id) == ("verify", None)
    assert settings.dns_servers == "" and settings.dns_server_addresses is None


def test_mail_auth_settings_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CPD_MAIL_AUTH", "header")
    monkeypatch.setenv("CPD_MAIL_AUTHSERV_ID", " mx.example.org ")
    monkeypatch.setenv("CPD_DNS_SERVERS", "127.0.0.1:5353, [::1]:53,")
    settings = load_settings()
    assert (settings.mail_auth, settings.mail_authserv_id) == ("header", "mx.example.org")
    assert settings.dns_server_addresses == (("127.0.0.1", 5353), ("::1", 53))


@pytest.mark.parametrize(
    ("environment", "variable", "words"),
    [
        ({"CPD_MAIL_AUTH": "dkim"}, "CPD_MAIL_AUTH", "'verify', 'header' or 'off'"),
        ({"CPD_MAIL_AUTH": "header"}, "CPD_MAIL_AUTHSERV_ID", "required when CPD_MAIL_AUTH"),
        ({"CPD_MAIL_AUTHSERV_ID": "mx.example.org; x"}, "CPD_MAIL_AUTHSERV_ID", "one token"),
        ({"CPD_DNS_SERVERS": "localhost:53"}, "CPD_DNS_SERVERS", "ip:port"),
        ({"CPD_DNS_SERVERS": "127.0.0.1"}, "CPD_DNS_SERVERS", "ip:port"),
        ({"CPD_DNS_SERVERS": "127.0.0.1:53,127.0.0.1:0"}, "CPD_DNS_SERVERS", "127.0.0.1:0"),
        ({"CPD_DNS_SERVERS": "::1:53"}, "CPD_DNS_SERVERS", "[ip]:port"),
    ],
)
def test_bad_mail_auth_settings_are_one_line_naming_the_setting(
    monkeypatch: pytest.MonkeyPatch, environment: dict[str, str], variable: str, words: str
) -> None:
    for key, value in environment.items():
        monkeypatch.setenv(key, value)
    with pytest.raises(SettingsError) as raised:
        load_settings()
    message = str(raised.value)
    assert message.startswith(variable + ":") and "\n" not in message
    assert words in message
