"""Reminder runs on SQLite and PostgreSQL: who gets what in which channel, each once."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select

from cpd.claims.instances import Instances
from cpd.claims.members import create_invite, import_members, parse_members_csv
from cpd.claims.reminder_run import run_reminders
from cpd.claims.reminder_texts import HowToClaim
from cpd.claims.service import ClaimsService
from cpd.storage import Claim, Dispensation, OutboxMessage, transaction
from cpd.storage import outbox as store
from cpd.storage.queries import member_by_number
from tests.support.extractor import StubExtractor
from tests.support.outbox import address_of

LONDON = zoneinfo.ZoneInfo("Europe/London")
MEMBERS = """membership_no,name,email,scheme,grade,joined,role
A1,Ann Behind,ann@example.com,iims,member,2019-05-01,member
A2,Bob Onpace,bob@example.com,iims,member,2019-05-01,member
A3,Cat Telegram,cat@example.com,iims,member,2019-05-01,member
A4,Dan Muted,dan@example.com,iims,member,2019-05-01,member
A5,Eve Dispensed,eve@example.com,iims,member,2019-05-01,member
A6,Fay Nowhere,,iims,member,2019-05-01,member
"""
HOW = HowToClaim("claims@iims.example", "https://cpd.iims.example/")


def at(day: dt.date, hour: int = 9) -> dt.datetime:
    """``hour`` o'clock in London on ``day``."""
    return dt.datetime.combine(day, dt.time(hour), LONDON)


@pytest.fixture
def members(engine: Engine) -> Engine:
    import_members(engine, parse_members_csv(MEMBERS, "iims"))
    token, _ = create_invite(engine, "A3", dt.timedelta(days=1))
    ClaimsService(engine, StubExtractor(), Path("/nonexistent"), LONDON).link_telegram(token, 303)
    with transaction(engine) as session:
        bob = member_by_number(session, "A2")
        for i in range(9):  # 9 of 10 points by October: on pace in November
            session.add(
                Claim(
                    member_id=bob.id,
                    channel="email",
                    source_key=f"bob{i}",
                    kind="exhibition",
                    start_date=dt.date(2026, 10, 20),
                    title="Boat show",
                    status="accepted",
                    awarded_points=1,
                )
            )
        member_by_number(session, "A4").nudges_muted = True
        eve = member_by_number(session, "A5")
        session.add(Dispensation(member_id=eve.id, period_key=2026, status="granted"))
    return engine


def outbox(engine: Engine) -> dict[str, OutboxMessage]:
    with Session(engine) as session:
        return {r.dedup_key: r for r in session.exec(select(OutboxMessage)).all()}


def of(engine: Engine, number: str) -> list[OutboxMessage]:
    with Session(engine) as session:
        member_id = member_by_number(session, number).id
    return [r for k, r in outbox(engine).items() if k.startswith(f"reminder:{member_id}:")]


def test_mail_goes_to_members_not_on_telegram_behind_pace_only(members: Engine) -> None:
    monday = at(dt.date(2026, 11, 2))  # the first Monday of November
    report = run_reminders(members, monday, LONDON, ("email",), HOW)
    (ann,) = of(members, "A1")
    assert ann.channel == "email" and address_of(members, ann) == "ann@example.com"
    assert ann.template == "reminder"
    assert {"subject", "text", "html", "sender_name", "kind", "member_id"} <= set(ann.payload)
    assert ann.payload["kind"] == "reminder"
    assert ann.payload["sender_name"] == "International Institute of Marine Surveying"
    assert "10 points to go by 31 December 2026" in ann.payload["text"]
    assert "claims@iims.example" in ann.payload["text"]
    assert "<p>" in ann.payload["html"]
    (bob,) = of(members, "A2")
    assert bob.dedup_key.endswith(":encourage:2026:2026-11")
    assert "on pace" in bob.payload["text"]
    assert of(members, "A3") == []  # on Telegram: the mail pass is not for her
    assert of(members, "A4") == [] and of(members, "A5") == []
    assert report.queued == 2
    # The encouraging note is once a month: next week's run (and a rerun) adds nothing for Bob.
    again = run_reminders(members, at(dt.date(2026, 11, 9)), LONDON, ("email",), HOW)
    assert [p.membership_no for p in again.planned if p.new] == ["A1"]
    assert len(of(members, "A2")) == 1


def test_a_member_linked_in_telegram_hears_in_telegram_only(members: Engine) -> None:
    monday = at(dt.date(2026, 11, 2))
    run_reminders(members, monday, LONDON, ("telegram", "email", "daily"), HOW)
    (cat,) = of(members, "A3")
    assert cat.channel == "telegram" and address_of(members, cat) == "303"
    assert "CPD progress: 0 points of 10" in cat.payload["text"]


