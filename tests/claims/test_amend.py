"""A member's reply to the product's mail about a claim amends that claim (on both backends,
with the real NLP step and the real IMI scheme)."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select

from cpd import rules
from cpd.claims.intake import Intake, MailOutcome, Sender, TelegramReply
from cpd.claims.members import create_invite, import_members, parse_members_csv
from cpd.claims.service import ClaimsService
from cpd.mail_ingest.replies import reply_headers
from cpd.nlp import load_extractor
from cpd.storage import AuditEntry, Claim, OutboxMessage
from tests.claims.conftest import MEMBERS, NOW, SECRETARY_CHAT
from tests.support.mail_intake import mail_intake
from tests.support.outbox import address_of

TOM = "tom@example.com"
CLAIM_TEXT = "EV safety training course yesterday, 4 hours"
REFLECTION = "I learned how to isolate a high-voltage battery safely before working on it."


@pytest.fixture
def service(engine: Engine, tmp_path: Path) -> ClaimsService:
    """The service with the real extractor; Tom (T1) is an IMI member."""
    import_members(engine, parse_members_csv(MEMBERS, "iims"))
    svc = ClaimsService(
        engine,
        load_extractor(),
        tmp_path / "evidence",
        zoneinfo.ZoneInfo("Europe/London"),
        SECRETARY_CHAT,
        clock=lambda: NOW,
    )
    for number, telegram_id in (("S1", 201), ("T1", 301)):
        token, _ = create_invite(engine, number, dt.timedelta(days=1))
        svc.link_telegram(token, telegram_id)
    return svc


def mail(
    text: str,
    message_id: str,
    sender: str = TOM,
    subject: str = "CPD claim",
    in_reply_to: str | None = None,
    automatic: bool = False,
    verification: str | None = None,
) -> Intake:
    """A mail intake as ``mail_ingest.parse.to_intake`` builds it (subject line first)."""
    return mail_intake(
        f"{subject}\n{text}",
        sender,
        message_id,
        NOW,
        subject=subject,
        in_reply_to=in_reply_to,
        references=" ".join(i for i in (in_reply_to, message_id) if i),
        automatic=automatic,
        verification=verification,
    )


def outbox(engine: Engine) -> list[OutboxMessage]:
    with Session(engine) as session:
        return list(session.exec(select(OutboxMessage).order_by(OutboxMessage.id)).all())


def claims(engine: Engine) -> list[Claim]:
    with Session(engine) as session:
        return list(session.exec(select(Claim).order_by(Claim.id)).all())


def audit(engine: Engine, action: str) -> list[AuditEntry]:
    with Session(engine) as session:
        return list(session.exec(select(AuditEntry).where(AuditEntry.action == action)).all())


def receipt_id(engine: Engine, claim_id: int) -> str:
    """The Message-ID the receipt of a claim goes out with (as the mail sender writes it)."""
    (row,) = [r for r in outbox(engine) if r.dedup_key == f"claim:{claim_id}:receipt:email"]
    return f"<{row.payload['message_id_local']}@example.com>"


def credits_for(hours: float, kind: str = "training") -> float:
    """Base credits of the IMI scheme for ``hours`` of ``kind`` (from the scheme file)."""
    category = rules.load_scheme("imi").category_for(kind, None)
    assert category is not None and category.rate.per_hour is not None
    return hours * category.rate.per_hour


def claim_by_mail(service: ClaimsService) -> MailOutcome:
    outcome = service.receive_mail(mail(CLAIM_TEXT, "<c1@example.com>"))
    assert outcome.outcome == "claimed" and outcome.claim is not None
    assert outcome.claim.hours == 4 and outcome.claim.proposed_points == 0
    assert "reflection" in outcome.claim.needs
    return outcome


def test_a_reply_adds_the_imi_reflection_and_the_proposal_changes(
    service: ClaimsService, engine: Engine
) -> None:
    first = claim_by_mail(service)
    assert first.claim is not None
    reply = mail(
        f"{REFLECTION}\n\nImpact and results: I now do the isolation checks in half the time.",
        "<r1@example.com>",
        subject="Re: Your CPD claim received",
        in_reply_to=receipt_id(engine, first.claim.id),
    )
    outcome = service.receive_mail(reply)
    assert outcome.outcome == "amended" and outcome.claim is not None
    impact = rules.load_scheme("imi").extras.reflections["impact"]
    assert outcome.claim.proposed_points == credits_for(4) + impact
    assert outcome.claim.reflections["new_knowledge"] == REFLECTION
    assert outcome.claim.reflections["impact"].startswith("I now do the isolation")
    assert outcome.claim.status == "pending" and "reflection" not in outcome.claim.needs
    assert len(claims(engine)) == 1
    (answer,) = [r for r in outbox(engine) if r.template == "amended"]
    headers = reply_headers(answer.payload)
    assert address_of(engine, answer) == TOM and headers.in_reply_to == "<r1@example.com>"
    assert headers.subject == "Re: Your CPD claim received"
    total = credits_for(4) + impact
    assert f"Claim #{first.claim.id} updated" in answer.payload["text"]
    assert f"proposed now {rules.values.number(total)} credits (was 0)" in answer.payload["text"]
    assert answer.payload["message_id_local"].startswith(f"cpd-{first.claim.id}.")
    (card,) = [r for r in outbox(engine) if r.template == "secretary_card"]
    assert REFLECTION in card.payload["text"]  # the card not yet posted shows the reflection
    (entry,) = audit(engine, "claim.amended")
    assert entry.details["changes"]["reflections"] == ["impact", "new_knowledge"]
    assert entry.details["proposed_before"] == 0


def test_a_reply_corrects_the_hours_and_a_posted_card_is_edited(
    service: ClaimsService, engine: Engine
) -> None:
    first = claim_by_mail(service)
    assert first.claim is not None
    service.card_posted(first.claim.id, SECRETARY_CHAT, 555)
    reply = mail(
        f"Sorry, it was 6 hours, not 4.\n\nWhat I learned: {REFLECTION}",
        "<r2@example.com>",
        subject="Re: Your CPD claim received",
        in_reply_to=receipt_id(engine, first.claim.id),
    )
    outcome = service.receive_mail(reply)
    assert outcome.outcome == "amended" and outcome.claim is not None
    assert outcome.claim.hours == 6 and outcome.claim.kind == first.claim.kind
    assert outcome.claim.start_date == first.claim.start_date
    assert outcome.claim.proposed_points == credits_for(6)
    (update,) = [r for r in outbox(engine) if r.template == "card_update"]
    assert update.payload["buttons"] is True and "Hours: 6 h" in update.payload["text"]
    (entry,) = audit(engine, "claim.amended")
    assert entry.details["changes"]["hours"] == 6


def test_a_reply_to_a_decided_claim_goes_to_the_secretary_and_changes_nothing(
    service: ClaimsService, engine: Engine
) -> None:
    first = claim_by_mail(service)
    assert first.claim is not None
    service.decide(first.claim.id, Sender(telegram_user_id=201), "decline", reason="no proof")
    (declined,) = [r for r in outbox(engine) if r.dedup_key.endswith(":declined:email")]
    reply = mail(
        f"It was 6 hours. {REFLECTION}",
        "<r3@example.com>",
        in_reply_to=f"<{declined.payload['message_id_local']}@example.com>",
    )
    outcome = service.receive_mail(reply)
    assert outcome.outcome == "noted" and outcome.claim is not None
    (claim,) = claims(engine)
    assert (claim.status, claim.hours, claim.reflections) == ("declined", 4, {})
    (note,) = [r for r in outbox(engine) if r.template == "card_note"]
    assert (
        address_of(engine, note, SECRETARY_CHAT) == str(SECRETARY_CHAT)
        and REFLECTION in note.payload["text"]
    )
    (answer,) = [r for r in outbox(engine) if r.template == "amended"]
    assert "passed to the membership secretary" in answer.payload["text"]
    assert audit(engine, "claim.amended") == [] and len(audit(engine, "claim.reply_noted")) == 1


def test_a_reply_from_another_members_address_is_a_new_claim(
    service: ClaimsService, engine: Engine
) -> None:
    first = claim_by_mail(service)
    assert first.claim is not None
    reply = mail(
        "Boat show yesterday, 5 hours",
        "<j1@example.com>",
        sender="jane@example.com",
        in_reply_to=receipt_id(engine, first.claim.id),
    )
    outcome = service.receive_mail(reply)
    assert outcome.outcome == "claimed" and outcome.claim is not None
    assert outcome.claim.id != first.claim.id and outcome.claim.member_no == "M1"
    toms = claims(engine)[0]
    assert toms.reflections == {} and toms.hours == 4
    assert audit(engine, "claim.amended") == []


@pytest.mark.parametrize(
    "reference",
    ["forged", "<unknown@example.com>", "<cpd-99999.0123456789abcdef0123456789abcdef@x.org>"],
)
def test_a_reply_with_a_forged_or_unknown_reference_is_a_new_claim(
    service: ClaimsService, engine: Engine, reference: str
) -> None:
    first = claim_by_mail(service)
    assert first.claim is not None
    if reference == "forged":  # the claim's id with a random part the product never sent
        reference = f"<cpd-{first.claim.id}.{'0' * 32}@example.com>"
    outcome = service.receive_mail(
        mail(f"Reading an article today, 2 hours. {REFLECTION}", "<f1@x>", in_reply_to=reference)
    )
    assert outcome.outcome == "claimed" and outcome.claim is not None
    assert outcome.claim.id != first.claim.id
    assert claims(engine)[0].reflections == {}


def test_the_same_reply_twice_amends_once(service: ClaimsService, engine: Engine) -> None:
    first = claim_by_mail(service)
    assert first.claim is not None
    reply = mail(REFLECTION, "<r4@example.com>", in_reply_to=receipt_id(engine, first.claim.id))
    once = service.receive_mail(reply)
    again = service.receive_mail(reply)
    assert once.outcome == again.outcome == "amended" and again.duplicate
    (claim,) = claims(engine)
    assert claim.reflections == {"new_knowledge": REFLECTION}
    assert len(audit(engine, "claim.amended")) == 1
    assert len([r for r in outbox(engine) if r.template == "amended"]) == 1


def test_an_unverified_or_automatic_reply_never_amends(
    service: ClaimsService, engine: Engine
) -> None:
    first = claim_by_mail(service)
    assert first.claim is not None
    reference = receipt_id(engine, first.claim.id)
    unverified = mail(REFLECTION, "<u1@x>", in_reply_to=reference)
    object.__setattr__(unverified, "verification", "none")
    service.receive_mail(unverified)
    service.receive_mail(mail(REFLECTION, "<a1@x>", in_reply_to=reference, automatic=True))
    assert claims(engine)[0].reflections == {}
    assert audit(engine, "claim.amended") == []


def test_a_reply_to_the_answer_amends_again(service: ClaimsService, engine: Engine) -> None:
    first = claim_by_mail(service)
    assert first.claim is not None
    service.receive_mail(mail(REFLECTION, "<r5@x>", in_reply_to=receipt_id(engine, first.claim.id)))
    (answer,) = [r for r in outbox(engine) if r.template == "amended"]
    outcome = service.receive_mail(
        mail(
            "Behaviour and approach: I check the isolation twice now.",
            "<r6@x>",
            in_reply_to=f"<{answer.payload['message_id_local']}@example.com>",
        )
    )
    assert outcome.outcome == "amended" and outcome.claim is not None
    behaviour = rules.load_scheme("imi").extras.reflections["behaviour"]
    assert outcome.claim.proposed_points == credits_for(4) + behaviour


def test_a_telegram_reply_amends_the_draft(service: ClaimsService, engine: Engine) -> None:
    tom = Sender(telegram_user_id=301)
    draft = service.start_claim(Intake("telegram", "telegram:message:301:1", tom, CLAIM_TEXT, NOW))
    to_draft = TelegramReply(draft.claim.id, 7)
    reply = Intake(
        "telegram", "telegram:message:301:2", tom, "It took 5 hours", NOW, reply_to=to_draft
    )
    amended = service.amend_by_reply(reply)
    assert amended is not None and amended.outcome == "amended"
    assert amended.claim.status == "draft" and amended.claim.hours == 5
    stranger = Intake(
        "telegram", "telegram:message:999:3", Sender(999), "x", NOW, reply_to=to_draft
    )
    assert service.amend_by_reply(stranger) is None
    again = service.amend_by_reply(reply)
    assert again is not None and again.duplicate
    assert len(audit(engine, "claim.amended")) == 1
