"""The web channel's wiring for ``cpd run`` and ``cpd web``: its config from the settings,
the cookie-signing key kept in the database, and ``cpd web link``."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from cpd.claims.web_access import create_link
from cpd.cli_common import open_engine, settings
from cpd.settings import Settings, SettingsError

SECRET_FILE = "web-secret"

if TYPE_CHECKING:
    from cpd.claims.service import ClaimsService
    from cpd.web.config import WebConfig
    from cpd.web.server import WebServer

web_app = typer.Typer(help="The web desk and portal.", no_args_is_help=True)


def legacy_secret(data_dir: Path) -> str | None:
    """The cookie key an older version kept in CPD_DATA_DIR/web-secret, if that file is
    there (it is adopted into the database once, then removed)."""
    try:
        return (data_dir / SECRET_FILE).read_text(encoding="ascii").strip() or None
    except (FileNotFoundError, UnicodeDecodeError):
        return None


def secret_key(service: ClaimsService, data_dir: Path) -> str:
    """The key session cookies are signed with, kept in the database (``app_secret``), so
    that several instances on one PostgreSQL accept each other's cookies. A key left in the
    data directory by an older version is adopted (sessions survive the upgrade) and its file
    removed."""
    legacy = legacy_secret(data_dir)
    key = service.web_session_key(legacy)
    if legacy is not None:
        with contextlib.suppress(OSError):
            (data_dir / SECRET_FILE).unlink()
    return key


def web_url(settings: Settings) -> str:
    """The public base URL of the web desk, for the startup line."""
    return settings.effective_web_url or ""


def web_config(settings: Settings, service: ClaimsService) -> WebConfig | None:
    """The web channel's part of the settings (None when CPD_WEB_LISTEN is empty)."""
    from cpd.web.config import WebConfig

    if not settings.web_listen:
        return None
    host, _, port = settings.web_listen.rpartition(":")
    return WebConfig(
        host=host.strip("[]"),
        port=int(port),
        base_url=settings.effective_web_url or f"http://{settings.web_listen}",
        secret_key=secret_key(service, settings.data_dir),
        metrics_token=(
            settings.metrics_token.get_secret_value() if settings.metrics_token else None
        ),
        telegram_webhook_secret=(
            settings.telegram_webhook_secret.get_secret_value()
            if settings.telegram_webhook_url and settings.telegram_webhook_secret
            else None
        ),
    )


async def start_web(settings: Settings, service: ClaimsService) -> WebServer | None:
    """Start the web server on the running loop (None when disabled; SettingsError when the
    address cannot be used). FastAPI and the pages are imported only when it is enabled."""
    config = web_config(settings, service)
    if config is None:
        return None
    from cpd.web.app import create_app
    from cpd.web.server import start_web as serve_web

    try:
        return await serve_web(create_app(service, config), config.host, config.port)
    except OSError as exc:
        raise SettingsError(
            f"CPD_WEB_LISTEN: cannot listen on {settings.web_listen}: {exc.strerror or exc}"
        ) from None


@web_app.command("link")
def link(
    membership_no: Annotated[str, typer.Argument(help="the member's or secretary's number")],
) -> None:
    """Print a single-use sign-in URL for the member, valid 15 minutes."""
    current = settings()
    base = current.effective_web_url
    if base is None:
        raise SettingsError("CPD_WEB_URL: not set, and CPD_WEB_LISTEN is empty")
    token, expires = create_link(open_engine(current), membership_no)
    typer.echo(f"{base}/signin/{token}")
    typer.echo(f"valid until {expires:%Y-%m-%d %H:%M} UTC, once", err=True)
