"""Outbound mail: receipts, decisions and reminders from the outbox, through an SMTP relay.

The sender never reads the database: it asks the claims service for due ``email``
notifications, hands each to the relay with aiosmtplib, and reports back. A notification is
marked delivered only after the relay accepted it; a relay that is down leaves everything queued
(retried with the service's backoff), and a recipient the relay refuses for good (5xx) is given
up.

How the relay is talked to is ``tls`` (auto|starttls|tls|none, see :mod:`cpd.mail_ingest.tls`)
with ``tls_context`` (a CA of its own for a self-signed relay); ``username``/``password`` log
in. A relay whose certificate does not verify counts as down: the mail stays in the outbox.

At scale: one SMTP connection carries a whole run of batches (it is opened for the first due
mail, reused for the next ones, closed when nothing is left, after ``MAX_PER_CONNECTION``
mails, or on a failure; a connection the relay dropped is opened again once and the mail
tried again). ``rate`` paces the mails (:mod:`cpd.mail_ingest.pacer`, ``CPD_MAIL_RATE``).
Reminders (payload ``kind: "reminder"``) get their headers and return path from
:mod:`cpd.mail_ingest.reminder_mail`; mail to an address that bounces
(``ClaimsService.bouncing_addresses``) is not sent: its outbox row is given up with the reason.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from email.message import EmailMessage

import aiosmtplib

from cpd.claims.mail_tokens import MailTokens
from cpd.claims.notifications import Notification
from cpd.claims.service import ClaimsService
from cpd.mail_ingest import reminder_mail
from cpd.mail_ingest.compose import compose, compose_for_relay, one_line
from cpd.mail_ingest.compose_ahead import AheadComposer
from cpd.mail_ingest.delivery_log import DeliveryRecorder
from cpd.mail_ingest.pacer import Pacer
from cpd.mail_ingest.relay_errors import classify
from cpd.mail_ingest.tls import relay_send_options

log = logging.getLogger(__name__)
__all__ = ["BOUNCING", "MailSender", "classify", "compose", "compose_for_relay"]

CHANNEL = "email"
MAX_PAUSE = 600.0
"""Longest wait between checks of a relay that is down (seconds)."""
BATCH_SIZE = 200
"""Due notifications read at a time."""
MAX_PER_CONNECTION = 5000
"""Mails sent over one SMTP connection before it is closed and a new one opened."""
BOUNCING = "not sent: the address bounces (two hard bounces; `cpd members bouncing`)"
NO_ADDRESS = "not sent: the recipient has no mail address now"
_Batch = tuple[list[Notification], set[str], dict[str, str | None]]
"""Due notifications, the addresses that bounce, each recipient's address."""


async def _transmit(
    client: aiosmtplib.SMTP, message: EmailMessage | bytes, sender: str, recipient: str
) -> None:
    if isinstance(message, bytes):
        await client.sendmail(sender, [recipient], message)
    else:
        await client.send_message(message, sender=sender, recipients=[recipient])


