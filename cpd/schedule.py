"""The product's scheduled jobs, run by ``cpd run`` whichever channels are on.

* nightly at 00:05 in ``CPD_TIMEZONE``: the period end (notices, IMI audit samples), the
  expiry of claims by mail held unconfirmed for 7 days, then the retention purge, each
  running even when the one before failed;
* on ``CPD_NUDGE_CRON`` in ``CPD_TIMEZONE``: the Telegram progress nudges;
* on ``CPD_MAIL_NUDGE_CRON``: the mail progress reminders for members not on Telegram (default
  ``0 9 1-7 * MON``: APScheduler ANDs day-of-month and weekday, so the first Monday at 09:00);
* daily at 09:00: deadline countdowns and duty reminders (``claims.reminder_run``);
* daily at 09:10: follow-ups (draft reminders and expiry, impact questions, diploma window
  warnings: ``claims.followups``).

The jobs only queue messages in the outbox; each channel's sender delivers them. They used to
live in the bot's job queue, so that a mail-only ``cpd run`` never closed a period or purged.
Each job is idempotent (the outbox's keys), so a job that runs late or twice tells no one twice.

Several instances: every instance's scheduler fires every job, and each firing first asks the
job ledger (``ClaimsService.instances.claim_run``) for its (job, scheduled time); only the one
instance that gets it runs the job, the others log nothing and do nothing.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import zoneinfo
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger

from cpd.claims.reminder_run import Pass
from cpd.claims.reminder_texts import HowToClaim
from cpd.claims.service import ClaimsService
from cpd.claims.workflows import Workflows
from cpd.settings import Settings

log = logging.getLogger(__name__)

NIGHTLY = dt.time(0, 5)
"""When the nightly job runs, in the body's time zone."""
DAILY_REMINDERS = dt.time(9, 0)
"""When countdowns and duty reminders are queued, in the body's time zone."""
FOLLOW_UPS = dt.time(9, 10)
"""When follow-ups are queued, in the body's time zone."""
MISFIRE_GRACE_SECONDS = 3600
"""A job whose time passed while the process was busy or asleep still runs within this."""


async def nightly(service: ClaimsService, workflows: Workflows) -> None:
    """Period ends and audit samples, expired holds, then the retention purge (each runs even
    if one before it failed)."""
    try:
        report = await asyncio.to_thread(workflows.close_periods)
        log.info(
            "period end %s: %d member(s) told, %d audit sample(s)",
            report.closing_day,
            len(report.told),
            len(report.audits),
        )
    except Exception:
        log.exception("the period end failed; it runs again tomorrow")
    try:
        expired = await asyncio.to_thread(service.expire_unverified)
        log.info("unconfirmed claims by mail withdrawn: %d", expired)
    except Exception:
        log.exception("expiring unconfirmed claims by mail failed; it runs again tomorrow")
    try:
        purged = await asyncio.to_thread(service.purge_expired)
    except Exception:
        log.exception("the retention purge failed; it runs again tomorrow")
        return
    log.info("retention: %s", purged.line())


async def follow_ups(service: ClaimsService) -> None:
    """Queue today's follow-ups (idempotent: the follow-up ledger)."""
    try:
        report = await asyncio.to_thread(service.follow_ups)
    except Exception:
        log.exception("queuing the follow-ups failed; they run again tomorrow")
        return
    log.info("%s", report.line())


def how_to_claim(settings: Settings) -> HowToClaim:
    """What reminder mails say about claiming: the claims address and the portal, if any."""
    return HowToClaim(settings.claims_address, settings.web_url or None)


async def reminders(
    service: ClaimsService, passes: tuple[Pass, ...], how: HowToClaim | None
) -> None:
    """Queue one reminder run (idempotent per moment); the senders deliver them."""
    try:
        report = await asyncio.to_thread(service.send_reminders, passes, None, how)
    except Exception:
        log.exception("queuing the %s reminders failed", "/".join(passes))
        return
    log.info(
        "reminders (%s): %d queued, %d member(s) with no channel",
        "/".join(passes),
        report.queued,
        report.unreachable,
    )


def scheduled_for(trigger: CronTrigger, now: dt.datetime) -> dt.datetime:
    """The firing time of ``trigger`` that a run at ``now`` belongs to: its latest fire time
    at or before ``now`` (within the misfire grace), else ``now`` to the minute."""
    moment = trigger.get_next_fire_time(None, now - dt.timedelta(seconds=MISFIRE_GRACE_SECONDS))
    latest: dt.datetime | None = None
    while moment is not None and moment <= now:
        latest = moment
        moment = trigger.get_next_fire_time(moment, moment + dt.timedelta(microseconds=1))
    return latest or now.replace(second=0, microsecond=0)


async def once_per_schedule(
    service: ClaimsService, job_id: str, trigger: CronTrigger, job: Any, *args: Any
) -> None:
    """Run ``job(*args)`` if this instance wins its scheduled time in the job ledger."""
    moment = scheduled_for(trigger, dt.datetime.now(trigger.timezone))
    instances = service.instances
    try:
        mine = await asyncio.to_thread(instances.claim_run, job_id, moment)
    except Exception:
        log.exception(
            "the %s job of %s could not be claimed; it is left to the next", job_id, moment
        )
        return
    if not mine:
        log.debug("the %s job of %s runs on another instance", job_id, moment)
        return
    try:
        await job(*args)
    finally:
        try:
            await asyncio.to_thread(instances.finish_run, job_id, moment)
        except Exception:
            log.warning("the %s job of %s ended but could not be recorded", job_id, moment)


def build_scheduler(
    service: ClaimsService,
    nudge_cron: str,
    zone: zoneinfo.ZoneInfo,
    mail_nudge_cron: str = "0 9 1-7 * MON",
    how: HowToClaim | None = None,
) -> AsyncIOScheduler:
    """The scheduler with the product's jobs; ``start()`` it on the running loop and
    ``shutdown(wait=False)`` it when stopping."""
    workflows = Workflows(service)
    scheduler = AsyncIOScheduler(timezone=zone)
    jobs: list[tuple[str, Any, CronTrigger, tuple[Any, ...]]] = [
        (
            "period-end",
            nightly,
            CronTrigger(hour=NIGHTLY.hour, minute=NIGHTLY.minute, timezone=zone),
            (service, workflows),
        ),
        (
            "weekly-nudges",
            reminders,
            CronTrigger.from_crontab(nudge_cron, timezone=zone),
            (service, ("telegram",), how),
        ),
        (
            "mail-nudges",
            reminders,
            CronTrigger.from_crontab(mail_nudge_cron, timezone=zone),
            (service, ("email",), how),
        ),
        (
            "daily-reminders",
            reminders,
            CronTrigger(hour=DAILY_REMINDERS.hour, minute=DAILY_REMINDERS.minute, timezone=zone),
            (service, ("daily",), how),
        ),
        (
            "follow-ups",
            follow_ups,
            CronTrigger(hour=FOLLOW_UPS.hour, minute=FOLLOW_UPS.minute, timezone=zone),
            (service,),
        ),
    ]
    for job_id, job, trigger, args in jobs:
        scheduler.add_job(
            once_per_schedule,
            trigger,
            args=(service, job_id, trigger, job, *args),
            id=job_id,
            name=job_id,
            max_instances=1,
            coalesce=True,
            misfire_grace_time=MISFIRE_GRACE_SECONDS,
        )
    return scheduler