def test_countdowns_at_30_7_and_3_days_each_once(members: Engine) -> None:
    for day in (dt.date(2026, 12, 1), dt.date(2026, 12, 24), dt.date(2026, 12, 28)):
        run_reminders(members, at(day), LONDON, ("daily",), HOW)
        run_reminders(members, at(day, 15), LONDON, ("daily",), HOW)  # twice the same day
    run_reminders(members, at(dt.date(2026, 12, 29)), LONDON, ("daily",), HOW)  # late run
    keys = sorted(k for k in outbox(members) if ":countdown:" in k)
    with Session(members) as session:
        ids = {n: member_by_number(session, n).id for n in ("A1", "A2", "A3", "A4")}
    expected = sorted(
        f"reminder:{ids[n]}:countdown:2026:{step}" for n in ids for step in (30, 7, 3)
    )
    assert keys == expected  # Ann, Bob (short by 1), Cat (Telegram), Dan (muted); not Eve
    (dan_7,) = [r for r in of(members, "A4") if r.dedup_key.endswith(":7")]
    assert dan_7.payload["text"].count("7 days left until 31 December 2026") == 1
    assert "nothing would carry into the next period" in dan_7.payload["text"]


def test_muted_member_no_progress_but_countdown_and_duty(members: Engine) -> None:
    run_reminders(members, at(dt.date(2026, 11, 2)), LONDON, ("telegram", "email"), HOW)
    assert of(members, "A4") == []
    run_reminders(members, at(dt.date(2026, 12, 1)), LONDON, ("daily",), HOW)
    kinds = sorted(r.dedup_key.split(":")[2] for r in of(members, "A4"))
    assert kinds == ["countdown", "duty"]
    assert of(members, "A5") == []  # the dispensation: nothing at all


def test_a_member_with_no_channel_is_counted_not_told(members: Engine) -> None:
    report = run_reminders(members, at(dt.date(2026, 12, 1)), LONDON, ("daily",), HOW)
    assert report.unreachable == 1
    assert "A6" not in {p.membership_no for p in report.planned}


def test_a_telegram_nudge_queued_at_21_00_is_due_at_08_00(members: Engine) -> None:
    evening = at(dt.date(2026, 11, 23), 21)
    service = ClaimsService(
        members, StubExtractor(), Path("/nonexistent"), LONDON, clock=lambda: evening
    )
    assert service.send_reminders(("telegram", "email")).queued == 3  # Ann, Bob, Cat
    (cat,) = of(members, "A3")
    due = cat.next_attempt_at.replace(tzinfo=cat.next_attempt_at.tzinfo or dt.UTC)
    assert due == at(dt.date(2026, 11, 24), 8)
    assert store.due(members, "telegram", now=at(dt.date(2026, 11, 24), 7)) == []
    assert [m.id for m in store.due(members, "telegram", now=due)] == [cat.id]
    (ann,) = of(members, "A1")  # mail is not held by quiet hours
    assert ann.id in [m.id for m in store.due(members, "email")]


def test_a_dry_run_queues_nothing_and_a_second_run_nothing_new(members: Engine) -> None:
    moment = at(dt.date(2026, 12, 1))
    dry = run_reminders(members, moment, LONDON, how=HOW, dry_run=True)
    assert outbox(members) == {}
    real = run_reminders(members, moment, LONDON, how=HOW)
    assert [(p.membership_no, p.kind) for p in dry.planned] == [
        (p.membership_no, p.kind) for p in real.planned
    ]
    assert real.queued == len(outbox(members)) > 0
    assert run_reminders(members, moment, LONDON, how=HOW).queued == 0


def test_telegram_reminders_due_at_night_wait_for_the_morning_other_messages_do_not(
    members: Engine,
) -> None:
    afternoon = at(dt.date(2026, 11, 23), 15)
    run_reminders(members, afternoon, LONDON, ("telegram",), HOW, queued_at=afternoon)
    (cat,) = of(members, "A3")
    with transaction(members) as session:  # a receipt to Cat, and both long due
        store.enqueue(session, "receipt", "telegram", "303", "message", {"text": "Got it"})
        for row in session.exec(select(OutboxMessage)).all():
            row.next_attempt_at = afternoon.astimezone(dt.UTC)

    sender = Instances(members, "one-sender")  # on PostgreSQL the rows are leased to it

    def due_at(hour: int, day: int = 23) -> list[str]:
        moment = at(dt.date(2026, 11, day), hour)
        service = ClaimsService(
            members,
            StubExtractor(),
            Path("/nonexistent"),
            LONDON,
            clock=lambda: moment,
            instances=sender,
        )
        return sorted(n.template for n in service.due_notifications("telegram"))

    assert due_at(19) == ["message", "reminder"]
    assert due_at(22) == ["message"]  # a retry or a backlog at night: the nudge waits
    assert due_at(7, 24) == ["message"]
    assert due_at(8, 24) == ["message", "reminder"]
