"""Operators' commands that tell members things or delete things: ``cpd audit sample``,
``cpd period-end`` and ``cpd purge``. Each is safe to repeat, each has ``--dry-run`` (who would
be told what, nothing queued or recorded), and ``--now`` may not be later than the real time
unless it is a dry run."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from typing import Annotated

import typer

from cpd import rules
from cpd.cli_common import UserError, moment_option, open_engine, settings


def audit_sample_command(
    scheme: Annotated[str, typer.Option("--scheme")],
    cycle: Annotated[int, typer.Option("--cycle", help="the year the cycle started")],
    fraction: Annotated[float | None, typer.Option("--fraction", help="share to select")] = None,
    seed: Annotated[int | None, typer.Option("--seed", help="redraw a logged sample")] = None,
    redraw: Annotated[
        bool,
        typer.Option(
            "--redraw",
            help="draw again although the cycle has a sample: adds members not yet selected "
            "(those selected before stay selected and are not mailed again); logged",
        ),
    ] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="show who would be selected; queue nothing")
    ] = False,
    now: Annotated[
        str | None, typer.Option("--now", help="ISO date-time of the draw (default: now)")
    ] = None,
) -> None:
    """Select members at random for the CPD audit of a cycle and email them the instructions.

    A cycle is sampled once: running this again prints the logged sample and queues nothing."""
    from cpd.claims.period_end import audit_sample

    config = settings()
    chosen = rules.load_scheme(scheme)
    if fraction is not None:
        share = fraction
    elif chosen.audit is not None:
        share = chosen.audit.default_fraction
    else:
        raise UserError(f"scheme {scheme!r} has no audit; give --fraction to sample anyway")
    if not 0 < share <= 1:
        raise UserError("--fraction must be above 0 and at most 1")
    moment = moment_option(now, config.zone, dry_run)
    this_year = moment.astimezone(config.zone).year
    if not 1900 <= cycle <= this_year:
        raise UserError(f"--cycle: {cycle} is not a cycle that has started (1900-{this_year})")
    as_of = moment.astimezone(config.zone).date() if now is not None else None
    sample = audit_sample(
        open_engine(config),
        scheme,
        cycle,
        share,
        seed,
        as_of=as_of,
        redraw=redraw,
        dry_run=dry_run,
    )
    typer.echo(json.dumps(dataclasses.asdict(sample), indent=2))
    if sample.status == "existing":
        typer.echo(
            f"cycle {cycle} already has a sample (seed {sample.seed}); nothing queued; "
            "--redraw draws again",
            err=True,
        )
    elif sample.status == "dry-run":
        typer.echo(
            f"dry run: would select {len(sample.new)} and mail them; nothing recorded "
            f"(--seed {sample.seed} draws the same)",
            err=True,
        )


def period_end(
    now: Annotated[str | None, typer.Option("--now", help="ISO date-time (default: now)")] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="list who would be told what; queue nothing")
    ] = False,
) -> None:
    """Tell members whose period ended yesterday where they finished; draw IMI audits.

    `cpd run` does this every night; running it again changes nothing."""
    from cpd.claims.period_end import close_periods

    config = settings()
    moment = moment_option(
        now, config.zone, dry_run, not_before=dt.timedelta(days=config.retention_days)
    )
    report = close_periods(open_engine(config), moment, config.zone, dry_run=dry_run)
    if dry_run:
        for number, channel, text in report.notices:
            typer.echo(f"would tell {number} by {channel}: {text}")
        typer.echo(
            f"dry run: periods closing on {report.closing_day}: {len(report.notices)} "
            f"member(s) would be told ({len(report.told) - len(report.notices)} already told)"
            + "".join(
                f"; audit {a.scheme} {a.cycle}: would select {len(a.new)} "
                f"({', '.join(a.new) or 'nobody'})"
                for a in report.audits
            )
        )
        return
    typer.echo(
        f"periods closing on {report.closing_day}: {len(report.told)} member(s) told"
        + "".join(
            f"; audit {a.scheme} {a.cycle}: {len(a.selected)} selected (seed {a.seed})"
            for a in report.audits
        )
    )


def purge(
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="count what would be purged; delete nothing")
    ] = False,
) -> None:
    """Delete processed-message keys and delivered outbox rows older than CPD_RETENTION_DAYS
    and expire drafts untouched for CPD_DRAFT_RETENTION_DAYS (the audit log is kept).

    `cpd run` does this every night after the period end."""
    from cpd.claims.retention import purge as run_purge

    config = settings()
    report = run_purge(open_engine(config), config.evidence_dir, config.retention, dry_run=dry_run)
    typer.echo(report.line())
