"""``cpd mail``: the operators' view of the SMTP spool's quarantine (``spool/smtp/failed``).

``cpd mail failed`` lists mails that failed to store too often (one line each, or ``--json``);
``cpd mail retry ID`` (or ``--all``) moves them back to ``new/`` for the running ``cpd run``
(or the next one) to try again. An unknown id is one line on stderr and exit 2.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from cpd.mail_ingest.spool import MailSpool
from cpd.settings import load_settings

mail_app = typer.Typer(help="Mail that could not be stored (the quarantine).", no_args_is_help=True)


def _spool() -> MailSpool | None:
    directory: Path = load_settings().data_dir / "spool" / "smtp"
    if not (directory / "failed").is_dir():
        return None
    return MailSpool(directory, clean_tmp=False)


@mail_app.command("failed")
def mail_failed(
    as_json: Annotated[bool, typer.Option("--json", help="one JSON array")] = False,
) -> None:
    """List quarantined mails: id, received time, sender, subject, error."""
    spool = _spool()
    entries = spool.failed_mails() if spool is not None else []
    if as_json:
        typer.echo(json.dumps([e.as_json() for e in entries], indent=2))
        return
    for entry in entries:
        received = entry.received_at.strftime("%Y-%m-%d %H:%M:%S")
        subject = entry.subject or "(no subject)"
        typer.echo(
            f"{entry.id}  {received}  {entry.sender}  {subject!r}  "
            f"{entry.error} ({entry.attempts} attempts)"
        )
    typer.echo(f"{len(entries)} quarantined mail(s)", err=True)


@mail_app.command("retry")
def mail_retry(
    mail_id: Annotated[str | None, typer.Argument(help="an id from `cpd mail failed`")] = None,
    all_: Annotated[bool, typer.Option("--all", help="every quarantined mail")] = False,
) -> None:
    """Move a quarantined mail (or all) back to the spool for another try."""
    if (mail_id is None) == (not all_):
        typer.echo("cpd: error: give one ID from `cpd mail failed`, or --all", err=True)
        raise typer.Exit(2)
    spool = _spool()
    ids = [e.id for e in spool.failed_mails()] if spool is not None and all_ else [mail_id]
    moved = 0
    for one in ids:
        if one is None or spool is None or not spool.retry(one):
            typer.echo(f"cpd: error: no quarantined mail {one!r} (see `cpd mail failed`)", err=True)
            raise typer.Exit(2)
        moved += 1
    typer.echo(f"{moved} mail(s) moved back to the spool; `cpd run` stores them shortly")
