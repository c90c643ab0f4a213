"""The SMTP envelope of a spooled mail: client address, HELO name and MAIL FROM.

SPF needs what the SMTP session saw, but the spool keeps only bytes. The handler therefore
writes one line of its own in front of the mail, ``X-CPD-Envelope: {json}``, and the spool
worker takes exactly that first line off again (:func:`split_envelope`) before anything reads
the mail. Only the first line counts: an ``X-CPD-Envelope`` a sender put among their own
headers is never the first line of a spool file, stays part of the mail and is ignored, and
the mail is verified (DKIM) as it arrived, with nothing stripped from it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

HEADER = b"X-CPD-Envelope:"
MAX_LINE_BYTES = 4096


@dataclass(frozen=True, slots=True)
class Envelope:
    """What the SMTP session said: ``client_ip``, ``helo`` and ``mail_from`` ("" for ``<>``)."""

    client_ip: str | None
    helo: str | None
    mail_from: str | None


def with_envelope(raw: bytes, envelope: Envelope) -> bytes:
    """``raw`` with the product's envelope line in front (for the spool file)."""
    fields = {
        "ip": _cut(envelope.client_ip, 64),
        "helo": _cut(envelope.helo, 255),
        "mail_from": _cut(envelope.mail_from, 512),
    }
    value = json.dumps(fields, ensure_ascii=True, separators=(",", ":")).encode("ascii")
    return HEADER + b" " + value + b"\r\n" + raw


def _cut(value: str | None, limit: int) -> str | None:
    """RFC 5321 limits (a path is at most 256 octets, a domain 255): longer is cut."""
    return None if value is None else value[:limit]


def split_envelope(data: bytes) -> tuple[Envelope | None, bytes]:
    """The envelope from the first line (None when there is none) and the mail after it."""
    if not data.startswith(HEADER):  # written by the product, exactly so
        return None, data
    end = data.find(b"\n", 0, MAX_LINE_BYTES)
    if end < 0:
        return None, data
    line, rest = data[len(HEADER) : end].strip(), data[end + 1 :]
    try:
        values = json.loads(line.decode("ascii"))
    except (UnicodeDecodeError, ValueError):
        return None, rest
    if not isinstance(values, dict):
        return None, rest

    def text(key: str) -> str | None:
        value = values.get(key)
        return value if isinstance(value, str) else None

    return Envelope(text("ip"), text("helo"), text("mail_from")), rest
