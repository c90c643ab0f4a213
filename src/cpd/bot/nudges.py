"""Scheduled jobs: the weekly nudge (on ``CPD_NUDGE_CRON`` in the body's time zone, each
member's progress message, delivered by the outbox sender under the rate limiter) and the
nightly period end, followed by the retention purge."""

from __future__ import annotations

import logging

from telegram.ext import ContextTypes

from cpd.bot.common import call, service_of

log = logging.getLogger(__name__)


async def queue_weekly_nudges(context: ContextTypes.DEFAULT_TYPE) -> None:
    """Job: queue this week's nudges (idempotent per day), then let the sender deliver them."""
    count = await call(service_of(context).queue_nudges)
    log.info("queued %d weekly nudges", count)


async def close_periods(context: ContextTypes.DEFAULT_TYPE) -> None:
    """Job (nightly, after midnight in the body's time zone): period ends and audits, then the
    retention purge (which runs even when the period end failed)."""
    try:
        report = await call(context.application.bot_data["workflows"].close_periods)
        log.info(
            "period end %s: %d member(s) told, %d audit sample(s)",
            report.closing_day,
            len(report.told),
            len(report.audits),
        )
    finally:
        await purge_expired(context)


async def purge_expired(context: ContextTypes.DEFAULT_TYPE) -> None:
    """Job: delete processed keys, delivered outbox rows and expired drafts past retention."""
    try:
        report = await call(service_of(context).purge_expired)
    except Exception:
        log.exception("retention purge failed; it runs again tomorrow")
        return
    log.info("retention: %s", report.line())
