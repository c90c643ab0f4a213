"""Outbound mail: receipts and decisions from the outbox, delivered through an SMTP relay.

The sender never reads the database: it asks the claims service for due ``email``
notifications, hands each to the relay with aiosmtplib, and reports back. A notification is
marked delivered only after the relay accepted it; a relay that is down leaves everything queued
(retried with the service's backoff), and a recipient the relay refuses for good (5xx) is given
up.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid, parseaddr

import aiosmtplib

from cpd.claims.notifications import Notification
from cpd.claims.service import ClaimsService

log = logging.getLogger(__name__)

CHANNEL = "email"
MAX_PAUSE = 600.0
"""Longest wait between checks of a relay that is down (seconds)."""
MARK_DELIVERED_TRIES = 3

RELAY_DOWN_ERRORS: tuple[type[BaseException], ...] = (
    aiosmtplib.SMTPConnectError,
    aiosmtplib.SMTPConnectTimeoutError,
    aiosmtplib.SMTPServerDisconnected,
    aiosmtplib.SMTPTimeoutError,
    OSError,
    TimeoutError,
)


def _one_line(text: object, limit: int = 300) -> str:
    return " ".join(str(text).split())[:limit]


def _address(value: str) -> str:
    """The bare address of ``value`` ("CPD <cpd@x.org>" -> "cpd@x.org")."""
    return parseaddr(value)[1]


def _domain(mail_from: str) -> str:
    domain = _address(mail_from).rpartition("@")[2]
    return domain or "localhost"


def compose(notification: Notification, mail_from: str) -> EmailMessage:
    """The mail for one notification: plain UTF-8 text, threaded under the member's mail.

    Raises ValueError when the recipient is not an address (such a notification can never be
    delivered).
    """
    recipient = notification.recipient.strip()
    local, at, domain = recipient.rpartition("@")
    if not (local and at and domain) or any(ch.isspace() or ch in "<>," for ch in recipient):
        raise ValueError(f"not a mail address: {_one_line(recipient, 80)!r}")
    payload = notification.payload
    message = EmailMessage()
    message["From"] = mail_from
    message["To"] = recipient
    message["Subject"] = _one_line(payload.get("subject") or "CPD", 900)
    message["Date"] = format_datetime(dt.datetime.now(dt.UTC))
    message["Message-ID"] = make_msgid(idstring=f"cpd.{notification.id}", domain=_domain(mail_from))
    in_reply_to = _one_line(payload.get("in_reply_to") or "", 900)
    references = _one_line(payload.get("references") or "", 900) or in_reply_to
    if in_reply_to:
        message["In-Reply-To"] = in_reply_to
    if references:
        message["References"] = references
    replied = bool(in_reply_to or payload.get("auto_replied"))  # every reply says so (RFC 3834)
    message["Auto-Submitted"] = "auto-replied" if replied else "auto-generated"
    message.set_content(str(payload.get("text") or ""), charset="utf-8")
    return message


def classify(error: BaseException) -> tuple[bool, bool]:
    """``(permanent, relay_down)`` for a failed send.

    Permanent: the relay refused the recipient with a 5xx reply. Relay down: no connection,
    a timeout, a dropped connection or a 421. Everything else is temporary.
    """
    if isinstance(error, aiosmtplib.SMTPRecipientsRefused):
        codes = [refusal.code for refusal in error.recipients]
        return bool(codes) and all(500 <= code < 600 for code in codes), False
    if isinstance(error, aiosmtplib.SMTPRecipientRefused):
        return 500 <= error.code < 600, False
    if isinstance(error, RELAY_DOWN_ERRORS):
        return False, True
    if isinstance(error, aiosmtplib.SMTPResponseException):
        return False, error.code == 421
    return False, False


class MailSender:
    """Delivers due ``email`` notifications through an SMTP relay, one batch per poll."""

    def __init__(
        self,
        service: ClaimsService,
        relay_host: str | None,
        relay_port: int,
        mail_from: str,
        poll_interval: float = 1.0,
        timeout: float = 30.0,
    ) -> None:
        self.service = service
        self.relay_host = relay_host
        self.relay_port = relay_port
        self.mail_from = mail_from
        self.poll_interval = poll_interval
        self.timeout = timeout
        self.relay_down = False
        """Whether the last batch stopped because the relay could not be reached."""

    async def deliver_due(self) -> int:
        """Deliver one batch of due notifications; how many the relay accepted.

        The batch stops at the first sign that the relay is down (that notification is
        recorded as failed, with backoff; the rest stay queued untouched).
        """
        self.relay_down = False
        if self.relay_host is None:
            return 0
        due = await asyncio.to_thread(self.service.due_notifications, CHANNEL)
        delivered = 0
        for notification in due:
            if await self._deliver(notification):
                delivered += 1
            elif self.relay_down:
                break
        return delivered

    async def _deliver(self, notification: Notification) -> bool:
        try:
            message = compose(notification, self.mail_from)
        except ValueError as exc:
            await self._failed(notification, f"cannot compose: {exc}", permanent=True)
            return False
        try:
            await aiosmtplib.send(
                message,
                sender=_address(self.mail_from) or self.mail_from,
                recipients=[notification.recipient.strip()],
                hostname=self.relay_host,
                port=self.relay_port,
                timeout=self.timeout,
            )
        except Exception as exc:  # every failure is recorded; none may stop the sender
            permanent, self.relay_down = classify(exc)
            await self._failed(notification, f"{type(exc).__name__}: {exc}", permanent)
            return False
        await self._mark_delivered(notification)
        return True

    async def _failed(self, notification: Notification, error: str, permanent: bool) -> None:
        retry_at = await asyncio.to_thread(
            self.service.delivery_failed,
            notification,
            _one_line(error),
            None,
            permanent,
            self.relay_down,
        )
        log.warning(
            "mail %s to %s failed (%s): %s",
            notification.id,
            notification.recipient,
            "given up" if permanent else f"retry at {retry_at:%H:%M:%S}",
            _one_line(error),
        )

    async def _mark_delivered(self, notification: Notification) -> None:
        """Record the relay's acceptance; retried, since failing here means sending twice."""
        for attempt in range(1, MARK_DELIVERED_TRIES + 1):
            try:
                await asyncio.to_thread(self.service.delivered, notification)
                return
            except Exception:
                if attempt == MARK_DELIVERED_TRIES:
                    raise
                log.warning("could not record delivery of mail %s; retrying", notification.id)
                await asyncio.sleep(0.2 * attempt)

    async def relay_reachable(self) -> bool:
        """Whether the relay answers a connection (a probe that sends nothing)."""
        if self.relay_host is None:
            return False
        client = aiosmtplib.SMTP(
            hostname=self.relay_host, port=self.relay_port, timeout=self.timeout, start_tls=False
        )
        try:
            await client.connect()
            await client.quit()
        except Exception:
            return False
        return True

    async def run(self) -> None:
        """Deliver every ``poll_interval`` until cancelled.

        While the relay is down it is probed with a growing pause (up to ``MAX_PAUSE``)
        without touching the notifications, so an outage costs each at most one attempt.
        Without a relay, nothing is sent: mail stays queued.
        """
        if self.relay_host is None:
            log.warning("no SMTP relay configured: outbound mail stays queued")
            while True:
                await asyncio.sleep(max(self.poll_interval, 1.0) * 60)
        pause = self.poll_interval
        while True:
            if not self.relay_down or await self.relay_reachable():
                try:
                    await self.deliver_due()
                except Exception:
                    log.exception("mail delivery batch failed; retrying")
            if self.relay_down:
                pause = min(max(pause, self.poll_interval, 0.05) * 2, MAX_PAUSE)
            else:
                pause = self.poll_interval
            await asyncio.sleep(pause)
