"""Texts only the bot shows (commands, progress); claim texts shared with mail live in
``claims.texts``."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence

from cpd.claims.intake import ClaimView
from cpd.claims.notifications import pace
from cpd.claims.scheme_facts import Evaluation, Scheme, SchemeFacts, every_scheme
from cpd.claims.texts import amount, balance_sentence, fmt, long_date

_HELP_HEAD = """I record your CPD activities for the membership secretary.

Send me what you did, the way you'd tell a colleague: "boat show today, 4 hours", with a
photo or a certificate if you have one. I'll show what I understood and the points it would
earn; tap Submit and the secretary decides.

/progress - where you stand, what is still needed, a chart
/history - your latest claims
/withdraw - withdraw a claim that waits for a decision
/mute, /unmute - weekly reminders off / on
/export - your CPD record as a PDF (/export csv all for everything as CSV)
/evidence - your evidence files as a zip, for an audit"""


def help_text() -> str:
    """/help: the commands, the scheme workflows naming the schemes (from their files) that
    have them."""
    schemes = every_scheme()

    def names(has: Callable[[SchemeFacts], bool]) -> str:
        return ", ".join(f.short_name for f in schemes if has(f))

    lines = [_HELP_HEAD]
    if dispensing := names(lambda f: f.dispensations):
        lines.append(
            f"/dispensation REASON - ask for relief from this period's target ({dispensing})"
        )
    if declaring := names(lambda f: f.annual_declaration):
        lines.append(f"/declare - the {declaring} annual CPD declaration")
    if diplomas := names(lambda f: f.diploma is not None):
        lines.append(
            f"/diploma, /submit - the {diplomas} CPD diploma: where it stands, and send it "
            "for validation"
        )
    lines.append("/help - this message")
    return "\n".join(lines)


SECRETARY_HELP = (
    "/pending - claims waiting for your decision\n/standings - every member's "
    "standing as CSV\n/undeclared - who has not made this year's declaration"
)
MUTED = "Weekly reminders are off. /unmute turns them back on."
UNMUTED = "Weekly reminders are on again."
STATUS_MARK = {"draft": "✏️", "pending": "⏳", "accepted": "✅", "declined": "❌", "withdrawn": "↩️"}


def welcome(name: str) -> str:
    """After /start links the account."""
    return f"Welcome, {name}. You're linked: send me your CPD activities any time.\n\n{help_text()}"


def progress(scheme: Scheme, evaluation: Evaluation, today: dt.date) -> str:
    """/progress text."""
    lines = [
        f"{scheme.short_name} CPD, {long_date(evaluation.period_start)} to "
        f"{long_date(evaluation.period_end)}",
        balance_sentence(scheme, evaluation),
    ]
    days_left = (evaluation.period_end - today).days
    if scheme.diploma is None:
        lines.append(f"Days left: {max(days_left, 0)}.")
        if evaluation.remaining > 0 and evaluation.compulsory and not evaluation.dispensation:
            lines.append(
                f"Pace: {pace(evaluation.remaining, evaluation.period_end, today, scheme.unit)}."
            )
    if scheme.carry_forward is not None:
        surplus = evaluation.total - evaluation.target
        carried = evaluation.carry_out
        lost = max(0.0, surplus - carried)
        lines.append(
            f"At the end of the period {amount(carried, scheme.unit)} would carry "
            f"forward" + (f" and {fmt(lost)} would be lost." if lost > 0 else ".")
        )
    return "\n".join(lines)


def history(views: Sequence[ClaimView]) -> str:
    """/history text."""
    if not views:
        return "No claims yet. Send me what you did to start one."
    lines = ["Your latest claims:"]
    for v in views:
        points = v.awarded_points if v.status == "accepted" else v.proposed_points
        lines.append(
            f"{STATUS_MARK.get(v.status, '')} #{v.id} {v.start_date:%d %b %Y} "
            f"{v.title[:40]} - {v.status}, {amount(points or 0, v.unit)}"
        )
    return "\n".join(lines)
