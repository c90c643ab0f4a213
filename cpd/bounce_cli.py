"""``cpd members bouncing``: members whose mail address bounces (two hard bounces of reminder
mail), one line each; and the bounce line of ``cpd members show``."""

from __future__ import annotations

import typer
from sqlalchemy import Engine

from cpd.claims.mail_control import bounce_state, bouncing_members
from cpd.cli_common import open_engine, settings
from cpd.storage import models


def members_bouncing() -> None:
    """List members whose address bounces: no, name, address, hard bounces, last status."""
    rows = bouncing_members(open_engine(settings()))
    for member, bounce in rows:
        typer.echo(
            f"{member.membership_no}  {member.name}  <{bounce.address}>  "
            f"{bounce.hard_bounces} hard bounce(s)  last {bounce.last_status or '-'} "
            f"on {bounce.last_bounce_at:%Y-%m-%d}"
        )
    typer.echo(f"{len(rows)} member(s) with a bouncing address", err=True)


def bounce_line(engine: Engine, member: models.Member) -> str | None:
    """``Mail: bouncing (2 hard bounces, last 5.1.1 on ...)`` for ``cpd members show``."""
    bounce = bounce_state(engine, member)
    if bounce is None:
        return None
    head = "Mail: bouncing, no mail is sent" if bounce.bouncing else "Mail: delivery problems"
    return (
        f"{head} ({bounce.hard_bounces} hard, {bounce.soft_bounces} soft bounce(s), "
        f"last {bounce.last_status or '-'} on {bounce.last_bounce_at:%Y-%m-%d})"
    )
