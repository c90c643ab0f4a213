"""Follow-ups (issue 15) at their boundaries, each run twice: a draft's reminder after a day
and its expiry after 14, the IMI impact question 8 weeks after an accepted claim (and its
credit when the member adds it), the IBMS warnings 60, 30 and 7 days before activities drop
out of the two-year window. Timings come from the scheme files."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from pathlib import Path

import pytest
from sqlalchemy import Engine, update
from sqlmodel import Session, select

from cpd import rules
from cpd.claims.followups import run_followups
from cpd.claims.intake import ClaimError, Intake, Sender
from cpd.claims.members import create_invite, import_members, parse_members_csv
from cpd.claims.service import ClaimsService
from cpd.storage import AuditEntry, Claim, OutboxMessage
from tests.claims.conftest import NOW
from tests.support.extractor import StubExtractor
from tests.support.mail_intake import mail_intake
from tests.support.outbox import address_of

ZONE = zoneinfo.ZoneInfo("Europe/London")
MEMBERS = """membership_no,name,email,scheme,grade,joined,role
M1,Jane Surveyor,jane@example.com,iims,member,2019-05-01,member
S1,Sam Secretary,sam@example.com,iims,member,2015-01-01,secretary
T1,Tom Technician,tom@example.com,imi,member,2024-05-01,member
T2,Tess Mechanic,tess@example.com,imi,member,2024-05-01,member
B1,Bea Scientist,bea@example.com,ibms,member,2020-01-01,member
"""
JANE, SAM, TOM, BEA = Sender(101), Sender(201), Sender(301), Sender(401)
TESS = Sender(email="tess@example.com")


@pytest.fixture
def service(engine: Engine, tmp_path: Path) -> ClaimsService:
    import_members(engine, parse_members_csv(MEMBERS, "iims"))
    svc = ClaimsService(engine, StubExtractor(), tmp_path / "ev", ZONE, -1001, clock=lambda: NOW)
    for number, telegram_id in (("M1", 101), ("S1", 201), ("T1", 301), ("B1", 401)):
        token, _ = create_invite(engine, number, dt.timedelta(days=1))
        svc.link_telegram(token, telegram_id)
    return svc


def run(engine: Engine, day: dt.date) -> int:
    """A follow-up run on ``day`` (09:10 local), twice: how many the first one told."""
    now = dt.datetime.combine(day, dt.time(9, 10), ZONE)
    first = run_followups(engine, ZONE, now, day)
    second = run_followups(engine, ZONE, now, day)
    assert sum(second.told.values()) == 0 and second.expired == 0  # idempotent
    return sum(first.told.values())


def outbox(engine: Engine, template: str | None = None) -> list[OutboxMessage]:
    with Session(engine) as session:
        rows = session.exec(select(OutboxMessage).order_by(OutboxMessage.id)).all()
    return [
        r for r in rows if r.dedup_key.startswith("followup:") and template in (None, r.template)
    ]


def audit(engine: Engine, action: str) -> list[AuditEntry]:
    with Session(engine) as session:
        return list(session.exec(select(AuditEntry).where(AuditEntry.action == action)).all())


def status(engine: Engine, claim_id: int) -> str:
    with Session(engine) as session:
        claim = session.get(Claim, claim_id)
        assert claim is not None
        return claim.status


def test_a_draft_is_reminded_once_after_a_day_and_expires_after_fourteen(
    service: ClaimsService, engine: Engine
) -> None:
    timing = rules.load_scheme("iims").follow_ups
    assert (timing.draft_reminder_after_days, timing.draft_expires_after_days) == (1, 14)
    view = service.start_claim(Intake("telegram", "t:1", JANE, "boat show today 4h", NOW)).claim
    with Session(engine) as session:  # made on 23 November (the row's default is real time)
        session.exec(update(Claim).where(Claim.id == view.id).values(created_at=NOW))
        session.commit()
    made = NOW.date()
    assert run(engine, made) == 0
    assert run(engine, made + dt.timedelta(days=1)) == 1
    (reminder,) = outbox(engine)
    assert address_of(engine, reminder) == "101" and "is still a draft" in reminder.payload["text"]
    assert "7 December 2026" in reminder.payload["text"]
    assert run(engine, made + dt.timedelta(days=5)) == 0  # once, not daily
    assert run(engine, made + dt.timedelta(days=13)) == 0
    assert status(engine, view.id) == "draft"
    assert run(engine, made + dt.timedelta(days=14)) == 1
    assert status(engine, view.id) == "withdrawn"
    assert service.claim(view.id).decision_reason == "expired: not submitted within 14 days"
    assert [a.claim_id for a in audit(engine, "claim.expired")] == [view.id]
    assert "lapsed after 14 days" in outbox(engine)[-1].payload["text"]


def accepted_imi_claim(service: ClaimsService, sender: Sender, key: str, by_mail: bool) -> int:
    text = "IMI course today 3 hours"
    if by_mail:
        assert sender.email is not None
        message_id = key.removeprefix("email:")
        outcome = service.receive_mail(mail_intake(text, sender.email, message_id, NOW, subject=""))
        assert outcome.claim is not None
        claim_id = outcome.claim.id  # pending at once (a claim by mail)
    else:
        claim_id = service.start_claim(Intake("telegram", key, sender, text, NOW)).claim.id
        service.update_draft(claim_id, sender, reflections={"new_knowledge": "Diagnostics"})
        service.submit(claim_id, sender)
    decision = service.decide(claim_id, SAM, "accept")
    assert decision.applied
    return claim_id


def test_imi_members_are_asked_about_impact_eight_weeks_after_and_earn_its_credit(
    service: ClaimsService, engine: Engine
) -> None:
    scheme = rules.load_scheme("imi")
    weeks, credit = scheme.follow_ups.impact_after_weeks, scheme.extras.reflections["impact"]
    assert weeks == 8 and credit == 4
    claim_id = accepted_imi_claim(service, TOM, "t:1", by_mail=False)
    before = service.claim(claim_id).awarded_points or 0
    due = NOW.date() + dt.timedelta(weeks=weeks)
    assert run(engine, due - dt.timedelta(days=1)) == 0
    assert run(engine, due) == 1
    (asked,) = outbox(engine, "impact_followup")
    assert address_of(engine, asked) == "301" and asked.payload["claim_id"] == claim_id
    assert "4 credits more" in asked.payload["text"]
    assert asked.payload["button"] == scheme.follow_ups.impact_button
    view, said = service.add_reflection(claim_id, TOM, "impact", "We fixed faults twice as fast")
    assert view.awarded_points == before + credit and "earned 4 credits" in said
    assert run(engine, due + dt.timedelta(days=1)) == 0  # it has its impact now
    with pytest.raises(ClaimError):
        service.add_reflection(claim_id, TOM, "impact", "And again it was very good")
    assert len(audit(engine, "claim.impact_added")) == 1


def test_by_mail_a_reply_to_the_impact_question_adds_it(
    service: ClaimsService, engine: Engine
) -> None:
    claim_id = accepted_imi_claim(service, TESS, "email:<c1@x>", by_mail=True)
    before = service.claim(claim_id).awarded_points or 0
    due = NOW.date() + dt.timedelta(weeks=8)
    assert run(engine, due) == 1
    (asked,) = [r for r in outbox(engine) if r.channel == "email"]
    local = asked.payload["message_id_local"]
    assert TESS.email is not None
    answer = mail_intake(
        "It made my diagnosis much quicker",
        TESS.email,
        "<r1@x>",
        NOW,
        subject="",
        in_reply_to=f"<{local}@example.com>",
    )
    outcome = service.receive_mail(answer)
    assert outcome.outcome == "amended"
    assert service.claim(claim_id).awarded_points == before + 4


def test_ibms_members_are_warned_60_30_and_7_days_before_activities_drop_out(
    service: ClaimsService, engine: Engine
) -> None:
    assert rules.load_scheme("ibms").follow_ups.window_warning_days == [60, 30, 7]
    view = service.start_claim(Intake("telegram", "t:1", BEA, "lab course 3 hours", NOW)).claim
    day = dt.date(2025, 3, 10)
    service.update_draft(view.id, BEA, date=day, reflections={"new_knowledge": "Staining"})
    service.submit(view.id, BEA)
    assert service.decide(view.id, SAM, "accept").applied
    drop = dt.date(2027, 3, 10)
    told = []
    for step in (60, 30, 7):
        warn = drop - dt.timedelta(days=step)
        assert run(engine, warn - dt.timedelta(days=1)) == 0, step
        assert run(engine, warn) == 1, step
        told.append(outbox(engine)[-1].payload["text"])
    assert len(outbox(engine)) == 3
    assert "drops out on 10 March 2027, in 60 days" in told[0]
    assert "in 7 days" in told[2] and "2-year window" in told[2]
