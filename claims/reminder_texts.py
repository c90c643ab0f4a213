"""What a reminder says: the Telegram text, and the mail payload for the outbox.

The mail payload (the ``email`` channel, template ``reminder``) carries exactly these keys,
agreed with the mail sender (``mail_ingest/outbound.py``):

* ``subject`` — one line;
* ``text`` — the plain-text body;
* ``html`` — the HTML alternative (simple markup, every value escaped);
* ``sender_name`` — the body's name, the ``From:`` display name;
* ``kind`` — ``"reminder"``: the sender adds ``List-Unsubscribe`` (and its return path);
* ``member_id`` — the member's id (unsubscribe and bounce tokens are made from it).

Which reminder it is (progress, encourage, countdown, duty) is in the outbox row's dedup key.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from typing import Any

from cpd import rules
from cpd.claims.notifications import nudge_text, pace
from cpd.claims.reminders import Facts, Reminder, days_left, deadline, expected
from cpd.claims.texts import amount, long_date
from cpd.rules.values import number


@dataclass(frozen=True, slots=True)
class HowToClaim:
    """Where members send claims: the claims mailbox and, once it runs, the portal."""

    address: str
    portal_url: str | None = None


def _carry(scheme: rules.Scheme, ev: rules.Evaluation) -> str:
    """What would be carried or lost if the period ended today (the engine's carry rule)."""
    unit = scheme.unit
    if scheme.carry_forward is None:
        return f"Nothing carries over: {unit} count only in the period they are earned."
    most = amount(scheme.carry_forward.max, unit)
    if ev.met:
        return f"{amount(ev.carry_out, unit)} would carry into the next period (at most {most})."
    return (
        f"If the period ended now you would be {amount(ev.remaining, unit)} short and nothing "
        f"would carry into the next period: only {unit} above the target carry, at most {most}."
    )


def _pace_line(facts: Facts) -> str:
    scheme, ev, today = facts.scheme, facts.evaluation, facts.today
    if scheme.diploma is not None:
        return ""
    line = expected(scheme, ev, today)
    return (
        f"To be on pace you would have {amount(line, scheme.unit)} by today; you have "
        f"{number(ev.total)}."
    )


def message(facts: Facts, reminder: Reminder) -> str:
    """The reminder's text (Telegram, and the body of the mail)."""
    scheme, ev, today = facts.scheme, facts.evaluation, facts.today
    due = deadline(scheme, ev)
    left = days_left(scheme, ev, today)
    unit = scheme.unit
    if reminder.kind == "progress":
        progress = nudge_text(scheme, ev, today, facts.claims_in_period)
        return f"{progress} {_pace_line(facts)}".strip()
    if reminder.kind == "encourage":
        text = (
            f"You are on pace: {amount(ev.total, unit)} of {number(ev.target)}, "
            f"{amount(ev.remaining, unit)} to go by {long_date(due)}. Keep it up."
        )
        if facts.claims_in_period == 0:
            text += (
                " You have made no claim this period: it is your duty as a member to reach "
                f"the target by {long_date(due)}."
            )
        return text
    if reminder.kind == "countdown":
        needed = (
            f"{amount(ev.remaining, unit)} still needed"
            if scheme.diploma is None
            else f"{number(ev.remaining)} more reflected activities needed"
        )
        return (
            f"{left} day{'s' if left != 1 else ''} left until {long_date(due)}: you have "
            f"{amount(ev.total, unit)} of {number(ev.target)}, {needed} "
            f"({pace(ev.remaining, due, today, unit)}). {_carry(scheme, ev)}"
        )
    return (
        f"You have made no claim this period: it is your duty as a member to reach the target "
        f"of {amount(ev.target, unit)} by {long_date(due)} ({amount(ev.remaining, unit)} to go)."
    )


def subject(facts: Facts, reminder: Reminder) -> str:
    """The mail's subject line."""
    scheme, ev = facts.scheme, facts.evaluation
    due = long_date(deadline(scheme, ev))
    name = scheme.short_name
    if reminder.kind == "encourage":
        return f"{name} CPD: on pace, {amount(ev.remaining, scheme.unit)} to go by {due}"
    if reminder.kind == "countdown":
        left = days_left(scheme, ev, facts.today)
        return f"{name} CPD: {left} days left, {amount(ev.remaining, scheme.unit)} still needed"
    if reminder.kind == "duty":
        return f"{name} CPD: no claim yet this period (target by {due})"
    return f"{name} CPD: {amount(ev.remaining, scheme.unit)} still needed by {due}"


def _how(how: HowToClaim) -> list[str]:
    lines = [f"To claim, mail what you did (and when, and for how long) to {how.address}."]
    if how.portal_url:
        lines.append(f"Or use the portal: {how.portal_url}")
    return lines


def mail_payload(
    facts: Facts, reminder: Reminder, member_id: int, name: str, how: HowToClaim
) -> dict[str, Any]:
    """The outbox payload of a reminder mail (keys as in the module docstring)."""
    body = message(facts, reminder)
    greeting = f"Dear {name}," if name else "Hello,"
    closing = facts.scheme.name
    lines = [greeting, "", body, "", *_how(how), "", closing]
    paragraphs = [greeting, body, *_how(how), closing]
    rendered = "".join(f"<p>{html.escape(p)}</p>\n" for p in paragraphs)
    return {
        "subject": subject(facts, reminder),
        "text": "\n".join(lines) + "\n",
        "html": f"<!DOCTYPE html>\n<html><body>\n{rendered}</body></html>\n",
        "sender_name": facts.scheme.name,
        "kind": "reminder",
        "member_id": member_id,
    }


def summary(facts: Facts, reminder: Reminder) -> str:
    """A short line for ``cpd nudges send --dry-run``."""
    ev, unit = facts.evaluation, facts.scheme.unit
    left = days_left(facts.scheme, ev, facts.today)
    return (
        f"{number(ev.total)} of {number(ev.target)} {unit}, "
        f"{number(ev.remaining)} to go, {left} days left"
    )
