"""The IMAP account claims are fetched from, parsed from ``CPD_IMAP_URL`` (its password kept
out of every ``repr``, ``str`` and error message)."""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import parse_qs, unquote, urlsplit


class ImapUrlError(ValueError):
    """``CPD_IMAP_URL`` is not ``imap[s]://user:pass@host[:port]/FOLDER``."""


@dataclass(frozen=True)
class ImapAccount:
    """Where to fetch claim mail from. The password is kept out of ``repr`` and ``str``."""

    host: str
    username: str
    password: str = field(repr=False)
    port: int = 143
    ssl: bool = False
    folder: str = "INBOX"
    processed_folder: str = "Processed"

    def __str__(self) -> str:
        scheme = "imaps" if self.ssl else "imap"
        return f"{scheme}://{self.username}@{self.host}:{self.port}/{self.folder}"


def parse_imap_url(url: str) -> ImapAccount:
    """``imap://user:pass@host:port/FOLDER`` (or ``imaps://``) as an account.

    User and password may be percent-encoded (``claims%40example.org``); the folder defaults
    to INBOX, the port to 143 (993 for imaps). ``?processed=NAME`` names the folder handled
    mail is moved to (default ``Processed``). Error messages never contain the password.
    """
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        raise ImapUrlError("expected imap://user:pass@host:port/FOLDER") from None
    if parts.scheme not in ("imap", "imaps"):
        raise ImapUrlError(f"the scheme must be imap or imaps, not {parts.scheme or 'empty'!r}")
    if not parts.hostname:
        raise ImapUrlError("the URL has no host")
    if not parts.username or parts.password is None:
        raise ImapUrlError("the URL needs a user and a password: imap://user:pass@host/")
    secure = parts.scheme == "imaps"
    folder = unquote(parts.path.lstrip("/")) or "INBOX"
    query = parse_qs(parts.query)
    processed = query.get("processed", ["Processed"])[0] or "Processed"
    if processed == folder:
        raise ImapUrlError("the processed folder must differ from the folder polled")
    return ImapAccount(
        host=parts.hostname,
        username=unquote(parts.username),
        password=unquote(parts.password),
        port=port or (993 if secure else 143),
        ssl=secure,
        folder=folder,
        processed_folder=processed,
    )
