"""The product's scheduled jobs, run by `cpd run` whatever channels are on: the nightly period
end followed by the retention purge (under the settings' CPD_RETENTION_DAYS /
CPD_DRAFT_RETENTION_DAYS), and the weekly nudges on CPD_NUDGE_CRON in the body's time zone."""

from __future__ import annotations

import asyncio
import datetime as dt
import zoneinfo
from pathlib import Path

from sqlalchemy import Engine, select
from sqlmodel import Session

from cpd.claims.service import ClaimsService
from cpd.claims.workflows import Workflows
from cpd.schedule import build_scheduler, nightly
from cpd.settings import load_settings
from cpd.storage import ProcessedMessage, transaction
from tests.support.extractor import StubExtractor

NOW = dt.datetime(2026, 11, 23, 10, 0, tzinfo=dt.UTC)


def test_the_nightly_job_purges_what_the_settings_say(engine: Engine, tmp_path: Path) -> None:
    policy = load_settings(retention_days=30).retention
    assert (policy.days, policy.draft_days) == (30, 30)
    service = ClaimsService(
        engine,
        StubExtractor(),
        tmp_path / "evidence",
        zoneinfo.ZoneInfo("Europe/London"),
        clock=lambda: NOW,
        retention=policy,
    )
    with transaction(engine) as session:
        for key, age in (("old", 31), ("young", 29)):
            at = NOW - dt.timedelta(days=age)
            session.add(ProcessedMessage(key=key, channel="telegram", processed_at=at))
    asyncio.run(nightly(service, Workflows(service)))
    with Session(engine) as session:
        assert list(session.execute(select(ProcessedMessage.key)).scalars()) == ["young"]


def test_the_default_retention_is_90_days_for_keys_and_30_for_drafts() -> None:
    policy = load_settings().retention
    assert (policy.days, policy.draft_days) == (90, 30)


LONDON = zoneinfo.ZoneInfo("Europe/London")


def test_jobs_follow_the_nudge_cron_in_the_bodys_time_zone(
    sqlite_engine: Engine, tmp_path: Path
) -> None:
    service = ClaimsService(sqlite_engine, StubExtractor(), tmp_path, LONDON)
    scheduler = build_scheduler(service, "0 9 * * MON", LONDON)
    jobs = {job.id: job for job in scheduler.get_jobs()}
    assert set(jobs) == {
        "period-end",
        "weekly-nudges",
        "mail-nudges",
        "daily-reminders",
        "follow-ups",
    }
    after = dt.datetime(2026, 11, 24, 12, 0, tzinfo=LONDON)  # a Tuesday
    nudge = jobs["weekly-nudges"].trigger.get_next_fire_time(None, after)
    assert nudge == dt.datetime(2026, 11, 30, 9, 0, tzinfo=LONDON)  # the next Monday, 09:00
    summer = jobs["weekly-nudges"].trigger.get_next_fire_time(
        None, dt.datetime(2026, 6, 2, tzinfo=LONDON)
    )
    assert summer.utcoffset() == dt.timedelta(hours=1) and summer.hour == 9  # BST, local 09:00
    period_end = jobs["period-end"].trigger.get_next_fire_time(None, after)
    assert (period_end.hour, period_end.minute) == (0, 5)
    new_year = jobs["period-end"].trigger.get_next_fire_time(
        None, dt.datetime(2026, 12, 31, 23, 0, tzinfo=LONDON)
    )
    assert new_year == dt.datetime(2027, 1, 1, 0, 5, tzinfo=LONDON)
    daily = jobs["daily-reminders"].trigger.get_next_fire_time(None, after)
    assert daily == dt.datetime(2026, 11, 25, 9, 0, tzinfo=LONDON)


def test_mail_reminders_go_on_the_first_monday_of_the_month_by_default(
    sqlite_engine: Engine, tmp_path: Path
) -> None:
    service = ClaimsService(sqlite_engine, StubExtractor(), tmp_path, LONDON)
    default = load_settings().mail_nudge_cron
    assert default == "0 9 1-7 * MON"
    trigger = (
        build_scheduler(service, "0 9 * * MON", LONDON, default).get_job("mail-nudges").trigger
    )
    fires, moment = [], dt.datetime(2026, 11, 24, tzinfo=LONDON)
    for _ in range(4):
        moment = trigger.get_next_fire_time(None, moment + dt.timedelta(minutes=1))
        fires.append(moment)
    assert [f.date() for f in fires] == [
        dt.date(2026, 12, 7),
        dt.date(2027, 1, 4),
        dt.date(2027, 2, 1),
        dt.date(2027, 3, 1),
    ]
    assert all(f.hour == 9 and f.weekday() == 0 for f in fires)


def test_a_failing_period_end_still_purges(engine: Engine, tmp_path: Path) -> None:
    service = ClaimsService(
        engine, StubExtractor(), tmp_path / "evidence", LONDON, clock=lambda: NOW
    )
    with transaction(engine) as session:
        at = NOW - dt.timedelta(days=200)
        session.add(ProcessedMessage(key="old", channel="telegram", processed_at=at))

    class Broken(Workflows):
        def close_periods(self, *args: object, **kwargs: object):  # type: ignore[no-untyped-def]
            raise RuntimeError("period end broke")

    asyncio.run(nightly(service, Broken(service)))
    with Session(engine) as session:
        assert list(session.execute(select(ProcessedMessage.key)).scalars()) == []
