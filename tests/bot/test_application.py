"""The application's wiring: handlers, the paced rate limiter, and the scheduled jobs."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from pathlib import Path

from sqlalchemy import Engine

from cpd.bot.application import build_application, make_rate_limiter
from cpd.bot.config import BotConfig
from cpd.claims.service import ClaimsService
from tests.support.extractor import StubExtractor

LONDON = zoneinfo.ZoneInfo("Europe/London")


def test_jobs_follow_the_nudge_cron_in_the_bodys_time_zone(
    sqlite_engine: Engine, tmp_path: Path
) -> None:
    service = ClaimsService(sqlite_engine, StubExtractor(), tmp_path, LONDON)
    config = BotConfig(
        "1:abc", "http://127.0.0.1:9/bot", "http://127.0.0.1:9/file/bot", -5, "0 9 * * MON", LONDON
    )
    application = build_application(service, config)
    jobs = {job.name: job for job in application.job_queue.scheduler.get_jobs()}
    assert set(jobs) == {"outbox", "period-end", "weekly-nudges"}
    after = dt.datetime(2026, 11, 24, 12, 0, tzinfo=LONDON)  # a Tuesday
    nudge = jobs["weekly-nudges"].trigger.get_next_fire_time(None, after)
    assert nudge == dt.datetime(2026, 11, 30, 9, 0, tzinfo=LONDON)  # the next Monday, 09:00
    summer = jobs["weekly-nudges"].trigger.get_next_fire_time(
        None, dt.datetime(2026, 6, 2, tzinfo=LONDON)
    )
    assert summer.utcoffset() == dt.timedelta(hours=1) and summer.hour == 9  # BST, local 09:00
    period_end = jobs["period-end"].trigger.get_next_fire_time(None, after)
    assert (period_end.hour, period_end.minute) == (0, 5)


def test_the_limiter_paces_instead_of_bursting() -> None:
    limiter = make_rate_limiter(5)
    assert limiter._max_retries == 5
    assert limiter._base_limiter.max_rate == 1
    assert abs(limiter._base_limiter.time_period - 1 / 28) < 1e-9
