"""The web channel's wiring for ``cpd run`` and ``cpd web``: its config from the settings,
the cookie-signing key kept in the data directory, and ``cpd web link``."""

from __future__ import annotations

import os
import secrets
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


def secret_key(data_dir: Path) -> str:
    """The key session cookies are signed with: made once, kept in the data directory with
    mode 0600 (every instance sharing the directory signs alike)."""
    path = data_dir / SECRET_FILE
    try:
        return path.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        pass
    data_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another instance made it first
        return path.read_text(encoding="ascii").strip()
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(key + "\n")
    return key


def web_url(settings: Settings) -> str:
    """The public base URL of the web desk, for the startup line."""
    return settings.effective_web_url or ""


def web_config(settings: Settings) -> WebConfig | None:
    """The web channel's part of the settings (None when CPD_WEB_LISTEN is empty)."""
    from cpd.web.config import WebConfig

    if not settings.web_listen:
        return None
    host, _, port = settings.web_listen.rpartition(":")
    return WebConfig(
        host=host.strip("[]"),
        port=int(port),
        base_url=settings.effective_web_url or f"http://{settings.web_listen}",
        secret_key=secret_key(settings.data_dir),
    )


async def start_web(settings: Settings, service: ClaimsService) -> WebServer | None:
    """Start the web server on the running loop (None when disabled; SettingsError when the
    address cannot be used). FastAPI and the pages are imported only when it is enabled."""
    config = web_config(settings)
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
