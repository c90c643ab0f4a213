"""What makes a reminder mail a reminder: the HTML alternative, the body's name as sender
name, ``List-Unsubscribe`` (RFC 2369, RFC 8058), ``Auto-Submitted`` (RFC 3834) and the
per-member return path (VERP) its bounces come back to.

``List-Unsubscribe`` always carries ``<mailto:unsubscribe+<token>@<domain>>`` (the product
reads that mailbox) and, when ``CPD_WEB_URL`` is set, ``<CPD_WEB_URL/unsubscribe/<token>>``
after it. ``List-Unsubscribe-Post: List-Unsubscribe=One-Click`` is written only then: RFC 8058
section 3.1 requires the ``List-Unsubscribe`` field to contain one HTTPS URI for a one-click
POST, so a mail with only the mailto must not claim one-click. The envelope sender is
``bounces+<token>@<domain>``. Tokens are ``cpd.claims.mail_tokens``.
"""

from __future__ import annotations

import secrets
from email.headerregistry import Address
from email.message import EmailMessage
from typing import Any

from cpd.claims.mail_control import reminder_message_id
from cpd.claims.mail_tokens import BOUNCES, UNSUBSCRIBE, MailTokens

KIND = "reminder"
ONE_CLICK = "List-Unsubscribe=One-Click"


def is_reminder(payload: dict[str, Any]) -> bool:
    """Whether an outbox payload is a reminder (``kind: "reminder"`` with a ``member_id``)."""
    return payload.get("kind") == KIND and _member_id(payload) is not None


def _member_id(payload: dict[str, Any]) -> int | None:
    value = payload.get("member_id")
    if isinstance(value, bool):
        return None
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def unsubscribe_url(web_url: str, token: str) -> str | None:
    """The one-click URL, only for an ``https://`` web URL (RFC 8058 requires HTTPS)."""
    base = web_url.strip().rstrip("/")
    if not base.lower().startswith("https://"):
        return None
    return f"{base}/unsubscribe/{token}"


def sender_header(display_name: str, mail_from_address: str) -> str:
    """``"<name>" <address>``, quoted and encoded by the stdlib (a bare address without name)."""
    name = " ".join(str(display_name or "").split())[:200]
    if not name:
        return mail_from_address
    local, _, domain = mail_from_address.rpartition("@")
    return str(Address(display_name=name, username=local, domain=domain))


def decorate(
    message: EmailMessage,
    payload: dict[str, Any],
    notification_id: int,
    tokens: MailTokens,
    mail_from_address: str,
    domain: str,
    web_url: str | None,
) -> str:
    """Make ``message`` (already addressed, with its text) a reminder; the envelope sender
    (VERP return path) it must go out with."""
    member_id = _member_id(payload)
    assert member_id is not None
    del message["From"]
    message["From"] = sender_header(str(payload.get("sender_name") or ""), mail_from_address)
    del message["Message-ID"]
    message["Message-ID"] = reminder_message_id(notification_id, secrets.token_hex(8), domain)
    del message["Auto-Submitted"]
    message["Auto-Submitted"] = "auto-generated"
    token = tokens.make(UNSUBSCRIBE, member_id)
    uris = [f"<mailto:{UNSUBSCRIBE}+{token}@{domain}>"]
    url = unsubscribe_url(web_url, token) if web_url else None
    if url is not None:
        uris.append(f"<{url}>")
    message["List-Unsubscribe"] = ", ".join(uris)
    if url is not None:
        message["List-Unsubscribe-Post"] = ONE_CLICK
    html = payload.get("html")
    if html:
        message.add_alternative(str(html), subtype="html", charset="utf-8")
    return tokens.address(BOUNCES, member_id, domain)
