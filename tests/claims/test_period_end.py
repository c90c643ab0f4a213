"""Period ends at their boundaries in the body's time zone, run twice; IMI audit samples."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select

from cpd.claims.members import import_members, parse_members_csv
from cpd.claims.period_end import audit_sample, close_periods
from cpd.storage import AuditEntry, Claim, OutboxMessage, transaction
from cpd.storage.queries import member_by_number
from tests.support.outbox import address_of

LONDON = zoneinfo.ZoneInfo("Europe/London")
MEMBERS = """membership_no,name,email,scheme,grade,joined,role
A1,Ann Surveyor,ann@example.com,iims,member,2019-05-01,member
A2,Bob Surveyor,bob@example.com,iims,member,2019-05-01,member
L1,Lee Leapday,lee@example.com,iims,member,2024-12-31,member
T1,Tom Technician,tom@example.com,imi,member,2024-05-01,member
T2,Tia Technician,tia@example.com,imi,member,2025-03-31,member
R1,Rex Retired,rex@example.com,imi,retired,2024-06-01,member
"""


@pytest.fixture
def register(engine: Engine) -> Engine:
    import_members(engine, parse_members_csv(MEMBERS, "iims"))
    with transaction(engine) as session:
        ann = member_by_number(session, "A1")
        for i in range(3):  # 15 points in 2026: 3 carry, 2 lost
            session.add(
                Claim(
                    member_id=ann.id,
                    channel="cli",
                    source_key=f"a{i}",
                    kind="training",
                    provider="institute",
                    status="accepted",
                    start_date=dt.date(2026, 3, 1 + i),
                )
            )
        tom = member_by_number(session, "T1")
        session.add(
            Claim(
                member_id=tom.id,
                channel="cli",
                source_key="t",
                kind="training",
                hours=20,
                status="accepted",
                start_date=dt.date(2026, 5, 1),
                reflections={"new_knowledge": "EV safety"},
            )
        )
    return engine


def local(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=LONDON)


def messages(engine: Engine) -> dict[str, str]:
    with Session(engine) as session:
        rows = session.exec(select(OutboxMessage)).all()
        return {
            address_of(engine, r) or "": r.payload["text"]
            for r in rows
            if r.template == "period_end"
        }


def test_nothing_at_2359_on_31_december_everything_at_0000(register: Engine) -> None:
    before = close_periods(register, local(2026, 12, 31, 23, 59), LONDON)
    assert before.told == [] and messages(register) == {}
    after = close_periods(register, local(2027, 1, 1, 0, 0), LONDON)
    assert sorted(after.told) == ["A1", "A2", "L1"]
    again = close_periods(register, local(2027, 1, 1, 0, 30), LONDON)
    assert sorted(again.told) == ["A1", "A2", "L1"]
    sent = messages(register)
    assert len(sent) == 3  # the second run queued nothing new
    assert sent["ann@example.com"] == (
        "Your CPD period 2026 has closed: 15 points of 10, target met. 3 points carry forward "
        "into the new period; 2 points could not be carried."
    )
    assert sent["bob@example.com"].endswith("Nothing carries forward into the new period.")
    assert "10 points short of the target" in sent["bob@example.com"]


def test_utc_midnight_is_not_london_midnight_in_summer(register: Engine) -> None:
    # 31 March 2027 23:30 UTC is already 1 April 00:30 in London (BST): the IMI cycle that
    # started on 1 April 2024 has closed.
    utc = dt.datetime(2027, 3, 31, 23, 30, tzinfo=dt.UTC)
    report = close_periods(register, utc, LONDON, audit_seed=7)
    assert report.closing_day == dt.date(2027, 3, 31)
    assert sorted(report.told) == ["R1", "T1", "T2"]
    assert [(a.scheme, a.cycle, a.seed, a.eligible) for a in report.audits] == [("imi", 2024, 7, 2)]
    assert "20 credits of 90" in messages(register)["tom@example.com"]
    assert close_periods(register, utc - dt.timedelta(hours=1), LONDON).told == []


def test_a_member_joining_on_the_last_day_of_a_leap_year(register: Engine) -> None:
    report = close_periods(register, local(2025, 1, 1, 0, 1), LONDON)
    assert "L1" in report.told
    # T2 joined on 31 March 2025, the last day of the IMI year: first cycle 2024-2027, pro rata
    close_periods(register, local(2027, 4, 1, 0, 1), LONDON)
    assert "of 70" in messages(register)["tia@example.com"]


def audit_mails(engine: Engine) -> list[str]:
    with Session(engine) as session:
        rows = session.exec(select(OutboxMessage).where(OutboxMessage.template == "audit")).all()
    return sorted(address_of(engine, r) or "" for r in rows)


def sampled_rows(engine: Engine) -> list[AuditEntry]:
    with Session(engine) as session:
        query = select(AuditEntry).where(AuditEntry.action == "audit.sampled")
        return list(session.exec(query.order_by(AuditEntry.id)).all())


def test_audit_sample_is_reproducible_and_never_repeats_a_member(register: Engine) -> None:
    first = audit_sample(register, "imi", 2024, fraction=0.5, seed=1234)
    assert first.eligible == 2 and len(first.selected) == 1  # T2 and T1; R1 is retired
    assert (first.status, first.new, first.queued) == ("drawn", first.selected, 1)
    [logged] = sampled_rows(register)
    assert logged.details["seed"] == 1234 and logged.details["selected"] == first.selected
    second = audit_sample(register, "imi", 2024, fraction=0.5, seed=1234, redraw=True)
    assert second.status == "redrawn" and second.new
    assert set(second.new).isdisjoint(first.selected)
    assert second.selected == first.selected + second.new
    assert sampled_rows(register)[-1].details["earlier_seeds"] == [1234]
    third = audit_sample(register, "imi", 2024, fraction=0.5, seed=99, redraw=True)
    assert third.new == [] and third.queued == 0
    audits = audit_mails(register)
    assert audits == ["tia@example.com", "tom@example.com"]
    with Session(register) as session:
        text = session.exec(select(OutboxMessage).where(OutboxMessage.template == "audit")).first()
    assert "selected at random" in text.payload["text"]


def test_a_second_sample_of_a_cycle_prints_the_first_and_queues_nothing(register: Engine) -> None:
    first = audit_sample(register, "imi", 2024, fraction=0.5, seed=5)
    for seed in (None, 5, 77):
        again = audit_sample(register, "imi", 2024, fraction=0.5, seed=seed)
        assert (again.status, again.selected, again.new, again.queued, again.seed) == (
            "existing",
            first.selected,
            [],
            0,
            5,
        )
    assert len(audit_mails(register)) == 1 and len(sampled_rows(register)) == 1


def test_concurrent_samples_of_one_cycle_draw_once(register: Engine) -> None:
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(4) as pool:
        samples = list(pool.map(lambda s: audit_sample(register, "imi", 2024, 0.5, s), range(4)))
    assert sorted(s.status for s in samples) == ["drawn", "existing", "existing", "existing"]
    assert len(sampled_rows(register)) == 1 and len(audit_mails(register)) == 1


def test_a_dry_run_sample_draws_the_same_as_the_real_one_and_records_nothing(
    register: Engine,
) -> None:
    dry = audit_sample(register, "imi", 2024, fraction=0.5, seed=3, dry_run=True)
    assert dry.status == "dry-run" and len(dry.new) == 1
    assert audit_mails(register) == [] and sampled_rows(register) == []
    real = audit_sample(register, "imi", 2024, fraction=0.5, seed=3)
    assert real.new == dry.new and len(audit_mails(register)) == 1


def test_a_dry_run_period_end_says_who_would_be_told_and_queues_nothing(
    register: Engine,
) -> None:
    utc = dt.datetime(2027, 3, 31, 23, 30, tzinfo=dt.UTC)
    dry = close_periods(register, utc, LONDON, audit_seed=7, dry_run=True)
    assert sorted(n for n, _, _ in dry.notices) == ["R1", "T1", "T2"]
    assert all(channel == "email" for _, channel, _ in dry.notices)
    assert [(a.status, len(a.new)) for a in dry.audits] == [("dry-run", 1)]
    assert messages(register) == {} and audit_mails(register) == []
    assert sampled_rows(register) == []
    real = close_periods(register, utc, LONDON, audit_seed=7)
    assert sorted(n for n, _, _ in real.notices) == ["R1", "T1", "T2"]
    assert real.audits[0].new == dry.audits[0].new
    after = close_periods(register, utc, LONDON, dry_run=True)
    assert after.notices == [] and after.audits == []  # told already, sample drawn


def test_the_same_seed_over_the_same_register_draws_the_same(db_url: str, tmp_path) -> None:
    from cpd.storage import make_engine, migrate

    draws = []
    for n in range(2):  # two fresh registers with the same members
        engine = make_engine(f"sqlite:///{tmp_path / f'r{n}.sqlite3'}")
        migrate(engine)
        import_members(engine, parse_members_csv(MEMBERS, "iims"))
        draws.append(audit_sample(engine, "imi", 2024, fraction=0.5, seed=42).selected)
        engine.dispose()
    assert draws[0] == draws[1] and len(draws[0]) == 1
