"""The nightly period-end job runs the retention purge after the period end, under the
service's retention policy (the settings' CPD_RETENTION_DAYS / CPD_DRAFT_RETENTION_DAYS)."""

from __future__ import annotations

import asyncio
import datetime as dt
import zoneinfo
from pathlib import Path
from types import SimpleNamespace

from sqlalchemy import Engine, select
from sqlmodel import Session

from cpd.app.settings import load_settings
from cpd.bot import nudges
from cpd.claims.service import ClaimsService
from cpd.claims.workflows import Workflows
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
    context = SimpleNamespace(
        application=SimpleNamespace(bot_data={"service": service, "workflows": Workflows(service)})
    )
    asyncio.run(nudges.close_periods(context))  # type: ignore[arg-type]
    with Session(engine) as session:
        assert list(session.execute(select(ProcessedMessage.key)).scalars()) == ["young"]


def test_the_default_retention_is_90_days_for_keys_and_30_for_drafts() -> None:
    policy = load_settings().retention
    assert (policy.days, policy.draft_days) == (90, 30)
