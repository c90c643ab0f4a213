"""Hours from a member's words: stated durations, time ranges, breaks, days and repeats.

Rules (SCHEMES.md, attribute ``hours``): only a stated duration counts. Minutes are converted,
a time range counts as given ("9 till 6" = 9), stated breaks are subtracted from time ranges,
a day is 7.5 hours and half a day 3.75, stated hours win over a day count, and a date range
alone gives no hours. ``None`` when the text states none: never guess.

The parser works on a lower-cased copy of the text and *masks* every span it has used, so a
break ("an hour for lunch") is never read again as a duration, and a multiplied duration
("2 x 90 min") is not counted twice.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from cpd.nlp.duration_phrases import (
    _DUR_NOGROUP,
    _DURATION_RE,
    _H_UNIT,
    _M_UNIT,
    _value,
    duration_value,
)
from cpd.nlp.numbers import COUNT_WORDS, to_number
from cpd.nlp.time_ranges import _RANGE_RE, _range_hours, _word_times

HOURS_PER_DAY = 7.5
IMPLAUSIBLE_HOURS = 100.0
"""Stated totals above this are kept but flagged ``implausible_hours``."""

_BREAK_WORD = r"(?:(?:coffee|tea|lunch|comfort)\s+)?(?:lunch|break|breaks)(?![a-z])"
_BREAKS = [
    # "an hour for lunch", "an hour's lunch", "two 15-min coffee breaks", "a 30 min break"
    re.compile(
        rf"(?:(?P<cnt>{COUNT_WORDS})\s+)?(?P<dur>{_DUR_NOGROUP})(?:'s|s')?\s*"
        rf"(?:for\s+|of\s+)?{_BREAK_WORD}"
    ),
    # "lunch (1 hr)", "break of 30 mins", "lunch break 45 mins"
    re.compile(rf"{_BREAK_WORD}\s*(?:(?:of|was|:|\()\s*)(?P<dur>{_DUR_NOGROUP})"),
]

_HAS_TIMES = re.compile(r"[x×*]\s*\d|\d\s*[x×*]")
_LUNCH_AT = re.compile(r"(?:lunch|break)\s*(?:was\s+|from\s+)?(?=\d)")
_BARE_BREAK = re.compile(rf"{_BREAK_WORD}\s+(?P<dur>{_DUR_NOGROUP})")

_MULT_BEFORE = re.compile(rf"(?P<cnt>{COUNT_WORDS})\s*(?:x|×|\*)\s*(?P<dur>{_DUR_NOGROUP})")
_MULT_AFTER = re.compile(rf"(?P<dur>{_DUR_NOGROUP})\s*(?:x|×|\*)\s*(?P<cnt>\d+)(?![\d.])")
_MULT_OF = re.compile(
    rf"(?P<cnt>{COUNT_WORDS})\s+(?:\w+\s+)?(?P<noun>[a-z]+s)\s+of\s+"
    rf"(?:about\s+|around\s+|approx\.?\s+)?"
    rf"(?P<dur>{_DUR_NOGROUP})"
)
_MULT_ADJ = re.compile(
    rf"(?P<cnt>{COUNT_WORDS})\s+(?P<dur>{_DUR_NOGROUP})\s+(?:[a-z-]+\s+)?(?P<noun>[a-z]+s)\b"
)
_EACH_AFTER = re.compile(
    r"^\s*(?:each|apiece|per\s+(?!day|week|hour)\w+|a\s+(?:go|piece|session))\b"
)
_PER_DAY_AFTER = re.compile(
    r"^\s*(?:each|per|a|every)\s+day\b|^\s*(?:on\s+)?(?:both|each)\s+days\b"
)
_BARE_COUNT = re.compile(r"(?<![\w/.:£$])(\d{1,2})(?![\w/.:%])")
_RATE_AFTER = re.compile(
    rf"^\s*(?:a|per)\s+(?P<unit>day|evening|night|session|week|morning|afternoon)\s+"
    rf"(?:for|over)\s+(?P<cnt>{COUNT_WORDS})\s+\w+"
)
_COUNT_NOUN = re.compile(rf"(?P<cnt>{COUNT_WORDS})\s+(?:[a-z0-9-]+\s+){{0,3}}?(?P<noun>[a-z]+s)\b")
_NOT_COUNT_NOUNS = {
    "quarters",
    "halves",
    "hours",
    "hrs",
    "mins",
    "minutes",
    "days",
    "weeks",
    "months",
    "years",
    "years'",
    "yrs",
    "times",
    "is",
    "was",
    "has",
    "this",
    "us",
    "as",
    "its",
    "his",
    "yes",
    "sessions'",
}

_DAYS_RE = re.compile(
    rf"(?P<dhalf>(?:a|one)\s+day\s+and\s+a\s+half)"
    rf"|(?P<halves>{COUNT_WORDS})\s+half[\s-]+days(?![a-z])"
    rf"|(?P<half>half[\s-]+a[\s-]+day|(?:a\s+)?half[\s-]+day)"
    rf"|(?P<full>(?:a|one)\s+(?:full|whole)\s+(?:[a-z-]+\s+){{0,2}}?day|(?<![a-z])(?:full|whole)"
    rf"[\s-]+(?:[a-z-]+\s+){{0,2}}?day|all\s+day)(?![a-z])"
    rf"|(?<![a-z])(?P<dn>{COUNT_WORDS})(?P<dnh>\s+and\s+a\s+half)?(?:\s+|-)(?:(?:full|whole)\s+)?"
    rf"days?(?![a-z])"
)
_DAYS_BAD_PREV = re.compile(r"(the|last|past|next|these|those|first|every|in|within)\s+$")
_DAY_ADJ = re.compile(r"^-(?:full\s+)?days?\s+\w")
_DAYS_BAD_NEXT = re.compile(r"^\s*(ago|a\s+week|per\s+week|a\s+month|off|later|before|after)\b")
_TOTAL_AFTER = re.compile(r"^\s*(?:in\s+total|total|altogether|overall|in\s+all|all\s+in)\b")
_TOTAL_BEFORE = re.compile(r"(?:total(?:\s+of)?|in\s+total|altogether|overall)[\s:,]*$")
_INCLUDING = re.compile(r"(?:incl\.?|including|inc\.?)\s*$")
_NEGATIVE = re.compile(
    rf"(?:^|(?<=[\s(:=]))(?<![\d]\s)-(?=\d[\d.]*\s*-?\s*(?:{_H_UNIT}|{_M_UNIT}))"
)
_RANGE_OF_DURATIONS = re.compile(
    rf"(?<![\d.])(?P<a>\d+(?:\.\d+)?)(?:-|\s+to\s+|\s+or\s+)(?P<b>\d+(?:\.\d+)?)\s*"
    rf"(?P<u>{_H_UNIT}|{_M_UNIT})"
)


@dataclass
class DurationResult:
    """What the duration rules found: hours (or None), flags and the character spans used."""

    hours: float | None
    flags: list[str] = field(default_factory=list)
    spans: list[tuple[int, int]] = field(default_factory=list)
    per_day: float | None = None
    """Hours "each day" with no day count in the words; the caller multiplies by the dates."""


def _mask(s: str, start: int, end: int) -> str:
    return s[:start] + " " * (end - start) + s[end:]


def _round(x: float) -> float:
    return round(x + 1e-9, 2)


def parse_hours(text: str) -> DurationResult:
    """Find the hours stated in ``text`` (already cleaned); see the module docstring."""
    s = _word_times(text.lower())
    flags: list[str] = []
    spans: list[tuple[int, int]] = []

    if _NEGATIVE.search(s):
        flags.append("negative_hours")
        return DurationResult(None, flags, [])

    # 1. breaks: remembered, then masked.
    breaks = 0.0
    including_breaks = 0.0
    has_break = "lunch" in s or "break" in s
    for rx in _BREAKS if has_break else ():
        for m in list(rx.finditer(s)):
            v = duration_value(m.group("dur"))
            if v is None:
                continue
            cnt = to_number(m.group("cnt")) if "cnt" in m.groupdict() and m.group("cnt") else 1
            cnt = cnt if cnt and cnt >= 1 else 1
            if _INCLUDING.search(s[: m.start()]):
                including_breaks += v * cnt
            else:
                breaks += v * cnt
            spans.append(m.span())
            s = _mask(s, *m.span())
    # "(lunch 45 mins)" next to a time range: a break, not the activity's length
    if has_break and any(_range_hours(r, s) for r in _RANGE_RE.finditer(s)):
        for m in list(_BARE_BREAK.finditer(s)):
            v = duration_value(m.group("dur"))
            if v is not None:
                breaks += v
                spans.append(m.span())
                s = _mask(s, *m.span())
    # lunch given as a time range: "lunch 12-1"
    for m in list(_LUNCH_AT.finditer(s)) if has_break else ():
        r = _RANGE_RE.match(s, m.end())
        if r:
            v = _range_hours(r, s)
            if v is not None:
                breaks += v
                spans.append((m.start(), r.end()))
                s = _mask(s, m.start(), r.end())

    explicit: list[float] = []
    total: float | None = None
    per_day_hours: float | None = None

    # 2. repeats: "2 x 90 min", "three evenings of 2 hours", "2 hrs each" with "two portfolios"
    repeats = [_MULT_ADJ]
    if _HAS_TIMES.search(s):
        repeats[:0] = [_MULT_BEFORE, _MULT_AFTER]
    if " of " in s:
        repeats.insert(-1, _MULT_OF)
    for rx in repeats:
        for m in list(rx.finditer(s)):
            v = duration_value(m.group("dur"))
            cnt = to_number(m.group("cnt"))
            if v is None or cnt is None:
                continue
            if rx in (_MULT_OF, _MULT_ADJ) and m.group("noun") in _NOT_COUNT_NOUNS:
                continue
            if rx is _MULT_ADJ and (
                cnt < 2 or re.match(r"\d", m.group("cnt")) and re.match(r"\d", m.group("dur"))
            ):
                continue
            explicit.append(v * cnt)
            spans.append(m.span())
            s = _mask(s, *m.span())

    # 3. durations ranges "2-3 hours": the midpoint, flagged as approximate
    for m in list(_RANGE_OF_DURATIONS.finditer(s)):
        a, b = float(m.group("a")), float(m.group("b"))
        if not a < b:
            continue
        per_hour = 1.0 if re.match(_H_UNIT, m.group("u")) else 1 / 60
        explicit.append((a + b) / 2 * per_hour)
        flags.append("hours_range")
        spans.append(m.span())
        s = _mask(s, *m.span())

    # 4. single stated durations
    for m in list(_DURATION_RE.finditer(s)):
        v = _value(m)
        if v is None or v <= 0:
            continue
        before, after = s[: m.start()], s[m.end() :]
        if re.search(r"[\d.]$", before):
            continue
        rate = _RATE_AFTER.match(after)
        per_day = _PER_DAY_AFTER.match(after)
        if per_day and not rate:
            per_day_hours = v  # multiplied by the day count below (or by the caller)
            spans.append((m.start(), m.end() + per_day.end()))
            s = _mask(s, m.start(), m.end() + per_day.end())
            continue
        if rate:
            cnt = to_number(rate.group("cnt")) or 1
            v *= cnt
            spans.append((m.start(), m.end() + rate.end()))
            s = _mask(s, m.start(), m.end() + rate.end())
        elif _EACH_AFTER.match(after):
            count = None
            for c in _COUNT_NOUN.finditer(before[-100:]):
                n = to_number(c.group("cnt"))
                if c.group("noun") not in _NOT_COUNT_NOUNS and n is not None and n >= 2:
                    count = n
            if count is None:
                c2 = _COUNT_NOUN.search(after[:100])
                if c2 and c2.group("noun") not in _NOT_COUNT_NOUNS:
                    count = to_number(c2.group("cnt"))
            if count is None:
                bare = _BARE_COUNT.findall(before[-40:])
                if bare:
                    count = float(bare[-1])
            v *= count or 1
            spans.append(m.span())
            s = _mask(s, *m.span())
        else:
            spans.append(m.span())
            s = _mask(s, *m.span())
        if _TOTAL_AFTER.match(after) or _TOTAL_BEFORE.search(before):
            total = v
        explicit.append(v)

    # 5. time ranges
    ranges = 0.0
    pos = 0
    while (found := _RANGE_RE.search(s, pos)) is not None:
        v = _range_hours(found, s)
        if v is None:
            pos = found.start() + 1
            continue
        ranges += v
        spans.append(found.span())
        s = _mask(s, *found.span())
        pos = found.end()

    # 6. days
    days = 0.0
    for m in list(_DAYS_RE.finditer(s)) if "day" in s else ():
        before, after = s[: m.start()], s[m.end() :]
        if m.group("halves"):
            days = max(days, (to_number(m.group("halves")) or 1) * 0.5)
        elif m.group("dhalf"):
            days = max(days, 1.5)
        elif m.group("half"):
            days = max(days, 0.5)
        elif m.group("full"):
            days = max(days, 1)
        else:
            adjective = bool(_DAY_ADJ.match(s[m.end("dn") :]))
            if (_DAYS_BAD_PREV.search(before) and not adjective) or _DAYS_BAD_NEXT.match(after):
                continue
            if re.match(r"^\s*(?:a|per)\s+(?:week|month)", after):
                continue
            n = to_number(m.group("dn"))
            if n is None or n > 60:
                continue
            if m.group("dnh"):
                n += 0.5
            days = max(days, n)
        spans.append(m.span())

    per_day_pending: float | None = None
    if per_day_hours is not None:
        explicit.append(per_day_hours * max(days, 1.0))
        if days < 1:
            per_day_pending = per_day_hours
    if total is not None:
        hours: float | None = total
    elif explicit:
        hours = sum(explicit) - including_breaks
    elif ranges:
        hours = ranges - breaks - including_breaks
    elif days:
        hours = days * HOURS_PER_DAY
    else:
        hours = None
    if hours is not None:
        if hours <= 0:
            flags.append("negative_hours" if hours < 0 else "zero_hours")
            hours = None
        else:
            hours = _round(hours)
            if hours > IMPLAUSIBLE_HOURS:
                flags.append("implausible_hours")
    return DurationResult(hours, flags, sorted(spans), per_day_pending)
