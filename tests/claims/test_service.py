"""The claims workflow on SQLite and PostgreSQL: intake, drafts, submission, decisions."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from sqlalchemy import Engine, func, select
from sqlmodel import Session

from cpd.claims.intake import Attachment, ClaimError, Intake, NotAllowed, NotLinked, Sender
from cpd.claims.service import ClaimsService
from cpd.storage import AuditEntry, Claim, OutboxMessage
from tests.claims.conftest import NOW, SECRETARY_CHAT
from tests.support.outbox import address_of

JANE, SAM, SUE, TOM = Sender(101), Sender(201), Sender(202), Sender(301)


def intake(
    text: str,
    key: str = "telegram:update:1",
    sender: Sender = JANE,
    attachments: tuple[Attachment, ...] = (),
) -> Intake:
    return Intake("telegram", key, sender, text, NOW, attachments)


def count(engine: Engine, model: type, **where: object) -> int:
    with Session(engine) as session:
        query = select(func.count()).select_from(model)
        for name, value in where.items():
            query = query.where(getattr(model, name) == value)
        return session.exec(query).one()[0]


def outbox(engine: Engine) -> list[OutboxMessage]:
    with Session(engine) as session:
        return list(session.exec(select(OutboxMessage).order_by(OutboxMessage.id)).scalars())


def test_a_message_becomes_a_draft_with_proposed_points(
    service: ClaimsService, engine: Engine
) -> None:
    photo = Attachment(b"\xff\xd8 jpeg bytes", "image/jpeg", "../../etc/passwd")
    result = service.start_claim(
        intake("boat show southampton today 4hrs 📸", attachments=(photo,))
    )
    view = result.claim
    assert not result.duplicate
    assert (view.status, view.kind, view.hours, view.start_date) == (
        "draft",
        "exhibition",
        4.0,
        dt.date(2026, 11, 23),
    )
    assert view.proposed_points == 1 and "boat-show" in view.rule_note
    assert view.evidence_count == 1
    (evidence,) = service.evidence(view.id)
    assert evidence.original_name == "passwd"
    assert evidence.stored_path.endswith(evidence.sha256)
    assert count(engine, AuditEntry, action="claim.drafted") == 1
    assert outbox(engine) == []  # nothing is sent for a draft


def test_the_same_update_twice_creates_nothing_new(service: ClaimsService, engine: Engine) -> None:
    first = service.start_claim(intake("boat show today 4 hours"))
    second = service.start_claim(intake("boat show today 4 hours"))
    assert second.duplicate and second.claim.id == first.claim.id
    assert count(engine, Claim) == 1
    assert count(engine, AuditEntry, action="claim.drafted") == 1


def test_an_unknown_sender_is_told_how_to_link_and_nothing_is_stored(
    service: ClaimsService, engine: Engine
) -> None:
    with pytest.raises(NotLinked, match="/start"):
        service.start_claim(intake("boat show today", sender=Sender(999)))
    assert count(engine, Claim) == 0


@pytest.mark.parametrize("text", ["", "   ", "📸🚤👍", "!!!"])
def test_text_without_words_and_no_photo_is_refused_kindly(
    service: ClaimsService, engine: Engine, text: str
) -> None:
    with pytest.raises(ClaimError, match="couldn't find an activity"):
        service.start_claim(intake(text))
    assert count(engine, Claim) == 0


def test_a_photo_alone_starts_a_draft_that_asks_for_the_kind(service: ClaimsService) -> None:
    view = service.start_claim(intake("📸", attachments=(Attachment(b"img", "image/jpeg"),))).claim
    assert view.status == "draft" and "kind" in view.needs and "no_text" in view.flags


def test_absurd_hours_in_the_message_are_flagged_not_stored(service: ClaimsService) -> None:
    view = service.start_claim(intake("boat show today 400 hours")).claim
    assert view.hours is None and "hours_out_of_range" in view.flags


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"hours": -3}, "negative"),
        ({"hours": 25}, "more than 24"),
        ({"date": dt.date(2026, 12, 25)}, "future"),
        ({"kind": "juggling"}, "kind"),
        ({"category": "nope"}, "category"),
    ],
)
def test_bad_corrections_are_refused_with_a_reason(
    service: ClaimsService, change: dict[str, object], words: str
) -> None:
    view = service.start_claim(intake("boat show today 4 hours")).claim
    with pytest.raises(ClaimError, match=words):
        service.update_draft(view.id, JANE, **change)
    assert service.claim(view.id).hours == 4


def test_submit_then_accept_updates_the_balance(service: ClaimsService, engine: Engine) -> None:
    view = service.start_claim(intake("IIMS training day yesterday 7 hours")).claim
    view = service.update_draft(view.id, JANE, hours=6)
    assert view.proposed_points == 5
    pending = service.submit(view.id, JANE)
    assert pending.status == "pending"
    assert [p.id for p in service.pending()] == [view.id]
    messages = outbox(engine)
    assert [(m.template, address_of(engine, m, SECRETARY_CHAT)) for m in messages] == [
        ("message", "101"),
        ("secretary_card", str(SECRETARY_CHAT)),
    ]
    assert "will be verified soon" in messages[0].payload["text"]
    assert "Jane Surveyor" in messages[1].payload["text"]

    decision = service.decide(view.id, SAM, "accept")
    assert decision.applied and decision.claim.awarded_points == 5
    assert decision.message == (
        f"Claim #{view.id} accepted: 5 points added — you need 5 more by 31 December 2026."
    )
    _, _, evaluation = service.progress(JANE)
    assert evaluation.total == 5
    templates = [m.template for m in outbox(engine)]
    assert templates == ["message", "secretary_card", "message", "card_update"]
    assert count(engine, AuditEntry, action="claim.accepted") == 1


def test_accept_with_other_points_and_decline_with_reason(service: ClaimsService) -> None:
    first = service.submit(
        service.start_claim(intake("a walk round a shipyard", "k1")).claim.id, JANE
    )
    second = service.submit(service.start_claim(intake("boat show today", "k2")).claim.id, JANE)
    with pytest.raises(ClaimError, match="reason"):
        service.decide(second.id, SAM, "decline", reason=" ")
    with pytest.raises(ClaimError, match="0 to 100"):
        service.decide(first.id, SAM, "accept_points", points=-1)
    assert service.decide(first.id, SAM, "accept_points", points=2).claim.awarded_points == 2
    declined = service.decide(second.id, SAM, "decline", reason="No evidence of attendance")
    assert declined.claim.status == "declined"
    assert "No evidence of attendance" in declined.message
    assert service.progress(JANE)[2].total == 2


def test_a_forged_decision_by_a_member_is_refused_and_logged(
    service: ClaimsService, engine: Engine
) -> None:
    view = service.submit(service.start_claim(intake("boat show today")).claim.id, JANE)
    with pytest.raises(NotAllowed):
        service.decide(view.id, JANE, "accept")
    with pytest.raises(NotAllowed):
        service.decide(view.id, Sender(999), "accept")
    assert service.claim(view.id).status == "pending"
    assert count(engine, AuditEntry, action="decision.refused") == 2


def test_two_secretaries_at_once_exactly_one_decision_stands(service: ClaimsService) -> None:
    view = service.submit(service.start_claim(intake("boat show today")).claim.id, JANE)
    results = []
    barrier = threading.Barrier(2)

    def tap(who: Sender, action: str) -> None:
        barrier.wait()
        results.append(service.decide(view.id, who, action, reason="duplicate claim"))

    threads = [
        threading.Thread(target=tap, args=(SAM, "accept")),
        threading.Thread(target=tap, args=(SUE, "decline")),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    applied = [r for r in results if r.applied]
    refused = [r for r in results if not r.applied]
    assert len(applied) == 1 and len(refused) == 1
    final = service.claim(view.id)
    assert final.status == applied[0].claim.status
    assert f"already {final.status} by {final.decided_by}" in refused[0].message


def test_withdraw_a_pending_claim(service: ClaimsService) -> None:
    view = service.submit(service.start_claim(intake("boat show today")).claim.id, JANE)
    with pytest.raises(NotAllowed):
        service.withdraw(view.id, SAM)  # not the owner
    assert service.withdraw(view.id, JANE).status == "withdrawn"
    late = service.decide(view.id, SAM, "accept")
    assert not late.applied and "already withdrawn" in late.message
    with pytest.raises(ClaimError):
        service.withdraw(view.id, JANE)


def test_imi_needs_the_new_knowledge_reflection_before_submission(service: ClaimsService) -> None:
    view = service.start_claim(
        intake("IMI EV course today 3 hours passed the test", sender=TOM)
    ).claim
    assert "reflection" in view.needs and view.proposed_points == 0
    with pytest.raises(ClaimError, match="New knowledge and skills"):
        service.submit(view.id, TOM)
    view = service.update_draft(
        view.id,
        TOM,
        reflections={
            "new_knowledge": "Isolation procedure for HV systems",
            "impact": "Fewer comebacks",
        },
    )
    assert view.proposed_points == 3 + 1 + 4
    assert service.submit(view.id, TOM).status == "pending"


def test_a_linked_invite_cannot_be_used_twice(service: ClaimsService, engine: Engine) -> None:
    from cpd.claims.members import create_invite

    token, _ = create_invite(engine, "M1", dt.timedelta(days=1))
    assert service.link_telegram(token, 555).membership_no == "M1"
    with pytest.raises(NotAllowed, match="already been used"):
        service.link_telegram(token, 556)
    with pytest.raises(NotAllowed, match="not valid"):
        service.link_telegram("forged-token", 557)
    assert service.member_for(Sender(555)).membership_no == "M1"
    assert service.member_for(Sender(101)) is None  # the link moved to the new account
