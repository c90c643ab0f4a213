"""Claims by mail through the service: straight to pending, exactly once, strangers told once."""

from __future__ import annotations

from sqlalchemy import Engine
from sqlmodel import Session, select

from cpd.claims.intake import Intake
from cpd.claims.service import ClaimsService
from cpd.mail_ingest.replies import reply_headers
from cpd.storage import Claim, OutboxMessage
from tests.claims.conftest import NOW, SECRETARY_CHAT
from tests.support.mail_intake import mail_intake
from tests.support.outbox import address_of


def mail(
    text: str,
    sender: str = "Jane@Example.com",
    message_id: str = "<m1@example.com>",
    subject: str = "CPD claim",
    automatic: bool = False,
) -> Intake:
    return mail_intake(
        text, sender, message_id, NOW, subject=subject, automatic=automatic, references=message_id
    )


def rows(engine: Engine, model: type) -> list:
    with Session(engine) as session:
        return list(session.exec(select(model)).all())


def test_a_members_mail_goes_straight_to_pending_with_a_receipt(
    service: ClaimsService, engine: Engine
) -> None:
    outcome = service.receive_mail(mail("Boat show yesterday, 5 hours"))
    assert outcome.outcome == "claimed" and outcome.claim.status == "pending"
    assert outcome.claim.member_no == "M1"
    sent = {(m.channel, m.template): m for m in rows(engine, OutboxMessage)}
    receipt = sent[("email", "receipt")]
    assert address_of(engine, receipt) == "jane@example.com"
    assert reply_headers(receipt.payload).in_reply_to == "<m1@example.com>"
    assert "Here is what we understood" in receipt.payload["text"]
    assert "Proposed: 1 point" in receipt.payload["text"]
    assert address_of(engine, sent[("telegram", "secretary_card")], SECRETARY_CHAT) == str(
        SECRETARY_CHAT
    )


def test_the_same_message_twice_or_by_imap_and_smtp_makes_one_claim(
    service: ClaimsService, engine: Engine
) -> None:
    first = service.receive_mail(mail("Boat show yesterday, 5 hours"), ["imap:7:1"])
    again = service.receive_mail(mail("Boat show yesterday, 5 hours"))
    by_uid = service.receive_mail(mail("Boat show yesterday", message_id="<other@x>"), ["imap:7:1"])
    assert again.duplicate and by_uid.duplicate
    assert again.claim.id == first.claim.id == by_uid.claim.id
    assert len(rows(engine, Claim)) == 1


def test_a_stranger_gets_one_polite_reply_a_day_and_no_claim(
    service: ClaimsService, engine: Engine
) -> None:
    for i in range(3):
        outcome = service.receive_mail(mail("boat show", "someone@else.org", f"<s{i}@x>"))
        assert outcome.outcome == "unknown_sender" and outcome.claim is None
    service.receive_mail(mail("out of office", "robot@else.org", "<auto@x>", automatic=True))
    replies = rows(engine, OutboxMessage)
    assert [(address_of(engine, r), r.template) for r in replies] == [
        ("someone@else.org", "unknown_sender")
    ]
    assert "not one we have on the register" in replies[0].payload["text"]
    assert rows(engine, Claim) == []


def test_a_mail_with_nothing_to_claim_is_answered(service: ClaimsService, engine: Engine) -> None:
    outcome = service.receive_mail(mail("👍👍"))
    assert outcome.outcome == "nothing_to_claim"
    (reply,) = rows(engine, OutboxMessage)
    assert "couldn't find an activity" in reply.payload["text"]
    assert rows(engine, Claim) == []


def test_a_mail_headed_dispensation_is_a_request_not_a_claim(
    service: ClaimsService, engine: Engine
) -> None:
    from cpd.storage import Dispensation

    asked = mail(
        "Dispensation\nI retired in June and only survey part time now.", subject="Dispensation"
    )
    outcome = service.receive_mail(asked)
    assert outcome.outcome == "dispensation" and outcome.claim is None
    assert service.receive_mail(asked).duplicate
    (request,) = rows(engine, Dispensation)
    assert request.status == "requested" and request.reason.startswith("I retired in June")
    texts_sent = {m.template: m.payload["text"] for m in rows(engine, OutboxMessage)}
    assert "sent to the membership secretary" in texts_sent["reply"]
    assert "Dispensation request from Jane Surveyor" in texts_sent["dispensation_card"]
    again = service.receive_mail(
        mail("Re: dispensation\nplease", message_id="<m2@x>", subject="Re: dispensation")
    )
    assert again.outcome == "dispensation_refused"
    assert rows(engine, Claim) == []
