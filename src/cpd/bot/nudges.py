"""The weekly nudge: on ``CPD_NUDGE_CRON`` in the body's time zone, queue each member's
progress message; the outbox sender delivers them under the rate limiter."""

from __future__ import annotations

import logging

from telegram.ext import ContextTypes

from cpd.bot.member import call, service_of

log = logging.getLogger(__name__)


async def queue_weekly_nudges(context: ContextTypes.DEFAULT_TYPE) -> None:
    """Job: queue this week's nudges (idempotent per day), then let the sender deliver them."""
    count = await call(service_of(context).queue_nudges)
    log.info("queued %d weekly nudges", count)