class MailSender:
    """Delivers due ``email`` notifications through an SMTP relay, batch after batch over one
    connection, at most ``rate`` mails a second (None: no limit)."""

    def __init__(
        self,
        service: ClaimsService,
        relay_host: str | None,
        relay_port: int,
        mail_from: str,
        poll_interval: float = 1.0,
        timeout: float = 30.0,
        *,
        tls: str = "auto",
        tls_context: ssl.SSLContext | None = None,
        username: str | None = None,
        password: str | None = None,
        rate: float | None = None,
        web_url: str | None = None,
        batch_size: int = BATCH_SIZE,
    ) -> None:
        self.service = service
        self.relay_host = relay_host
        self.relay_port = relay_port
        self.mail_from = mail_from
        self.poll_interval = poll_interval
        self.timeout = timeout
        self.tls_options = relay_send_options(tls, tls_context)
        self._username = username or None
        self._password = password if username else None
        self.pacer = Pacer(rate)
        self.web_url = web_url
        self.batch_size = max(1, batch_size)
        self.relay_down = False
        """Whether the last batch stopped because the relay could not be reached."""
        self.more_due = False
        """Whether the last batch was full (more mail may be due at once)."""
        self.connections = 0
        """SMTP connections opened so far."""
        self._client: aiosmtplib.SMTP | None = None
        self._sent_on_client = 0
        self._tokens: MailTokens | None = None
        self.recorder = DeliveryRecorder(self.service.delivered_all)
        self._next: asyncio.Task[_Batch] | None = None
        self._addresses: dict[str, str | None] = {}
        self.composer = AheadComposer(self._compose)

    async def deliver_due(self) -> int:
        """Deliver one batch of due notifications; how many the relay accepted.

        The batch stops at the first sign that the relay is down (that notification is
        recorded as failed, with backoff; the rest stay queued untouched). The connection
        stays open for the next batch while batches come back full. Every acceptance is
        recorded when it returns with ``more_due`` false; after a full batch the last ones may
        still be in the recorder (the next batch was read ahead, past them).
        """
        self.relay_down = self.more_due = False
        if self.relay_host is None:
            return 0
        due, bouncing, addresses = await self._due()
        self._addresses = addresses
        if not due:
            await self._settle()
            await self.close()
            return 0
        self._read_ahead(due)
        delivered = 0
        try:
            to = [addresses.get(n.recipient) for n in due]
            sendable = [a is not None and a.strip().lower() not in bouncing for a in to]
            for index, notification in enumerate(due):
                if not sendable[index]:
                    why = BOUNCING if to[index] is not None else NO_ADDRESS
                    await self._failed(notification, why, permanent=True)
                    continue
                if not self.pacer.ready():
                    self.recorder.hand_over()  # record what was accepted during the pause
                await self.pacer.wait()
                following = next((due[i] for i in range(index + 1, len(due)) if sendable[i]), None)
                if await self._deliver(notification, following):
                    delivered += 1
                elif self.relay_down:
                    break
        finally:
            self.composer.clear()
            self.recorder.hand_over()
        self.more_due = len(due) >= self.batch_size and not self.relay_down
        if not self.more_due:
            await self._settle()
            await self.close()
        return delivered

    def _read(self, after_id: int | None) -> _Batch:
        """Due mail (after ``after_id``), the addresses that bounce and the address of each
        recipient (a role, resolved now, one query for the batch): one worker-thread trip."""
        due = self.service.due_notifications(CHANNEL, self.batch_size, after_id)
        if not due:
            return due, set(), {}
        return due, self.service.bouncing_addresses(), self.service.addresses(CHANNEL, due)

    async def _due(self) -> _Batch:
        """The next batch: the one read while the last was sent, else read now (once every
        acceptance is recorded: an unrecorded row would be read again)."""
        task, self._next = self._next, None
        if task is not None:
            try:
                return await task
            except Exception:
                log.warning("reading the next batch failed; reading it again")
        await self._settle()
        return await asyncio.to_thread(self._read, None)

    def _read_ahead(self, due: list[Notification]) -> None:
        """Start reading the batch after a full one while it is being sent."""
        if len(due) >= self.batch_size:
            self._next = asyncio.create_task(asyncio.to_thread(self._read, due[-1].id))

    async def _reminder_tokens(self, notification: Notification) -> MailTokens | None:
        if self._tokens is None and reminder_mail.is_reminder(notification.payload):
            self._tokens = await asyncio.to_thread(self.service.reminder_tokens)
        return self._tokens

    def _compose(self, notification: Notification) -> tuple[EmailMessage | bytes, str]:
        to = self._addresses.get(notification.recipient)
        return compose_for_relay(notification, self.mail_from, self._tokens, self.web_url, to)

    async def _deliver(self, notification: Notification, following: Notification | None) -> bool:
        """Send one mail (the ``following`` one is composed while this one is on the wire)."""
        try:
            await self._reminder_tokens(notification)
            message, envelope_sender = self.composer.take(notification)
        except ValueError as exc:
            await self._failed(notification, f"cannot compose: {exc}", permanent=True)
            return False
        if following is not None and (
            self._tokens is not None or not reminder_mail.is_reminder(following.payload)
        ):
            self.composer.ahead(following)
        try:
            to = self._addresses.get(notification.recipient) or notification.recipient
            await self._send(message, envelope_sender, to.strip())
        except Exception as exc:  # every failure is recorded; none may stop the sender
            permanent, self.relay_down = classify(exc)
            if self.relay_down:
                await self.close()
            await self._failed(notification, f"{type(exc).__name__}: {exc}", permanent)
            return False
        await self.recorder.add(notification)
        return True

    async def _connection(self) -> aiosmtplib.SMTP:
        if self._client is None or not self._client.is_connected:
            client = aiosmtplib.SMTP(
                hostname=self.relay_host,
                port=self.relay_port,
                timeout=self.timeout,
                username=self._username,
                password=self._password,
                **self.tls_options,
            )
            await client.connect()
            self.connections += 1
            self._client, self._sent_on_client = client, 0
        return self._client

    async def _send(self, message: EmailMessage | bytes, sender: str, recipient: str) -> None:
        """Send over the open connection; one that turns out dropped is opened again once."""
        client = await self._connection()
        reused = self._sent_on_client > 0
        try:
            await _transmit(client, message, sender, recipient)
        except (aiosmtplib.SMTPServerDisconnected, ConnectionError) as exc:
            await self.close()
            if not reused:
                raise
            log.info("relay connection dropped (%s); opening a new one", one_line(exc))
            client = await self._connection()
            await _transmit(client, message, sender, recipient)
        self._sent_on_client += 1
        if self._sent_on_client >= MAX_PER_CONNECTION:
            await self.close()

    async def close(self) -> None:
        """Close the relay connection, if one is open (QUIT, else just drop it)."""
        client, self._client = self._client, None
        if client is None:
            return
        try:
            if client.is_connected:
                await client.quit()
        except Exception:
            client.close()

    async def _settle(self) -> None:
        """Wait until every accepted mail is recorded."""
        await self.recorder.flush()

    async def _failed(self, notification: Notification, error: str, permanent: bool) -> None:
        retry_at = await asyncio.to_thread(
            self.service.delivery_failed,
            notification,
            one_line(error),
            None,
            permanent,
            self.relay_down,
        )
        log.warning(
            "mail %s to %s failed (%s): %s",
            notification.id,
            notification.recipient,
            "given up" if permanent else f"retry at {retry_at:%H:%M:%S}",
            one_line(error),
        )

    async def relay_reachable(self) -> bool:
        """Whether the relay answers a connection (a probe that sends nothing)."""
        if self.relay_host is None:
            return False
        options = {**self.tls_options, "start_tls": False}  # a probe needs no STARTTLS
        client = aiosmtplib.SMTP(
            hostname=self.relay_host, port=self.relay_port, timeout=self.timeout, **options
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
                    self.more_due = False
                    await self.close()
            if self.more_due:
                continue
            if self.relay_down:
                pause = min(max(pause, self.poll_interval, 0.05) * 2, MAX_PAUSE)
            else:
                pause = self.poll_interval
            await asyncio.sleep(pause)
