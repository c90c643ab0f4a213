"""The reminder rule, in one place: who is reminded of what, and when (pure; no IO).

Paced, not nagging:

* **progress** — on a channel's cadence, a member is nudged only when behind the pace the
  period needs (a straight line from the period's start to the target at its end:
  ``expected = target × elapsed / length``, elapsed counting the days before today; behind
  when ``total < expected``) or when no claim is dated in the last ``weeks_without_claim``
  weeks; a member on pace gets at most one **encouraging** note a calendar month.
* **countdown** — ``countdown_days`` (30, 7, 3) before the period's end, a member still short
  gets one reminder per step; a run that missed a step's day sends that step late (once) with
  the real number of days left. Rolling windows (the IBMS diploma) have no end to count to.
  On a countdown day the progress nudge gives way to the countdown (one message, not two).
* **duty** — a member with no claim in the period hears "it is your duty" every
  ``duty_every_weeks`` weeks after the period's start. Members who are not muted hear it in
  their progress or encouraging note already, so the separate duty reminder goes to muted
  members only (muting stops progress nudges, not the duty).

Muting stops progress and encouraging notes; countdown and duty still go unless the scheme's
``reminders`` block says ``countdown_ignores_mute: false`` / ``duty_ignores_mute: false``.
Nothing goes to a member with a dispensation, exempt by grade, or whose target is met.
Periods come from the engine's evaluation (calendar year, the member's IMI cycle, the IBMS
window); carried and lost amounts from the engine's ``carry_out``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from typing import Literal

from dateutil.relativedelta import relativedelta

from cpd import rules

Kind = Literal["progress", "encourage", "countdown", "duty"]

QUIET_START = dt.time(20, 0)
"""Telegram nudges are not delivered from this local time..."""
QUIET_END = dt.time(8, 0)
"""...until this one."""


@dataclass(frozen=True, slots=True)
class ReminderRule:
    """The rule's numbers (defaults); a scheme's ``reminders:`` block overrides any of them."""

    weeks_without_claim: int = 6
    encourage_monthly: bool = True
    countdown_days: tuple[int, ...] = (30, 7, 3)
    countdown_ignores_mute: bool = True
    duty_ignores_mute: bool = True
    duty_every_weeks: int = 4


def rule_for(scheme: rules.Scheme) -> ReminderRule:
    """The defaults with the scheme file's overrides applied."""
    given = {k: v for k, v in scheme.reminders.model_dump().items() if v is not None}
    if "countdown_days" in given:
        given["countdown_days"] = tuple(sorted(given["countdown_days"], reverse=True))
    return replace(ReminderRule(), **given)


@dataclass(frozen=True, slots=True)
class Facts:
    """What the rule needs to know of one member on one day."""

    scheme: rules.Scheme
    evaluation: rules.Evaluation
    today: dt.date
    muted: bool = False
    last_claim: dt.date | None = None
    """The latest activity date of the member's claims (any status but draft/withdrawn)."""
    claims_in_period: int = 0


@dataclass(frozen=True, slots=True)
class Reminder:
    """One reminder due: its kind and the moment it belongs to (for the outbox key)."""

    kind: Kind
    period_key: int
    moment: str
    """The day (progress), month (encourage), step (countdown) or interval (duty)."""

    def key(self, member_id: int) -> str:
        """The outbox dedup key: ``reminder:<member>:<kind>:<period>:<moment>``."""
        return f"reminder:{member_id}:{self.kind}:{self.period_key}:{self.moment}"


def deadline(scheme: rules.Scheme, evaluation: rules.Evaluation) -> dt.date:
    """The day the target is due: the period's end; for a rolling window, the day the
    window's first day falls out of it (never before the as-of day)."""
    rule = scheme.period
    if rule.kind == "rolling_window":
        end = evaluation.period_start + relativedelta(years=rule.years) - dt.timedelta(days=1)
        return max(end, evaluation.period_end)
    return evaluation.period_end


def expected(scheme: rules.Scheme, evaluation: rules.Evaluation, today: dt.date) -> float:
    """Where the straight line from the period's start to the target stands today."""
    start, end = evaluation.period_start, deadline(scheme, evaluation)
    length = (end - start).days + 1
    elapsed = min(max((today - start).days, 0), length)
    return round(evaluation.target * elapsed / length, 2)


def behind_pace(scheme: rules.Scheme, evaluation: rules.Evaluation, today: dt.date) -> bool:
    """Whether the member's total is below the straight line."""
    return evaluation.total < expected(scheme, evaluation, today)


def days_left(scheme: rules.Scheme, evaluation: rules.Evaluation, today: dt.date) -> int:
    """Whole days from today to the deadline (0 on the last day)."""
    return (deadline(scheme, evaluation) - today).days


def countdown_step(scheme: rules.Scheme, rule: ReminderRule, left: int) -> int | None:
    """The countdown step due with ``left`` days to go: the nearest step at or above it (a
    missed day is sent late, once); None outside the countdown or for a rolling window."""
    if scheme.period.kind == "rolling_window" or left < 0:
        return None
    steps = [d for d in rule.countdown_days if d >= left]
    return min(steps) if steps else None


def _owes(facts: Facts) -> bool:
    ev = facts.evaluation
    return ev.compulsory and not ev.dispensation and ev.target > 0 and not ev.met


def progress(facts: Facts, rule: ReminderRule) -> Reminder | None:
    """The progress nudge or the month's encouraging note due on a cadence run, or None."""
    if facts.muted or not _owes(facts):
        return None
    ev, today = facts.evaluation, facts.today
    left = days_left(facts.scheme, ev, today)
    if left in rule.countdown_days and countdown_step(facts.scheme, rule, left) is not None:
        return None  # the countdown goes today and says more
    since = max(facts.last_claim or ev.period_start, ev.period_start)
    stale = (today - since).days >= 7 * rule.weeks_without_claim
    if behind_pace(facts.scheme, ev, today) or stale:
        return Reminder("progress", ev.period_key, today.isoformat())
    if rule.encourage_monthly:
        return Reminder("encourage", ev.period_key, today.strftime("%Y-%m"))
    return None


def daily(facts: Facts, rule: ReminderRule) -> list[Reminder]:
    """The countdown step and the duty reminder due today (the daily run), possibly none."""
    if not _owes(facts):
        return []
    ev, today, due = facts.evaluation, facts.today, []
    step = countdown_step(facts.scheme, rule, days_left(facts.scheme, ev, today))
    if step is not None and (not facts.muted or rule.countdown_ignores_mute):
        due.append(Reminder("countdown", ev.period_key, str(step)))
    interval = ((today - ev.period_start).days) // (7 * rule.duty_every_weeks)
    if facts.claims_in_period == 0 and interval >= 1 and facts.muted and rule.duty_ignores_mute:
        due.append(Reminder("duty", ev.period_key, str(interval)))
    return due


def quiet_release(moment: dt.datetime, zone: dt.tzinfo) -> dt.datetime | None:
    """When a Telegram nudge queued at ``moment`` may go: None when not in quiet hours, else
    the next 08:00 in ``zone`` (as an aware UTC time)."""
    local = moment.astimezone(zone)
    if QUIET_END <= local.time() < QUIET_START:
        return None
    day = local.date() if local.time() < QUIET_END else local.date() + dt.timedelta(days=1)
    release = dt.datetime.combine(day, QUIET_END, tzinfo=zone)
    return release.astimezone(dt.UTC)
