"""Period arithmetic: which period contains a date, for each kind of period a scheme may use.

A period has a start, an end (both inclusive) and an integer key: the calendar year, the
starting year of a cycle, or the year of a diploma window's end. Dispensations are listed by
that key.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from dateutil.relativedelta import relativedelta

from cpd.rules.scheme import CalendarYear, Cycle, RollingWindow, Scheme
from cpd.rules.values import Member


@dataclass(frozen=True, slots=True)
class Period:
    """An inclusive date range with its key."""

    key: int
    start: dt.date
    end: dt.date

    def __contains__(self, day: dt.date) -> bool:
        return self.start <= day <= self.end

    @property
    def days(self) -> int:
        """Number of days in the period."""
        return (self.end - self.start).days + 1


def calendar_year(day: dt.date) -> Period:
    """The calendar year containing ``day``."""
    return Period(day.year, dt.date(day.year, 1, 1), dt.date(day.year, 12, 31))


def _anniversary_on_or_before(day: dt.date, month: int, mday: int) -> dt.date:
    candidate = dt.date(day.year, month, mday)
    return candidate if candidate <= day else dt.date(day.year - 1, month, mday)


def first_cycle_start(rule: Cycle, joined: dt.date) -> dt.date:
    """The start of a member's first cycle: the cycle start day on or before joining."""
    return _anniversary_on_or_before(joined, rule.start_month, rule.start_day)


def cycle(rule: Cycle, joined: dt.date, day: dt.date) -> Period:
    """The member's cycle containing ``day`` (cycles run back to back from the first)."""
    first = first_cycle_start(rule, joined)
    months_between = (day.year - first.year) * 12 + (day.month - first.month)
    if day.day < first.day:
        months_between -= 1
    start_year = first.year + (months_between // (12 * rule.years)) * rule.years
    start = dt.date(start_year, first.month, first.day)
    end = dt.date(start_year + rule.years, first.month, first.day) - dt.timedelta(days=1)
    return Period(start_year, start, end)


def rolling_window(rule: RollingWindow, member: Member, as_of: dt.date) -> Period:
    """The diploma window ending on ``as_of``: ``years`` back, or from the diploma start."""
    start = as_of - relativedelta(years=rule.years)
    if member.diploma_start is not None and member.diploma_start > start:
        start = member.diploma_start
    return Period(as_of.year, start, as_of)


def period_for(scheme: Scheme, member: Member, day: dt.date) -> Period:
    """The scheme's period for this member that contains ``day``."""
    rule = scheme.period
    if isinstance(rule, CalendarYear):
        return calendar_year(day)
    if isinstance(rule, Cycle):
        return cycle(rule, member.joined, day)
    if isinstance(rule, RollingWindow):
        return rolling_window(rule, member, day)
    raise TypeError(f"unknown period rule {rule!r}")  # pragma: no cover - the model forbids it


def previous_period(scheme: Scheme, member: Member, period: Period) -> Period:
    """The period just before ``period``."""
    return period_for(scheme, member, period.start - dt.timedelta(days=1))


def is_first_cycle(scheme: Scheme, member: Member, period: Period) -> bool:
    """Whether ``period`` is the member's first cycle (where the pro-rata chart applies)."""
    rule = scheme.period
    return isinstance(rule, Cycle) and period.start == first_cycle_start(rule, member.joined)
