"""``cpd nudges send [--now DATETIME] [--dry-run]``: what the scheduler runs for reminders.

One run covers every pass (Telegram and mail progress nudges, countdowns and duty reminders,
see ``claims.reminder_run``) at the moment given, whatever the cadences say: an operator who
sends the nudges means now. ``--now`` may be in the past (the run as it would have been then)
and never later than the real time, dry run or not, nor further back than
``CPD_RETENTION_DAYS`` (the outbox rows that make a replay harmless are purged by then); a
second run for the same moment queues
nothing new (the outbox keys). ``--dry-run`` prints who would be told what and queues nothing.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import typer

from cpd.cli_common import moment_option, open_engine, settings


def send(
    now: Annotated[
        str | None, typer.Option("--now", help="ISO date-time of the run (default: now)")
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="list who would be told what; queue nothing")
    ] = False,
) -> None:
    """Queue the progress nudges, countdowns and duty reminders due at this moment."""
    from cpd.claims.reminder_run import ALL_PASSES, run_reminders
    from cpd.schedule import how_to_claim

    config = settings()
    moment = moment_option(
        now, config.zone, dry_run=False, not_before=dt.timedelta(days=config.retention_days)
    )
    engine = open_engine(config)
    report = run_reminders(
        engine,
        moment,
        config.zone,
        ALL_PASSES,
        how_to_claim(config),
        queued_at=dt.datetime.now(dt.UTC),
        dry_run=dry_run,
    )
    engine.dispose()
    verb = "would queue" if dry_run else "queued"
    for item in report.planned:
        state = "" if item.new else " (already queued)"
        typer.echo(f"{item.membership_no} {item.channel} {item.kind}: {item.summary}{state}")
    typer.echo(
        f"{'dry run: ' if dry_run else ''}{verb} {report.queued} reminder(s) for "
        f"{moment.astimezone(config.zone).isoformat(timespec='minutes')}; "
        f"{len(report.planned) - report.queued} already queued; "
        f"{report.unreachable} member(s) with no channel",
        err=True,
    )
