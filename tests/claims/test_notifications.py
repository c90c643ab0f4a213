"""Weekly nudges and outbox bookkeeping."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select

from cpd.claims.intake import Intake, Sender
from cpd.claims.notifications import pace, queue, tell
from cpd.claims.service import ClaimsService
from cpd.storage import Dispensation, Member, OutboxMessage, transaction
from cpd.storage.queries import member_by_number
from tests.claims.conftest import NOW
from tests.support.outbox import address_of


def test_pace_in_words() -> None:
    dec31, today = dt.date(2026, 12, 31), dt.date(2026, 11, 23)
    assert pace(4, dec31, today, "points") == "about one point a week"
    assert pace(2, dec31, today, "points") == "about one point every 3 weeks"
    assert pace(20, dec31, today, "credits") == "about 4 a week"
    assert pace(0, dec31, today, "points") == ""


def nudges(engine: Engine) -> dict[str, str]:
    with Session(engine) as session:
        query = select(OutboxMessage).where(OutboxMessage.dedup_key.contains(":progress:"))
        rows = session.exec(query).all()
        return {address_of(engine, r) or "": r.payload["text"] for r in rows}


def test_nudges_go_to_linked_members_behind_target_only(
    service: ClaimsService, engine: Engine
) -> None:
    # Jane (101) has no claim; Tom (301, IMI) is behind; Sam (201) has a dispensation;
    # Sue (202) muted her nudges.
    with transaction(engine) as session:
        sam = member_by_number(session, "S1")
        session.add(Dispensation(member_id=sam.id, period_key=2026, status="granted"))
        member_by_number(session, "S2").nudges_muted = True
    assert service.queue_nudges(NOW.date()) == 2
    assert service.queue_nudges(NOW.date()) == 0  # idempotent: nothing new for the same day
    sent = nudges(engine)
    assert sorted(sent) == ["101", "301"]
    assert "0 points of 10. 10 points to go by 31 December 2026 (38 days)" in sent["101"]
    assert "it is your duty as a member to reach the target" in sent["101"]
    assert "of 90" in sent["301"]


def test_a_member_at_target_gets_no_nudge(service: ClaimsService, engine: Engine) -> None:
    jane = Sender(101)
    for i in range(2):
        view = service.start_claim(
            Intake("telegram", f"k{i}", jane, "IIMS training day today", NOW)
        ).claim
        service.submit(view.id, jane)
        service.decide(view.id, Sender(201), "accept")
    assert service.progress(jane)[2].met
    service.queue_nudges(NOW.date())
    assert "101" not in nudges(engine)


def test_muting_is_remembered(service: ClaimsService, engine: Engine) -> None:
    service.set_nudges_muted(Sender(101), True)
    with Session(engine) as session:
        assert session.exec(select(Member).where(Member.telegram_user_id == 101)).one().nudges_muted
    service.set_nudges_muted(Sender(101), False)
    service.queue_nudges(NOW.date())
    assert "101" in nudges(engine)


def test_failed_delivery_backs_off_and_is_retried(service: ClaimsService, engine: Engine) -> None:
    service.queue_nudges(NOW.date())
    (first, *_) = service.due_notifications("telegram")
    later = service.delivery_failed(first, "NetworkError: connection refused")
    assert later > dt.datetime.now(dt.UTC)
    assert first.id not in [n.id for n in service.due_notifications("telegram")]
    service.delivery_failed(first, "gone", permanent=True)
    with Session(engine) as session:
        row = session.get(OutboxMessage, first.id)
        assert row.status == "dead" and row.attempts == 2 and row.last_error == "gone"


def test_an_unreachable_channel_never_makes_a_message_give_up(
    service: ClaimsService, engine: Engine
) -> None:
    from cpd.claims.notifications import MAX_ATTEMPTS, Notification

    service.queue_nudges(NOW.date())
    (first, *_) = service.due_notifications("telegram")
    tired = Notification(
        first.id, first.channel, first.recipient, first.template, first.payload, MAX_ATTEMPTS + 5
    )
    service.delivery_failed(tired, "relay unreachable", channel_down=True)
    with Session(engine) as session:
        assert session.get(OutboxMessage, first.id).status == "pending"
    service.delivery_failed(tired, "mailbox unavailable")
    with Session(engine) as session:
        assert session.get(OutboxMessage, first.id).status == "dead"


def test_the_outbox_addresses_roles_resolved_when_delivered(
    service: ClaimsService, engine: Engine
) -> None:
    """A notice is queued for "the member", never a chat id or an address; the sender gets
    the member's address as it is at delivery (one lookup for the batch), none once gone."""
    with transaction(engine) as session:
        jane = member_by_number(session, "M1")
        assert jane is not None and jane.telegram_user_id == 101
        assert tell(session, jane, "notice:1", "Hello")
        with pytest.raises(ValueError, match="must be a role"):
            queue(session, "notice:2", "telegram", "101", "message", {"text": "x"})
    (row,) = service.due_notifications("telegram")
    assert row.recipient == f"member:{jane.id}"
    assert service.addresses("telegram", [row]) == {row.recipient: "101"}
    assert service.addresses("email", [row]) == {row.recipient: "jane@example.com"}
    with transaction(engine) as session:
        moved = member_by_number(session, "M1")
        assert moved is not None
        moved.telegram_user_id, moved.email = None, "jane@new.example.com"
    assert service.addresses("telegram", [row]) == {row.recipient: None}
    assert service.addresses("email", [row]) == {row.recipient: "jane@new.example.com"}
