"""Composing one outbound mail from its notification: plain UTF-8 text threaded under the
member's mail (:mod:`cpd.mail_ingest.replies`), or a reminder rendered by
:mod:`cpd.mail_ingest.reminder_mail`, to the address the notification's role resolved to.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid, parseaddr

from cpd.claims.mail_tokens import MailTokens
from cpd.claims.notifications import Notification
from cpd.claims.threads import is_local
from cpd.mail_ingest import reminder_mail
from cpd.mail_ingest.replies import reply_headers


def one_line(text: object, limit: int = 300) -> str:
    """``text`` on one line, cut to ``limit`` characters (for headers and logs)."""
    return " ".join(str(text).split())[:limit]


@functools.lru_cache(maxsize=64)
def address_of(value: str) -> str:
    """The bare address of ``value`` ("CPD <cpd@x.org>" -> "cpd@x.org")."""
    return parseaddr(value)[1]


@functools.lru_cache(maxsize=64)
def _domain(mail_from: str) -> str:
    domain = address_of(mail_from).rpartition("@")[2]
    return domain or "localhost"


def _message_id(notification: Notification, mail_from: str) -> str:
    """The Message-ID the claims service minted for this mail (so a reply can be matched to
    its claim), else a fresh one."""
    local = str(notification.payload.get("message_id_local") or "")
    if is_local(local):
        return f"<{local}@{_domain(mail_from)}>"
    return make_msgid(idstring=f"cpd.{notification.id}", domain=_domain(mail_from))


_NOT_IN_AN_ADDRESS = re.compile(r"[\s<>,]")
"""White space (``str.isspace``'s, as ``\\s`` matches in a str pattern), angle brackets, commas."""


def _recipient(notification: Notification, to: str | None = None) -> str:
    """The recipient's address (``to``, what its role resolved to, else the recipient as
    written); ValueError when it is not one (it can never be delivered)."""
    recipient = (notification.recipient if to is None else to).strip()
    local, at, domain = recipient.rpartition("@")
    if not (local and at and domain) or _NOT_IN_AN_ADDRESS.search(recipient):
        raise ValueError(f"not a mail address: {one_line(recipient, 80)!r}")
    return recipient


def compose(notification: Notification, mail_from: str, to: str | None = None) -> EmailMessage:
    """The mail for one notification to ``to`` (the address its recipient's role resolved
    to; default: the recipient as written): plain UTF-8 text, threaded under the member's mail.

    Raises ValueError when the recipient is not an address (such a notification can never be
    delivered).
    """
    recipient = _recipient(notification, to)
    payload = notification.payload
    message = EmailMessage()
    message["From"] = mail_from
    message["To"] = recipient
    headers = reply_headers(payload)
    message["Subject"] = one_line(headers.subject, 900)
    message["Date"] = format_datetime(dt.datetime.now(dt.UTC))
    message["Message-ID"] = _message_id(notification, mail_from)
    in_reply_to = one_line(headers.in_reply_to or "", 900)
    references = one_line(headers.references or "", 900) or in_reply_to
    if in_reply_to:
        message["In-Reply-To"] = in_reply_to
    if references:
        message["References"] = references
    replied = bool(in_reply_to or payload.get("auto_replied"))  # every reply says so (RFC 3834)
    message["Auto-Submitted"] = "auto-replied" if replied else "auto-generated"
    message.set_content(str(payload.get("text") or ""), charset="utf-8")
    return message


def compose_for_relay(
    notification: Notification,
    mail_from: str,
    tokens: MailTokens | None = None,
    web_url: str | None = None,
    to: str | None = None,
) -> tuple[EmailMessage | bytes, str]:
    """The mail for one notification and the envelope sender it goes out with: a reminder
    (with ``tokens``) is rendered with its unsubscribe headers, HTML part and VERP return
    path as the bytes for the relay (:mod:`cpd.mail_ingest.reminder_mail`); anything else is
    :func:`compose`'s message, sent from the ``CPD_MAIL_FROM`` address."""
    address = address_of(mail_from) or mail_from
    if tokens is None or not reminder_mail.is_reminder(notification.payload):
        return compose(notification, mail_from, to), address
    recipient = _recipient(notification, to)
    if not recipient.isascii():
        raise ValueError(f"not an ASCII mail address: {one_line(recipient, 80)!r}")
    return reminder_mail.render(
        notification.payload,
        notification.id,
        recipient,
        tokens,
        address,
        _domain(mail_from),
        web_url,
    )
