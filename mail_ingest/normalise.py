"""Make what a mail says storable: what got a ``250`` must never fail to be stored.

The standard parser hands over text that no database takes: raw UTF-8 in a header sent
without SMTPUTF8 arrives as surrogate escapes (``'j\\udcc3\\udcb6rg@example.de'``), which
neither SQLite nor PostgreSQL can encode; PostgreSQL refuses NUL in text; lone carriage
returns and other control characters make a mess of replies; and a header can be longer than
any column. Everything here is pure and total: it never raises on any ``str``.
"""

from __future__ import annotations

import re

MAX_ADDRESS_CHARS = 320
"""The longest address a column holds (``member.email``, ``outbox_message.recipient``)."""
MAX_NAME_CHARS = 255
"""The longest file name a column holds (``evidence_file.original_name``)."""

_FOREIGN_SURROGATE = re.compile(r"[\ud800-\udc7f\udd00-\udfff]")
"""Surrogates that are not ``surrogateescape`` bytes (U+DC80..U+DCFF): never valid text."""
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
"""C0 controls (and DEL) other than tab, line feed and carriage return."""


def unescape(text: str) -> str:
    """Surrogate-escaped bytes decoded as UTF-8 (what they almost always are), any byte
    sequence that is not UTF-8 as U+FFFD, and any other surrogate as U+FFFD."""
    text = _FOREIGN_SURROGATE.sub("\ufffd", text)
    if not any("\udc80" <= ch <= "\udcff" for ch in text):
        return text
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def clean_text(text: str, limit: int | None = None) -> str:
    """Storable multi-line text: unescaped, NUL and other controls removed, every CR LF or
    lone CR made a line feed, cut to ``limit`` characters."""
    text = unescape(text).replace("\r\n", "\n").replace("\r", "\n")
    text = _CONTROL.sub("", text)
    return text if limit is None else text[:limit]


def clean_line(text: str, limit: int | None = None) -> str:
    """Storable one-line text (a subject, a file name): like :func:`clean_text`, with every
    run of whitespace (line breaks included) made one space, stripped."""
    line = " ".join(clean_text(text).split())
    return line if limit is None else line[:limit].rstrip()


def clean_address(address: str | None) -> str | None:
    """An address as stored: unescaped (``jörg@example.de``), lower-case, with no control
    characters or spaces; None when nothing usable is left or it is longer than any column."""
    if not address:
        return None
    value = clean_line(address).lower()
    if " " in value or "\ufffd" in value or len(value) > MAX_ADDRESS_CHARS:
        return None
    local, at, domain = value.rpartition("@")
    return value if at and local and domain else None
