"""The application's wiring: handlers, the paced rate limiter, and the scheduled jobs."""

from __future__ import annotations

import zoneinfo
from pathlib import Path

from sqlalchemy import Engine

from cpd.bot.application import build_application, make_rate_limiter
from cpd.bot.config import BotConfig
from cpd.claims.service import ClaimsService
from tests.support.extractor import StubExtractor

LONDON = zoneinfo.ZoneInfo("Europe/London")


def test_the_bots_own_job_is_the_outbox_delivery(sqlite_engine: Engine, tmp_path: Path) -> None:
    """The period end and the nudges are the app's (cpd.schedule), not the bot's."""
    service = ClaimsService(sqlite_engine, StubExtractor(), tmp_path, LONDON)
    config = BotConfig("1:abc", "http://127.0.0.1:9/bot", "http://127.0.0.1:9/file/bot", -5)
    application = build_application(service, config)
    jobs = {job.name: job for job in application.job_queue.scheduler.get_jobs()}
    assert set(jobs) == {"outbox"}


def test_the_limiter_paces_instead_of_bursting() -> None:
    limiter = make_rate_limiter(5)
    assert limiter._max_retries == 5
    assert limiter._base_limiter.max_rate == 1
    assert abs(limiter._base_limiter.time_period - 1 / 28) < 1e-9
