"""Delivery status notifications (RFC 3464) and the addresses a mail was sent to.

A DSN is a ``multipart/report; report-type=delivery-status`` whose ``message/delivery-status``
part holds one block of fields per recipient (``Final-Recipient``, ``Action``, ``Status``).
:func:`delivery_reports` reads those blocks with the standard library; the claims service
decides what they mean (``Action: failed`` with ``Status: 5.x.x`` is a hard bounce).
"""

from __future__ import annotations

import re
from email.message import Message
from email.utils import getaddresses

MAX_REPORTS = 20
MAX_RECIPIENTS = 20
RECIPIENT_HEADERS = ("Delivered-To", "X-Original-To", "Envelope-To", "To", "Cc")
"""Where a mail says whom it was for (the first ones are added by the receiving system)."""
_STATUS = re.compile(r"[245]\.\d{1,3}\.\d{1,3}")


def _field(block: Message, name: str) -> str:
    try:
        value = block.get(name)
    except Exception:
        return ""
    return " ".join(str(value or "").split())[:320]


def _blocks(part: Message) -> list[Message]:
    """The field blocks of a ``message/delivery-status`` part (the stdlib parses each as a
    header-only message)."""
    payload = part.get_payload()
    if isinstance(payload, list):
        return [block for block in payload if isinstance(block, Message)]
    return []


def delivery_reports(message: Message) -> list[dict[str, str]]:
    """One ``{"recipient", "action", "status"}`` per recipient block of a DSN; [] otherwise.

    ``status`` is the bare ``d.d.d`` code ("" when missing or malformed); ``action`` is
    lower-case."""
    if message.get_content_type() != "multipart/report":
        return []
    reports: list[dict[str, str]] = []
    for part in message.walk():
        if part.get_content_type() != "message/delivery-status":
            continue
        for block in _blocks(part)[1:]:  # the first block is about the message as a whole
            action = _field(block, "Action").lower()
            if not action:
                continue
            status = _STATUS.search(_field(block, "Status"))
            recipient = _field(block, "Final-Recipient") or _field(block, "Original-Recipient")
            reports.append(
                {
                    "recipient": recipient.partition(";")[2].strip().lower() or recipient,
                    "action": action,
                    "status": status.group(0) if status else "",
                }
            )
            if len(reports) >= MAX_REPORTS:
                return reports
    return reports


def recipients(message: Message) -> list[str]:
    """The addresses (lower-case) the mail's headers say it was delivered to."""
    found: list[str] = []
    for name in RECIPIENT_HEADERS:
        try:
            values = [str(v) for v in message.get_all(name) or []]
        except Exception:
            continue
        for _, address in getaddresses(values):
            address = address.strip().lower()
            if "@" in address and address not in found:
                found.append(address)
            if len(found) >= MAX_RECIPIENTS:
                return found
    return found
