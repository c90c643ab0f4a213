"""Outbound mail through a real SMTP server (aiosmtpd on loopback) from a real outbox."""

from __future__ import annotations

import asyncio
import datetime as dt
import socket
import time
from collections.abc import Callable, Coroutine, Iterator
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import aiosmtplib
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from sqlmodel import Session as DbSession
from sqlmodel import select

from cpd.claims.notifications import Notification
from cpd.claims.service import ClaimsService
from cpd.mail_ingest.outbound import MailSender, classify, compose
from cpd.mail_ingest.parse import parse_mail, to_intake
from cpd.storage import OutboxMessage, transaction
from cpd.storage import outbox as store

MAIL_FROM = "CPD Claims <cpd@claims.example.org>"


class Recorder:
    """An aiosmtpd handler that keeps every accepted message and refuses chosen recipients."""

    def __init__(self, refuse: dict[str, str] | None = None) -> None:
        self.messages: list[EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self.refuse = refuse or {}

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list
    ) -> str:
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        data = envelope.original_content or b""
        message = message_from_bytes(data, policy=policy.default)
        assert isinstance(message, EmailMessage)
        self.messages.append(message)
        self.envelopes.append((str(envelope.mail_from), list(envelope.rcpt_tos)))
        return "250 OK queued"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def relay() -> Iterator[tuple[Recorder, int]]:
    recorder = Recorder(
        {"gone@example.com": "550 5.1.1 No such user", "full@example.com": "452 4.2.2 Mailbox full"}
    )
    controller = Controller(recorder, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield recorder, controller.port
    controller.stop()


def run(coroutine_fn: Callable[[], Coroutine[Any, Any, Any]]) -> Any:
    return asyncio.run(asyncio.wait_for(coroutine_fn(), 30))


def outbox(service: ClaimsService) -> list[OutboxMessage]:
    with DbSession(service.engine) as session:
        rows = session.exec(select(OutboxMessage).where(OutboxMessage.channel == "email"))
        return list(rows.all())


def receive_claim_mail(service: ClaimsService, subject: str = "Boat show — Überblick") -> str:
    msg = EmailMessage()
    msg["From"] = "Jane Surveyor <jane@example.com>"
    msg["To"] = "claims@claims.example.org"
    msg["Subject"] = subject
    msg["Message-ID"] = "<claim1@example.com>"
    msg["References"] = "<older@example.com>"
    msg.set_content("Boat show yesterday, 5 hours")
    raw = msg.as_bytes(policy=policy.SMTP)
    outcome = service.receive_mail(to_intake(parse_mail(raw), raw, dt.datetime.now(dt.UTC)))
    assert outcome.outcome == "claimed"
    return "<claim1@example.com>"


def notification(recipient: str = "jane@example.com", **payload: Any) -> Notification:
    return Notification(7, "email", recipient, "receipt", {"text": "Hello", **payload}, 0)


def test_compose_threads_the_reply_and_encodes_utf8() -> None:
    note = notification(
        subject="Re: Sécurité à bord — 3 h",
        text="Reçu: 3 heures. ✓",
        in_reply_to="<m1@example.com>",
        references="<m0@example.com> <m1@example.com>",
    )
    message = compose(note, MAIL_FROM)
    parsed = message_from_bytes(message.as_bytes(policy=policy.SMTP), policy=policy.default)
    assert parsed["To"] == "jane@example.com" and parsed["From"] == MAIL_FROM
    assert parsed["Subject"] == "Re: Sécurité à bord — 3 h"
    assert parsed["In-Reply-To"] == "<m1@example.com>"
    assert parsed["References"] == "<m0@example.com> <m1@example.com>"
    assert parsed["Message-ID"].endswith("@claims.example.org>")
    assert parsed["Date"].datetime.tzinfo is not None
    assert parsed.get_content_type() == "text/plain"
    assert parsed.get_content_charset() == "utf-8"
    assert parsed.get_content().strip() == "Reçu: 3 heures. ✓"
    assert compose(note, MAIL_FROM)["Message-ID"] != message["Message-ID"]


def test_compose_uses_the_message_id_the_claims_service_minted() -> None:
    local = "cpd-12." + "ab" * 16
    minted = compose(notification(message_id_local=local), MAIL_FROM)
    assert minted["Message-ID"] == f"<{local}@claims.example.org>"
    assert (
        compose(notification(message_id_local=local), MAIL_FROM)["Message-ID"]
        == (minted["Message-ID"])
    )
    # anything else in the payload is not written into a header
    odd = compose(notification(message_id_local="x>\r\nBcc: all@x"), MAIL_FROM)
    assert odd["Message-ID"].startswith("<") and "Bcc" not in odd["Message-ID"]


def test_compose_without_threading_and_with_a_bad_recipient() -> None:
    message = compose(notification(subject="CPD decision"), "cpd@localhost")
    assert message["In-Reply-To"] is None and message["References"] is None
    assert message["Auto-Submitted"] == "auto-generated"
    references_only = compose(notification(in_reply_to="<a@b>"), "cpd@localhost")
    assert references_only["References"] == "<a@b>"
    with pytest.raises(ValueError, match="not a mail address"):
        compose(notification("jane@example.com\r\nBcc: all@example.com"), "cpd@localhost")


def test_a_receipt_reaches_the_member_through_the_relay_exactly_once(
    service: ClaimsService, relay: tuple[Recorder, int]
) -> None:
    recorder, port = relay
    message_id = receive_claim_mail(service)
    sender = MailSender(service, "127.0.0.1", port, MAIL_FROM, timeout=5)
    assert run(sender.deliver_due) == 1
    assert run(sender.deliver_due) == 0
    [received] = recorder.messages
    assert recorder.envelopes == [("cpd@claims.example.org", ["jane@example.com"])]
    assert received["To"] == "jane@example.com"
    assert received["In-Reply-To"] == message_id
    assert received["References"] == "<older@example.com> <claim1@example.com>"
    assert received["Subject"].startswith("Your CPD claim received: Boat show — Überblick")
    assert "Here is what we understood" in received.get_content()
    [row] = outbox(service)
    assert row.status == "sent" and row.attempts == 1


def test_an_unknown_senders_reply_keeps_the_utf8_subject(
    service: ClaimsService, relay: tuple[Recorder, int]
) -> None:
    recorder, port = relay
    msg = EmailMessage()
    msg["From"] = "stranger@example.net"
    msg["Subject"] = "Fortbildung über Schiffsrümpfe"
    msg["Message-ID"] = "<s1@example.net>"
    msg.set_content("Course 3 hours")
    raw = msg.as_bytes(policy=policy.SMTP)
    service.receive_mail(to_intake(parse_mail(raw), raw, dt.datetime.now(dt.UTC)))
    assert run(MailSender(service, "127.0.0.1", port, MAIL_FROM, timeout=5).deliver_due) == 1
    [received] = recorder.messages
    assert received["Subject"] == "Re: Fortbildung über Schiffsrümpfe"
    assert received["In-Reply-To"] == "<s1@example.net>"


def test_relay_down_keeps_mail_queued_then_delivers_it_once(service: ClaimsService) -> None:
    receive_claim_mail(service)
    port = free_port()  # nothing listens here yet
    sender = MailSender(service, "127.0.0.1", port, MAIL_FROM, timeout=5)
    assert run(sender.deliver_due) == 0 and sender.relay_down
    [row] = outbox(service)
    assert row.status == "pending" and row.attempts == 1 and row.last_error
    assert row.next_attempt_at.replace(tzinfo=dt.UTC) > dt.datetime.now(dt.UTC)
    assert service.due_notifications("email") == []  # backing off
    recorder = Recorder()
    controller = Controller(recorder, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        deadline = time.monotonic() + 10
        while not service.due_notifications("email") and time.monotonic() < deadline:
            time.sleep(0.1)
        assert run(sender.deliver_due) == 1
        assert run(sender.deliver_due) == 0
    finally:
        controller.stop()
    assert len(recorder.messages) == 1
    [row] = outbox(service)
    assert row.status == "sent" and row.attempts == 2


def test_refusals_through_the_outbox(service: ClaimsService, relay: tuple[Recorder, int]) -> None:
    recorder, port = relay
    for address in ("gone@example.com", "full@example.com", "jane@example.com"):
        enqueue_mail(service, address)
    sender = MailSender(service, "127.0.0.1", port, MAIL_FROM, timeout=5)
    assert run(sender.deliver_due) == 1
    status = {row.recipient: (row.status, row.attempts) for row in outbox(service)}
    assert status == {
        "gone@example.com": ("dead", 1),
        "full@example.com": ("pending", 1),
        "jane@example.com": ("sent", 1),
    }
    assert [m["To"] for m in recorder.messages] == ["jane@example.com"]


def enqueue_mail(service: ClaimsService, address: str) -> None:
    with transaction(service.engine) as session:
        store.enqueue(session, f"test:{address}", "email", address, "refused", {"text": "Hi"})


def test_classify_temporary_and_permanent_errors() -> None:
    refused = aiosmtplib.SMTPRecipientsRefused([aiosmtplib.SMTPRecipientRefused(550, "no", "a@b")])
    assert classify(refused) == (True, False)
    busy = aiosmtplib.SMTPRecipientsRefused([aiosmtplib.SMTPRecipientRefused(451, "x", "a@b")])
    assert classify(busy) == (False, False)
    assert classify(ConnectionRefusedError()) == (False, True)
    assert classify(aiosmtplib.SMTPResponseException(421, "closing")) == (False, True)
    assert classify(aiosmtplib.SMTPSenderRefused(553, "relay denied", "x")) == (False, False)


def test_run_without_a_relay_sends_nothing_and_loses_nothing(service: ClaimsService) -> None:
    receive_claim_mail(service)
    sender = MailSender(service, None, 25, MAIL_FROM, poll_interval=0.01)

    async def briefly() -> None:
        task = asyncio.create_task(sender.run())
        await asyncio.sleep(0.3)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    run(briefly)
    [row] = outbox(service)
    assert row.status == "pending" and row.attempts == 0


def test_run_rides_out_an_outage_and_delivers_once(service: ClaimsService) -> None:
    receive_claim_mail(service)
    port = free_port()
    sender = MailSender(service, "127.0.0.1", port, MAIL_FROM, poll_interval=0.05, timeout=5)
    recorder = Recorder()
    controller = Controller(recorder, hostname="127.0.0.1", port=port)

    async def outage_then_recovery() -> None:
        task = asyncio.create_task(sender.run())
        await asyncio.sleep(1.5)  # relay down: probed, the notification tried once
        assert [row.attempts for row in outbox(service)] == [1]
        await asyncio.to_thread(controller.start)
        deadline = time.monotonic() + 15
        while not recorder.messages and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.3)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    try:
        run(outage_then_recovery)
    finally:
        controller.stop()
    assert len(recorder.messages) == 1
    [row] = outbox(service)
    assert row.status == "sent" and row.attempts == 2


def test_an_answer_is_composed_from_what_it_answers() -> None:
    """The claims service queues what an answer answers; the sender writes the headers."""
    answers = {"message_id": "<m1@x>", "references": "<m0@x> <m1@x>", "subject": "Boat show"}
    answer = compose(notification(subject="your CPD claim", answers=answers), MAIL_FROM)
    assert answer["Subject"] == "Re: Boat show"
    assert answer["In-Reply-To"] == "<m1@x>" and answer["References"] == "<m0@x> <m1@x>"
    assert answer["Auto-Submitted"] == "auto-replied"
    untitled = compose(
        notification(subject="your CPD claim", answers={**answers, "subject": ""}), MAIL_FROM
    )
    assert untitled["Subject"] == "Re: your CPD claim"
    kept = compose(
        notification(subject="Your CPD reminders", answers={"message_id": "<m1@x>"}), MAIL_FROM
    )
    assert kept["Subject"] == "Your CPD reminders" and kept["References"] == "<m1@x>"
