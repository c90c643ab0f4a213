"""The scheduled jobs' ledger: one run per (job, scheduled time) among racing instances."""

from __future__ import annotations

import asyncio
import datetime as dt
import threading
import zoneinfo
from pathlib import Path

from apscheduler.triggers.cron import CronTrigger
from sqlalchemy import Engine

from cpd.claims.instances import Instances
from cpd.claims.service import ClaimsService
from cpd.schedule import once_per_schedule, scheduled_for
from cpd.storage import make_engine
from cpd.storage.job_ledger import claim_run, finish_run, runs
from tests.support.extractor import StubExtractor

MONDAY_9 = dt.datetime(2026, 11, 30, 9, 0, tzinfo=dt.UTC)
LONDON = zoneinfo.ZoneInfo("Europe/London")


def test_racing_threads_on_two_engines_run_a_schedule_once(engine: Engine, db_url: str) -> None:
    engines = [engine, make_engine(db_url)]
    won: list[str] = []
    start = threading.Barrier(8)

    def race(n: int) -> None:
        start.wait()
        for moment in (MONDAY_9, MONDAY_9 + dt.timedelta(days=7)):
            if claim_run(engines[n % 2], "weekly-nudges", moment, f"instance-{n}"):
                won.append(f"{moment:%d}")

    threads = [threading.Thread(target=race, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    engines[1].dispose()
    assert sorted(won) == ["07", "30"]  # each scheduled time exactly once
    assert [at for at, _ in runs(engine, "weekly-nudges")] == [
        MONDAY_9,
        MONDAY_9 + dt.timedelta(days=7),
    ]
    assert claim_run(engine, "period-end", MONDAY_9, "instance-0")  # another job is its own


def test_a_run_left_unfinished_by_a_dead_instance_is_taken_over_after_a_while(
    engine: Engine,
) -> None:
    assert claim_run(engine, "daily-reminders", MONDAY_9, "dead")
    assert not claim_run(engine, "daily-reminders", MONDAY_9, "alive")
    assert claim_run(engine, "daily-reminders", MONDAY_9, "alive", dt.timedelta(0))
    finish_run(engine, "daily-reminders", MONDAY_9)
    assert not claim_run(engine, "daily-reminders", MONDAY_9, "third", dt.timedelta(0))


def test_the_scheduled_time_is_the_triggers_latest_firing() -> None:
    trigger = CronTrigger.from_crontab("*/5 * * * *", timezone=LONDON)
    late = dt.datetime(2026, 11, 30, 9, 7, 31, tzinfo=LONDON)
    assert scheduled_for(trigger, late) == dt.datetime(2026, 11, 30, 9, 5, tzinfo=LONDON)


def test_of_three_instances_firing_one_job_one_runs_it(engine: Engine, tmp_path: Path) -> None:
    services = [
        ClaimsService(
            engine, StubExtractor(), tmp_path, LONDON, instances=Instances(engine, f"i{n}")
        )
        for n in range(3)
    ]
    ran: list[str] = []

    async def job(name: str) -> None:
        ran.append(name)

    trigger = CronTrigger.from_crontab("* * * * *", timezone=LONDON)

    async def fire_all() -> None:
        await asyncio.gather(
            *(once_per_schedule(s, "test-job", trigger, job, s.instances.id) for s in services)
        )

    asyncio.run(fire_all())
    assert len(ran) == 1
    [(_, owner)] = runs(engine, "test-job")
    assert owner == ran[0]
