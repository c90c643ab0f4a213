"""The web channel's part of the settings, built by ``cpd`` and passed in."""

from __future__ import annotations

from dataclasses import dataclass

MAX_UPLOAD_BYTES = 25 * 1024 * 1024
MAX_UPLOAD_FILES = 10
SESSION_COOKIE = "cpd_session"
SESSION_SECONDS = 12 * 3600


@dataclass(frozen=True, slots=True)
class WebConfig:
    """Where the web server listens, its public URL and the key its cookies are signed with."""

    host: str
    port: int
    base_url: str
    secret_key: str
    body_name: str = "CPD Claims Assistant"
    max_upload_bytes: int = MAX_UPLOAD_BYTES
    max_upload_files: int = MAX_UPLOAD_FILES
    metrics_token: str | None = None
    """A bearer token that lets a scraper outside this host read ``/metrics`` (loopback
    always may)."""
    signin_per_address: int = 3
    """Mailed sign-in links an hour for one address."""
    signin_per_client: int = 20
    """Mailed sign-in links an hour asked for from one client address."""
    telegram_webhook_secret: str | None = None  # set: POST /telegram takes Telegram's updates

    @property
    def secure_cookies(self) -> bool:
        """Cookies carry ``Secure`` when the public URL is https."""
        return self.base_url.lower().startswith("https://")

    def signin_url(self, token: str) -> str:
        """The sign-in link for a token."""
        return f"{self.base_url.rstrip('/')}/signin/{token}"
