"""Settings: the ``CPD_*`` environment variables and an optional ``cpd.toml``, validated once.

Environment variables win over the file. The file may use the variable names
(``CPD_DATA_DIR = "..."``) or the bare lower-case names (``data_dir = "..."``). A bad value is
reported as one line naming the setting, e.g. ``CPD_TIMEZONE: unknown time zone 'Mars/Base'``.
A ``CPD_CONFIG`` naming a file that does not exist is an error; a missing default ``cpd.toml``
is not.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import zoneinfo
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr, ValidationError, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from cpd.claims.retention import RetentionPolicy
from cpd.mail_ingest.pacer import parse_rate
from cpd.mail_ingest.passwords import PasswordFile, PasswordFileError
from cpd.mail_ingest.tls import RELAY_TLS_MODES, TlsFileError, relay_context
from cpd.mail_ingest.tls import server_context as tls_server_context
from cpd.rules import SchemeError, load_scheme
from cpd.settings_sources import (
    CONFIG_FILE_VARIABLE,
    DEFAULT_CONFIG_FILE,
    SettingsError,
    TomlFile,
    check_config_file,
    host_port,
    readable,
    resolver_address,
)

__all__ = ["Settings", "SettingsError", "check_config_file", "load_settings"]


class Settings(BaseSettings):
    """Everything configurable, read once by ``app`` and passed down."""

    model_config = SettingsConfigDict(env_prefix="CPD_", extra="ignore", frozen=True)

    data_dir: Path = Path("./cpd-data")
    database_url: str | None = None
    scheme: str = "iims"
    telegram_token: SecretStr | None = None
    telegram_api_url: str = "https://api.telegram.org/bot"
    telegram_file_url: str = "https://api.telegram.org/file/bot"
    telegram_bot_name: str | None = None
    secretary_chat_id: int | None = None
    smtp_listen: str = "127.0.0.1:8025"
    smtp_recipients: str = ""
    smtp_relay: str | None = None
    mail_from: str = "cpd@localhost"
    imap_url: SecretStr | None = None
    # -- transport security of the mail channel (issue 10, item 7) --------------------------
    smtp_tls_cert: Path | None = None
    """PEM certificate (chain) for STARTTLS on the SMTP listener; needs CPD_SMTP_TLS_KEY."""
    smtp_tls_key: Path | None = Field(default=None, validate_default=True)
    """PEM private key of CPD_SMTP_TLS_CERT."""
    smtp_require_tls: bool = Field(default=False, validate_default=True)
    """Refuse mail before STARTTLS (530); needs the certificate."""
    smtp_auth_users: Path | None = None
    """``user:scrypt$...`` lines: AUTH PLAIN/LOGIN is offered (over TLS) and required."""
    smtp_relay_tls: str = "auto"
    """auto | starttls | tls | none, for the outbound relay."""
    smtp_relay_ca: Path | None = None
    """PEM CA file the outbound relay's certificate is verified against."""
    smtp_relay_user: str | None = None
    smtp_relay_password: SecretStr | None = Field(default=None, validate_default=True)
    imap_since: dt.date | None = None
    """The IMAP poller ignores (and leaves in place) mail received before this day."""
    # -- end of transport security --------------------------------------------------------
    nudge_cron: str = "0 9 * * MON"
    mail_nudge_cron: str = "0 9 1-7 * MON"
    """Mail progress reminders. Read as APScheduler reads a crontab: day-of-month AND weekday
    must both match (classic cron ORs them), so the default is the first Monday, 09:00."""
    web_url: str | None = None
    """The portal's public base URL, named in reminder mails and sign-in links; default
    ``http://`` + CPD_WEB_LISTEN (see ``effective_web_url``). An ``https://`` one gives
    reminder mail a one-click unsubscribe URL (RFC 8058)."""
    web_listen: str = "127.0.0.1:8080"
    """``host:port`` of the web desk and portal inside ``cpd run``; empty disables."""
    timezone: str = "Europe/London"
    invite_days: int = Field(default=14, ge=1, le=365)
    retention_days: int = Field(default=90, ge=7, le=36500)
    draft_retention_days: int = Field(default=30, ge=1, le=36500)
    telegram_retry_max: float = Field(default=60.0, gt=0, le=3600)
    """Longest wait (s) between attempts to start the bot while the Bot API is unreachable;
    a rejected token is retried every 5 x this."""
    smtp_max_sessions: int = Field(default=8, ge=1, le=1000)
    max_attachments: int = Field(default=10, ge=1, le=100)
    mail_max_attempts: int = Field(default=5, ge=1, le=100)
    mail_retry_seconds: float = Field(default=1.0, gt=0, le=3600)
    outbox_retry_seconds: float = Field(default=1.0, gt=0, le=600)
    """First wait before a notification that was not delivered is tried again (doubling, at
    most 10 min; a channel's own ``retry_after`` wins)."""
    outbox_poll_seconds: float = Field(default=1.0, gt=0, le=60)
    """How often the Telegram sender looks for due notifications in the outbox."""
    mail_auth: Literal["verify", "header", "off"] = "verify"
    mail_authserv_id: str | None = Field(default=None, validate_default=True)
    dns_servers: str = ""
    # -- reminder mail delivery (issue 11) ----------------------------------------------------
    mail_rate: str = "10"
    """Outbound mails a second to the relay; ``0`` or ``unlimited`` for no limit."""
    stranger_replies_per_day: int = Field(default=50, ge=0, le=100_000)
    """``CPD_STRANGER_REPLIES_PER_DAY``: replies to unknown (verified) senders a day, for all."""
    mail_claims_per_hour: int = Field(default=20, ge=1, le=100_000)
    """``CPD_MAIL_CLAIMS_PER_HOUR``: a member's claims by mail an hour; beyond, not claims."""
    # -- operations (issue 13) -----------------------------------------------------------------
    metrics_token: SecretStr | None = None
    """``CPD_METRICS_TOKEN``: a bearer token with which ``/metrics`` may be scraped from
    another host (from loopback it needs none)."""
    # -- reading the evidence (issue 15) --------------------------------------------------------
    ocr: bool = True
    """``CPD_OCR``: ``cpd run`` reads photos and scanned PDFs with Tesseract."""
    ocr_page_seconds: float = Field(default=20.0, gt=0, le=600)
    ocr_max_megapixels: float = Field(default=60.0, gt=0, le=1000)
    """Larger images (and decompression bombs) are refused unread; the claim is still filed."""
    # -- several instances on one PostgreSQL (issue 14) -------------------------------------
    telegram_webhook_url: str | None = None
    """``CPD_TELEGRAM_WEBHOOK_URL``: take updates by webhook at this public URL (served at
    ``/telegram`` on the web server) instead of long polling."""
    telegram_webhook_secret: SecretStr | None = Field(default=None, validate_default=True)
    """``CPD_TELEGRAM_WEBHOOK_SECRET``: the ``secret_token`` Telegram echoes back."""
    outbox_lease_seconds: float = Field(default=120.0, ge=1, le=3600)
    """``CPD_OUTBOX_LEASE_SECONDS``: on PostgreSQL, how long an instance holds the outbox rows
    it took before another may deliver them (its death shows after this long)."""
    instance_id: str | None = Field(default=None, max_length=120)
    """``CPD_INSTANCE_ID``: this instance's name in leases and the job ledger (default
    ``host:pid:random``)."""

    @field_validator("telegram_webhook_url")
    @classmethod
    def _webhook_url(cls, value: str | None) -> str | None:
        value = (value or "").strip() or None
        if value is not None and not value.startswith(("https://", "http://")):
            raise ValueError(f"expected an http(s) URL, got {value!r}")
        return value

    @field_validator("telegram_webhook_secret")
    @classmethod
    def _webhook_secret(cls, value: SecretStr | None, info: ValidationInfo) -> SecretStr | None:
        secret = value.get_secret_value() if value is not None else ""
        if info.data.get("telegram_webhook_url") and not secret:
            raise ValueError("required with CPD_TELEGRAM_WEBHOOK_URL")
        if secret and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", secret):
            raise ValueError("1-256 characters of A-Z, a-z, 0-9, _ and - (Telegram's rule)")
        return value if secret else None

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        check_config_file()
        path = Path(os.environ.get(CONFIG_FILE_VARIABLE) or DEFAULT_CONFIG_FILE)
        return (init_settings, env_settings, TomlFile(settings_cls, path))

    @field_validator("scheme")
    @classmethod
    def _known_scheme(cls, value: str) -> str:
        try:
            load_scheme(value)
        except SchemeError as exc:
            raise ValueError(str(exc)) from None
        return value

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            zoneinfo.ZoneInfo(value)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}") from None
        return value

    @field_validator("smtp_listen")
    @classmethod
    def _listen(cls, value: str) -> str:
        return value if value == "" else host_port(value, "the listen address")

    @field_validator("mail_rate")
    @classmethod
    def _mail_rate(cls, value: str) -> str:
        try:
            parse_rate(value)
        except ValueError:
            raise ValueError(
                f"{value!r} is not a number of mails a second (or 0/unlimited)"
            ) from None
        return value.strip()

    @property
    def mail_rate_per_second(self) -> float | None:
        """``CPD_MAIL_RATE`` as a number, None for no limit."""
        return parse_rate(self.mail_rate)

    @field_validator("web_listen")
    @classmethod
    def _web_listen(cls, value: str) -> str:
        return value.strip() if not value.strip() else host_port(value.strip(), "web listen")

    @field_validator("smtp_relay")
    @classmethod
    def _relay(cls, value: str | None) -> str | None:
        return None if not value else host_port(value, "the relay")

    # -- transport security validators (issue 10, item 7) ---------------------------------

    @field_validator(
        "smtp_tls_cert",
        "smtp_tls_key",
        "smtp_auth_users",
        "smtp_relay_ca",
        "smtp_relay_user",
        "smtp_relay_password",
        "imap_since",
        mode="before",
    )
    @classmethod
    def _empty_is_unset(cls, value: Any) -> Any:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("smtp_tls_cert")
    @classmethod
    def _tls_cert(cls, value: Path | None) -> Path | None:
        return readable(value)

    @field_validator("smtp_tls_key")
    @classmethod
    def _tls_key(cls, value: Path | None, info: ValidationInfo) -> Path | None:
        cert = info.data.get("smtp_tls_cert")
        if value is None:
            if cert is not None:
                raise ValueError("CPD_SMTP_TLS_CERT is set: give its key file too")
            return None
        if "smtp_tls_cert" in info.data and cert is None:
            raise ValueError("set CPD_SMTP_TLS_CERT too (both or neither)")
        readable(value)
        if cert is not None:
            try:
                tls_server_context(cert, value)
            except TlsFileError as exc:
                raise ValueError(str(exc)) from None
        return value

    @field_validator("smtp_require_tls")
    @classmethod
    def _require_tls(cls, value: bool, info: ValidationInfo) -> bool:
        if value and info.data.get("smtp_tls_key") is None:
            raise ValueError("needs CPD_SMTP_TLS_CERT and CPD_SMTP_TLS_KEY")
        return value

    @field_validator("smtp_auth_users")
    @classmethod
    def _auth_users(cls, value: Path | None, info: ValidationInfo) -> Path | None:
        if value is None:
            return None
        if info.data.get("smtp_tls_key") is None:
            raise ValueError(
                "needs CPD_SMTP_TLS_CERT and CPD_SMTP_TLS_KEY (AUTH is only offered over TLS)"
            )
        try:
            PasswordFile.load(value)
        except PasswordFileError as exc:
            raise ValueError(str(exc)) from None
        return value

    @field_validator("smtp_relay_tls")
    @classmethod
    def _relay_tls(cls, value: str) -> str:
        value = value.strip().lower()
        if value not in RELAY_TLS_MODES:
            raise ValueError(f"expected one of {', '.join(RELAY_TLS_MODES)}, got {value!r}")
        return value

    @field_validator("smtp_relay_ca")
    @classmethod
    def _relay_ca(cls, value: Path | None, info: ValidationInfo) -> Path | None:
        if value is None:
            return None
        if info.data.get("smtp_relay_tls") == "none":
            raise ValueError("a CA file needs TLS to the relay, but CPD_SMTP_RELAY_TLS is none")
        try:
            relay_context(value)
        except TlsFileError as exc:
            raise ValueError(str(exc)) from None
        return value

    @field_validator("smtp_relay_password")
    @classmethod
    def _relay_password(cls, value: SecretStr | None, info: ValidationInfo) -> SecretStr | None:
        user = info.data.get("smtp_relay_user")
        if (value is None or not value.get_secret_value()) != (not user):
            raise ValueError("set both CPD_SMTP_RELAY_USER and CPD_SMTP_RELAY_PASSWORD, or neither")
        if user and info.data.get("smtp_relay_tls") == "none":
            raise ValueError("will not send the relay password in the clear (CPD_SMTP_RELAY_TLS)")
        return value if user else None

    # -- end of transport security validators ---------------------------------------------

    @field_validator("nudge_cron", "mail_nudge_cron")
    @classmethod
    def _cron(cls, value: str) -> str:
        if len(value.split()) != 5:
            raise ValueError(f"expected 5 cron fields (minute hour day month weekday): {value!r}")
        from apscheduler.triggers.cron import CronTrigger

        try:
            CronTrigger.from_crontab(value)
        except ValueError as exc:
            raise ValueError(f"{value!r}: {exc}") from None
        return value

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, value: str | None) -> str | None:
        if value and not value.startswith(("sqlite", "postgresql")):
            raise ValueError("only sqlite:// and postgresql+psycopg:// URLs are supported")
        return value or None

    @field_validator("mail_authserv_id")
    @classmethod
    def _authserv_id(cls, value: str | None, info: ValidationInfo) -> str | None:
        value = (value or "").strip() or None
        if value is not None and (any(ch.isspace() or ch in ";()" for ch in value)):
            raise ValueError(f"an authserv-id is one token without spaces or ';', got {value!r}")
        if value is None and info.data.get("mail_auth") == "header":
            raise ValueError("required when CPD_MAIL_AUTH is header")
        return value

    @field_validator("dns_servers")
    @classmethod
    def _dns_servers(cls, value: str) -> str:
        items = [item.strip() for item in value.split(",") if item.strip()]
        for item in items:
            resolver_address(item)
        return ",".join(items)

    @property
    def dns_server_addresses(self) -> tuple[tuple[str, int], ...] | None:
        """``CPD_DNS_SERVERS`` as ``(ip, port)`` pairs; None means the system's resolvers."""
        items = [item for item in self.dns_servers.split(",") if item]
        return tuple(resolver_address(item) for item in items) or None

    @property
    def effective_database_url(self) -> str:
        """The database URL: the configured one, else SQLite under the data directory."""
        return self.database_url or f"sqlite:///{(self.data_dir / 'cpd.sqlite3').resolve()}"

    @property
    def effective_web_url(self) -> str | None:
        """Where the web desk is reached: CPD_WEB_URL, else ``http://`` + CPD_WEB_LISTEN
        (None when neither is set)."""
        if self.web_url:
            return self.web_url.rstrip("/")
        return f"http://{self.web_listen}" if self.web_listen else None

    @property
    def claims_address(self) -> str:
        """Where members mail claims: the first CPD_SMTP_RECIPIENTS address, else
        CPD_MAIL_FROM."""
        first = next((r.strip() for r in self.smtp_recipients.split(",") if r.strip()), "")
        return first or self.mail_from

    @property
    def evidence_dir(self) -> Path:
        """Where evidence files are stored (named by their sha256)."""
        return self.data_dir / "evidence"

    @property
    def retention(self) -> RetentionPolicy:
        """How long processed keys, delivered outbox rows and drafts are kept."""
        return RetentionPolicy(days=self.retention_days, draft_days=self.draft_retention_days)

    @property
    def zone(self) -> zoneinfo.ZoneInfo:
        """The body's time zone."""
        return zoneinfo.ZoneInfo(self.timezone)


def load_settings(**overrides: Any) -> Settings:
    """Build and validate the settings once; SettingsError (one line) on a bad value."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = str(first["loc"][0]) if first["loc"] else "settings"
        message = first["msg"].removeprefix("Value error, ")
        raise SettingsError(f"CPD_{field.upper()}: {message}") from None
