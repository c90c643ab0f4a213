"""``cpd events import FILE.csv`` (the body's events, for auto-approval) and ``cpd followups
send [--today DATE]`` (what the scheduler runs daily at 09:10: draft reminders and expiry,
impact questions, diploma window warnings; a second run the same day queues nothing new)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated

import typer

from cpd.cli_common import date_option, open_engine, read_input, settings

events_app = typer.Typer(help="The body's own events (auto-approval).", no_args_is_help=True)
followups_app = typer.Typer(help="Follow-ups that earn or save credits.", no_args_is_help=True)


@events_app.command("import")
def events_import(
    file: Annotated[Path, typer.Argument(help="CSV: title,date,points[,kind][,scheme]")],
) -> None:
    """Add the body's events from a CSV file (idempotent on scheme, date and title)."""
    from cpd.claims.events import import_events, parse_events_csv

    config = settings()
    rows = parse_events_csv(read_input(str(file)), config.scheme, source=file.name)
    engine = open_engine(config)
    report = import_events(engine, rows)
    engine.dispose()
    typer.echo(f"{report.added} added, {report.existing} already there")


@followups_app.command("send")
def followups_send(
    today: Annotated[
        str | None, typer.Option("--today", help="YYYY-MM-DD of the run (default: today)")
    ] = None,
) -> None:
    """Queue the follow-ups due today, each once."""
    from cpd.claims.followups import run_followups

    config = settings()
    now = dt.datetime.now(dt.UTC)
    day = date_option(today, "--today") if today else now.astimezone(config.zone).date()
    engine = open_engine(config)
    report = run_followups(engine, config.zone, now, day)
    engine.dispose()
    typer.echo(report.line())
