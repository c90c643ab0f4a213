"""Reminder mail on a real relay (aiosmtpd RelaySink): headers, unsubscribe, bounces, scale.

Reminder rows are queued here as the reminder planner queues them (channel ``email``, payload
``subject``/``text``/``html``/``sender_name``/``kind: "reminder"``/``member_id``).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from collections.abc import Iterator
from email.message import EmailMessage
from typing import Any

import pytest
from sqlalchemy import Engine, func, select, update
from sqlmodel import Session
from typer.testing import CliRunner

from cpd.claims import mail_tokens
from cpd.claims.intake import MailOutcome, Sender
from cpd.claims.members import import_members, parse_members_csv
from cpd.claims.service import ClaimsService
from cpd.cli import app
from cpd.mail_ingest.outbound import BOUNCING, MailSender
from cpd.mail_ingest.parse import parse_mail, to_intake
from cpd.mail_ingest.smtp_server import ClaimMailHandler
from cpd.storage import Claim, Member, OutboxMessage, transaction
from cpd.storage import outbox as store
from tests.mail_ingest.conftest import MEMBER_EMAIL, MEMBERS
from tests.mail_ingest.support_servers import Delivered, RelaySink, as_bytes, make_mail
from tests.support.outbox import address_of

MAIL_FROM = "CPD Claims <cpd@claims.example.org>"
DOMAIN = "claims.example.org"
WEB = "https://cpd.example.org/"


@pytest.fixture
def relay() -> Iterator[RelaySink]:
    with RelaySink.running() as sink:
        yield sink


def member_id(service: ClaimsService, email: str = MEMBER_EMAIL) -> int:
    member = service.member_for(Sender(email=email))
    assert member is not None and member.id is not None
    return member.id


def queue_reminder(service: ClaimsService, key: str, email: str = MEMBER_EMAIL) -> None:
    """An outbox row as the reminder planner writes it."""
    with transaction(service.engine) as session:
        store.enqueue(
            session,
            f"reminder:{key}",
            "email",
            email,
            "reminder",
            {
                "subject": "Your CPD progress",
                "text": "CPD progress: 4 of 20 points.",
                "html": "<p>CPD progress: <b>4</b> of 20 points.</p>",
                "sender_name": "IIMS CPD",
                "kind": "reminder",
                "member_id": member_id(service, email),
            },
        )


def sender(service: ClaimsService, relay: RelaySink, **options: Any) -> MailSender:
    return MailSender(service, "127.0.0.1", relay.port, MAIL_FROM, tls="none", **options)


def deliver(mail_sender: MailSender) -> int:
    async def go() -> int:
        total = 0
        while True:
            total += await mail_sender.deliver_due()
            if not mail_sender.more_due:
                return total

    return asyncio.run(asyncio.wait_for(go(), 120))


def receive(service: ClaimsService, message: EmailMessage | bytes) -> MailOutcome:
    raw = message if isinstance(message, bytes) else as_bytes(message)
    return service.receive_mail(to_intake(parse_mail(raw), raw, dt.datetime.now(dt.UTC)))


def rows(service: ClaimsService) -> list[OutboxMessage]:
    with Session(service.engine) as session:
        return list(session.exec(select(OutboxMessage).order_by(OutboxMessage.id)).scalars())  # type: ignore[call-overload]


def muted(service: ClaimsService, email: str = MEMBER_EMAIL) -> bool:
    member = service.member_for(Sender(email=email))
    assert member is not None
    return member.nudges_muted


def claims_count(engine: Engine) -> int:
    with Session(engine) as session:
        return int(session.execute(select(func.count()).select_from(Claim)).scalar_one())


def link_telegram(engine: Engine, email: str, user_id: int) -> None:
    with transaction(engine) as session:
        session.execute(
            update(Member).where(Member.email == email).values(telegram_user_id=user_id)
        )


def dsn(to: str, status: str, action: str = "failed") -> bytes:
    """A delivery status notification (RFC 3464) as a relay sends it, to ``to``."""
    return (
        "From: Mail Delivery System <MAILER-DAEMON@mx.example.com>\r\n"
        f"To: {to}\r\n"
        "Subject: Undelivered Mail Returned to Sender\r\n"
        "Auto-Submitted: auto-replied\r\n"
        f"Message-ID: <dsn.{time.time_ns()}@mx.example.com>\r\n"
        "MIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="B1"\r\n'
        "\r\n--B1\r\nContent-Type: text/plain\r\n\r\nYour message could not be delivered.\r\n"
        "--B1\r\nContent-Type: message/delivery-status\r\n\r\n"
        "Reporting-MTA: dns; mx.example.com\r\n\r\n"
        f"Final-Recipient: rfc822; {MEMBER_EMAIL}\r\nAction: {action}\r\nStatus: {status}\r\n"
        f"Diagnostic-Code: smtp; 550 {status} no such user\r\n\r\n"
        "--B1\r\nContent-Type: text/rfc822-headers\r\n\r\nSubject: Your CPD progress\r\n"
        "--B1--\r\n"
    ).encode()


def unfolded(message: EmailMessage, name: str) -> str:
    return " ".join(str(message[name]).split())


def only(relay: RelaySink) -> Delivered:
    assert len(relay.delivered) == 1, relay.delivered
    return relay.delivered[0]


# -- composing ----------------------------------------------------------------------------------


def test_a_reminder_has_text_and_html_a_sender_name_a_mailto_unsubscribe_and_a_verp_sender(
    service: ClaimsService, relay: RelaySink
) -> None:
    queue_reminder(service, "1")
    assert deliver(sender(service, relay)) == 1
    got = only(relay)
    message = got.message
    assert message.get_content_type() == "multipart/alternative"
    parts = {p.get_content_type(): p.get_content() for p in message.iter_parts()}
    assert parts["text/plain"].strip() == "CPD progress: 4 of 20 points."
    assert "<b>4</b>" in parts["text/html"]
    (author,) = message["From"].addresses
    assert (author.display_name, author.addr_spec) == ("IIMS CPD", "cpd@claims.example.org")
    assert message["Auto-Submitted"] == "auto-generated"
    tokens = service.reminder_tokens()
    jane = member_id(service)
    unsubscribe = tokens.make(mail_tokens.UNSUBSCRIBE, jane)
    assert unfolded(message, "List-Unsubscribe") == f"<mailto:unsubscribe+{unsubscribe}@{DOMAIN}>"
    assert message["List-Unsubscribe-Post"] is None  # RFC 8058: only with an https URI
    assert got.mail_from == f"bounces+{tokens.make(mail_tokens.BOUNCES, jane)}@{DOMAIN}"
    assert got.rcpt_tos == [MEMBER_EMAIL]
    assert str(message["Message-ID"]).startswith("<cpd-reminder.")


def test_with_an_https_web_url_the_reminder_offers_one_click_unsubscribe(
    service: ClaimsService, relay: RelaySink
) -> None:
    queue_reminder(service, "1")
    deliver(sender(service, relay, web_url=WEB))
    message = only(relay).message
    token = service.reminder_tokens().make(mail_tokens.UNSUBSCRIBE, member_id(service))
    assert unfolded(message, "List-Unsubscribe") == (
        f"<mailto:unsubscribe+{token}@{DOMAIN}>, <https://cpd.example.org/unsubscribe/{token}>"
    )
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


def test_other_mail_keeps_the_plain_sender_and_no_unsubscribe_headers(
    service: ClaimsService, relay: RelaySink
) -> None:
    with transaction(service.engine) as session:
        store.enqueue(
            session, "n1", "email", MEMBER_EMAIL, "notice", {"text": "hi", "subject": "s"}
        )
    deliver(sender(service, relay, web_url=WEB))
    got = only(relay)
    assert got.mail_from == "cpd@claims.example.org"
    assert got.message["List-Unsubscribe"] is None
    assert got.message.get_content_type() == "text/plain"


# -- unsubscribe and start by mail --------------------------------------------------------------


def test_mail_to_the_unsubscribe_address_mutes_everywhere_once_and_makes_no_claim(
    service: ClaimsService,
) -> None:
    link_telegram(service.engine, MEMBER_EMAIL, 4242)
    token = service.reminder_tokens().make(mail_tokens.UNSUBSCRIBE, member_id(service))
    address = f"unsubscribe+{token}@{DOMAIN}"
    outcome = receive(service, make_mail("", to=address, subject="unsubscribe"))
    assert outcome.outcome == "muted" and outcome.claim is None
    assert muted(service)
    assert service.queue_nudges() == 0  # the Telegram nudge is skipped too
    again = receive(service, make_mail("", to=address, subject="unsubscribe"))
    assert again.outcome == "muted"
    confirmations = [r for r in rows(service) if r.template == "mute_confirmation"]
    assert len(confirmations) == 1 and address_of(service.engine, confirmations[0]) == MEMBER_EMAIL
    assert claims_count(service.engine) == 0


def test_a_stop_reply_to_a_reminder_mutes_and_start_unmutes(
    service: ClaimsService, relay: RelaySink
) -> None:
    queue_reminder(service, "1")
    deliver(sender(service, relay))
    reminder_id = str(only(relay).message["Message-ID"])
    reply = make_mail(
        "Stop\n\nOn Monday CPD wrote:\n> CPD progress: 4 of 20 points.", subject="Re: x"
    )
    reply["In-Reply-To"] = reminder_id
    assert receive(service, reply).outcome == "muted"
    assert muted(service)
    assert receive(service, make_mail("start", subject="CPD")).outcome == "unmuted"
    assert not muted(service)
    assert receive(service, make_mail("/unmute", subject="CPD")).outcome == "unmuted"
    texts = [r.payload["text"] for r in rows(service) if r.template == "mute_confirmation"]
    assert len(texts) == 2 and "no more" in texts[0] and "on again" in texts[1]
    assert claims_count(service.engine) == 0


def test_stop_in_a_mail_that_is_not_a_reply_to_a_reminder_is_just_a_mail(
    service: ClaimsService,
) -> None:
    outcome = receive(service, make_mail("stop\nBoat show yesterday, 3 hours"))
    assert outcome.outcome != "muted" and not muted(service)


def test_a_forged_token_or_another_members_id_or_a_bounce_token_does_nothing(
    service: ClaimsService,
) -> None:
    tokens = service.reminder_tokens()
    jane, sam = member_id(service), member_id(service, "sam@example.com")
    own = tokens.make(mail_tokens.UNSUBSCRIBE, jane)
    forged = [
        f"{sam}-{own.partition('-')[2]}",  # Jane's digits with Sam's id
        f"{jane}-{'0' * 20}",
        tokens.make(mail_tokens.BOUNCES, sam),  # a token of another purpose
    ]
    for token in forged:
        outcome = receive(
            service, make_mail("", to=f"unsubscribe+{token}@{DOMAIN}", subject="unsubscribe")
        )
        assert outcome.outcome == "unsubscribe_invalid"
    assert not muted(service) and not muted(service, "sam@example.com")
    assert rows(service) == [] and claims_count(service.engine) == 0


def test_unsubscribe_by_token_is_what_the_one_click_url_calls(service: ClaimsService) -> None:
    token = service.reminder_tokens().make(mail_tokens.UNSUBSCRIBE, member_id(service))
    assert service.unsubscribe_by_token(token) and muted(service)
    assert service.unsubscribe_by_token(token)  # again: still muted, no second confirmation
    assert len([r for r in rows(service) if r.template == "mute_confirmation"]) == 1
    assert not service.unsubscribe_by_token(token[:-1] + ("0" if token[-1] != "0" else "1"))


def test_the_smtp_listener_accepts_the_return_addresses_of_its_domain(
    service: ClaimsService,
) -> None:
    handler = ClaimMailHandler(
        service, ["claims@claims.example.org", f"bounces+*@{DOMAIN}", f"unsubscribe+*@{DOMAIN}"]
    )
    assert handler.accepts(f"<bounces+1-{'a' * 20}@{DOMAIN}>")
    assert handler.accepts(f"unsubscribe+1-{'a' * 20}@{DOMAIN}")
    assert not handler.accepts(f"other+1@{DOMAIN}")
    assert not handler.accepts("bounces+1@elsewhere.example")


# -- bounces ------------------------------------------------------------------------------------


def test_two_hard_bounces_stop_mail_to_the_address_and_show_it(
    service: ClaimsService, relay: RelaySink, monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    queue_reminder(service, "1")
    deliver(sender(service, relay))
    return_path = only(relay).mail_from
    for _ in range(2):
        outcome = receive(service, dsn(return_path, "5.1.1"))
        assert outcome.outcome == "bounce" and outcome.claim is None
    queue_reminder(service, "3")
    assert deliver(sender(service, relay)) == 0
    assert len(relay.delivered) == 1  # the third reminder was not sent
    third = [r for r in rows(service) if r.dedup_key == "reminder:3"][0]
    assert third.status == "dead" and third.last_error == BOUNCING
    assert claims_count(service.engine) == 0
    assert [r.dedup_key for r in rows(service)] == ["reminder:1", "reminder:3"]  # no answers

    monkeypatch.setenv("CPD_DATA_DIR", str(tmp_path))
    runner = CliRunner()
    listed = runner.invoke(app, ["members", "bouncing"])
    assert listed.exit_code == 0, listed.output
    assert listed.stdout.splitlines() == [
        f"M1  Jane Surveyor  <{MEMBER_EMAIL}>  2 hard bounce(s)  last 5.1.1 on "
        f"{dt.datetime.now(dt.UTC):%Y-%m-%d}"
    ]
    shown = runner.invoke(app, ["members", "show", "M1"])
    assert "Mail: bouncing, no mail is sent (2 hard, 0 soft" in shown.stdout

    moved = MEMBERS.replace(MEMBER_EMAIL, "jane@new.example.com")
    import_members(service.engine, parse_members_csv(moved, "iims"))
    assert service.bouncing_addresses() == set()
    assert runner.invoke(app, ["members", "bouncing"]).stdout == ""


def test_one_hard_and_soft_bounces_do_not_stop_mail(
    service: ClaimsService, relay: RelaySink
) -> None:
    queue_reminder(service, "1")
    deliver(sender(service, relay))
    return_path = only(relay).mail_from
    assert receive(service, dsn(return_path, "5.1.1")).outcome == "bounce"
    assert receive(service, dsn(return_path, "4.2.2")).outcome == "bounce"
    assert receive(service, dsn(return_path, "4.4.1", action="delayed")).outcome == "bounce_ignored"
    queue_reminder(service, "2")
    assert deliver(sender(service, relay)) == 1


def test_a_dsn_with_a_forged_token_or_to_the_main_address_counts_nothing_and_is_not_answered(
    service: ClaimsService,
) -> None:
    for to in (f"bounces+1-{'0' * 20}@{DOMAIN}", "cpd@claims.example.org"):
        for _ in range(3):
            assert receive(service, dsn(to, "5.1.1")).outcome == "bounce_ignored"
    assert service.bouncing_addresses() == set()
    assert rows(service) == [] and claims_count(service.engine) == 0


# -- at scale -----------------------------------------------------------------------------------


def queue_many(service: ClaimsService, count: int) -> None:
    jane = member_id(service)
    with transaction(service.engine) as session:
        for index in range(count):
            session.add(
                OutboxMessage(
                    dedup_key=f"reminder:bulk:{index}",
                    channel="email",
                    recipient=f"member{index}@example.com",
                    template="reminder",
                    payload={
                        "subject": "Your CPD progress",
                        "text": "CPD progress.",
                        "html": "<p>CPD progress.</p>",
                        "sender_name": "IIMS CPD",
                        "kind": "reminder",
                        "member_id": jane,
                    },
                )
            )


def test_a_thousand_reminders_go_over_one_connection(
    service: ClaimsService, relay: RelaySink
) -> None:
    queue_many(service, 1000)
    started = time.monotonic()
    mail_sender = sender(service, relay)
    assert deliver(mail_sender) == 1000
    elapsed = time.monotonic() - started
    assert len(relay.delivered) == 1000
    assert relay.connections == 1 and mail_sender.connections == 1
    assert all(r.status == "sent" for r in rows(service))
    print(f"1000 reminders in {elapsed:.1f} s over {relay.connections} connection")


def test_the_mail_rate_is_respected(service: ClaimsService, relay: RelaySink) -> None:
    count, rate = 40, 50.0
    queue_many(service, count)
    started = time.monotonic()
    assert deliver(sender(service, relay, rate=rate)) == count
    elapsed = time.monotonic() - started
    assert count / rate * 0.9 <= elapsed < count / rate * 3 + 2, elapsed
    assert relay.connections == 1


def test_a_dropped_connection_is_opened_again_and_nothing_is_lost(
    service: ClaimsService, relay: RelaySink
) -> None:
    queue_many(service, 5)
    mail_sender = sender(service, relay, batch_size=3)

    async def go() -> int:
        sent = await mail_sender.deliver_due()  # 3, the connection stays open (batch full)
        assert mail_sender.more_due and mail_sender._client is not None
        mail_sender._client.transport.abort()  # type: ignore[union-attr]  # the relay "drops" it
        await asyncio.sleep(0.05)
        return sent + await mail_sender.deliver_due()

    assert asyncio.run(asyncio.wait_for(go(), 30)) == 5
    assert len(relay.delivered) == 5 and relay.connections == 2
    assert all(r.status == "sent" for r in rows(service))
