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

from cpd.nlp.numbers import COUNT_WORDS, FRACTIONS, NUM, to_number

HOURS_PER_DAY = 7.5
IMPLAUSIBLE_HOURS = 100.0
"""Stated totals above this are kept but flagged ``implausible_hours``."""

_FRAC = r"(?:half|quarter|three[- ]quarters?)"
_H_UNIT = r"(?:hours?|hrs?|h)(?![a-z])"
_M_UNIT = r"(?:minutes?|mins?|m)(?![a-z])"

# "1.5 hours", "an hour and a half", "two and a half hrs", "1h30", "1 hour 30", "1h 45m"
_HOURS = (
    rf"(?P<hn>{NUM})(?:\s+and\s+(?:a\s+)?(?P<hf1>{_FRAC}))?\s*-?\s*{_H_UNIT}"
    rf"(?:\s+and\s+(?:a\s+)?(?P<hf2>{_FRAC}))?"
    rf"(?:\s*(?:and\s+)?(?:(?P<hm>[0-5]?\d)\s*{_M_UNIT}|(?P<hm2>[0-5]\d)"
    rf"(?!\s*(?:\d|[.:/]\d|am\b|pm\b|x\b|[a-z]+s\b|(?:st|nd|rd|th)\b|(?:of\s+)?(?:jan|feb|mar|"
    rf"apr|may|jun|jul|aug|sep|oct|nov|dec)))|(?P<hm3>fifteen|thirty|forty[- ]five|twenty|"
    rf"forty|fifty|ten)(?!\s*(?:[a-z]+s|to|-)\b)))?"
)
# "half an hour", "a quarter of an hour", "three quarters of an hour", "half-hour"
_PART_HOUR = rf"(?:a\s+)?(?P<pf>{_FRAC})(?:\s+of)?(?:\s+an|\s+a)?[\s-]+hour(?![a-z])"
_MINUTES = rf"(?P<mn>{NUM})\s*-?\s*{_M_UNIT}"
DURATION = rf"(?:{_PART_HOUR}|{_HOURS}|{_MINUTES})"
"""Regex for one stated duration (named groups hn/hf1/hf2/hm, pf, mn)."""

_DURATION_RE = re.compile(DURATION)
_DUR_NOGROUP = re.sub(r"\?P<\w+>", "", DURATION)

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
_TIME = (
    r"(?P<{n}h>\d{{1,2}})(?:[:.]?(?P<{n}m>[0-5]\d))?(?:\s*(?P<{n}s>[ap])\.?m\.?)?(?![\w/])"
)
_RANGE_RE = re.compile(
    r"(?<![\w/£$.:-])(?P<pre>from\s+|between\s+)?"
    + _TIME.format(n="a")
    + r"\s*(?P<conn>-|to|till|til|'til|until|and|2(?=\s*\d{1,2}\s*[ap]\.?m))\s*"
    + _TIME.format(n="b")
)
_RANGE_OK_NEXT = {
    "", "with", "on", "at", "in", "today", "yesterday", "yday", "tonight", "and", "incl",
    "including", "inc", "excluding", "excl", "minus", "less", "then", "so", "but", "last",
    "this", "plus", "session", "sessions", "monday", "tuesday", "wednesday", "thursday",
    "friday", "saturday", "sunday", "mon", "tue", "tues", "wed", "thu", "thur", "thurs", "fri",
    "sat", "sun", "for", "via", "online", "am", "pm", "approx", "roughly", "ish", "or",
}
_RANGE_BAD_PREV = re.compile(
    r"(?<![a-z])(chapters?|pages?|pp|modules?|sections?|units?|weeks?|years?|levels?|aged?|ages|"
    r"grades?|"
    r"steps?|questions?|items?|nos?|no\.|parts?|lessons?|£|\$|scored?|between\s+the)\s*$"
)
_UNIT_AFTER = re.compile(r"\s*-?\s*(hours?|hrs?|h\b|mins?|minutes?|m\b|days?|x\b|%|people|yr)")

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
    "quarters", "halves",
    "hours", "hrs", "mins", "minutes", "days", "weeks", "months", "years", "years'", "yrs",
    "times", "is", "was", "has", "this", "us", "as", "its", "his", "yes", "sessions'",
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


def _value(m: re.Match[str]) -> float | None:
    """Hours of one ``DURATION`` match."""
    g = m.groupdict()
    if g.get("pf"):
        pf = g["pf"].replace("-", " ")
        return 0.75 if pf.startswith("three") else 0.25 if "quarter" in pf else 0.5
    if g.get("hn") is not None:
        n = to_number(g["hn"])
        if n is None:
            return None
        for f in (g.get("hf1"), g.get("hf2")):
            if f:
                n += FRACTIONS.get(f.replace("-", " "), FRACTIONS.get(f, 0.0))
        if g.get("hm") or g.get("hm2"):
            n += int(g.get("hm") or g["hm2"]) / 60
        elif g.get("hm3"):
            n += (to_number(g["hm3"].replace(" ", "-")) or 0) / 60
        return n
    if g.get("mn") is not None:
        n = to_number(g["mn"])
        return None if n is None else n / 60
    return None


def duration_value(text: str) -> float | None:
    """Hours of a short duration phrase ("90 mins", "an hour and a half"); None if none."""
    m = _DURATION_RE.search(text.lower())
    return _value(m) if m else None


_CLOCK_WORDS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
                "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12}
_CW = "|".join(_CLOCK_WORDS)
_WORD_TIME = re.compile(
    rf"\b(?:(?P<half>half|quarter)\s+past\s+(?P<hp>{_CW}|\d{{1,2}})"
    rf"|quarter\s+to\s+(?P<qt>{_CW}|\d{{1,2}})"
    rf"|(?P<oc>{_CW}|\d{{1,2}})\s*o'?\s?clock|(?P<noon>noon|midday)"
    rf"|(?<=from\s)(?P<fr>{_CW})(?=\s+(?:until|till|til|to|-))"
    rf"|(?:(?<=until\s)|(?<=till\s)|(?<=\sto\s)|(?<=from\s)|(?<=-)|(?<=-\s))"
    rf"half\s+(?P<hh>{_CW}|\d{{1,2}})"
    rf"(?![\d:.]|\s*(?:hours?|hrs?|days?|an?\b))"
    rf"|(?:(?<=until\s)|(?<=till\s))(?P<un>{_CW})\b"
    rf"(?!\s+(?:hours?|days?|mins?|minutes|sessions?)\b))"
)


def _word_times(s: str) -> str:
    """Clock times in words ("half past nine", "noon", "from nine until four") as digits,
    padded to the same length so character positions do not move."""
    def digits(m: re.Match[str]) -> str:
        g = m.groupdict()
        if g["hp"]:
            h = _CLOCK_WORDS.get(g["hp"]) or int(g["hp"])
            out = f"{h}:{30 if g['half'] == 'half' else 15:02d}"
        elif g["qt"]:
            h = (_CLOCK_WORDS.get(g["qt"]) or int(g["qt"])) - 1
            out = f"{h or 12}:45"
        elif g["oc"]:
            out = f"{_CLOCK_WORDS.get(g['oc']) or int(g['oc'])}:00"
        elif g["noon"]:
            out = "12:00"
        elif g["hh"]:
            out = f"{_CLOCK_WORDS.get(g['hh']) or int(g['hh'])}:30"
        else:
            out = str(_CLOCK_WORDS[g["fr"] or g["un"]])
        return out.ljust(len(m.group(0)))

    if not any(w in s for w in ("past", "quarter", "clock", "noon", "midday", "half", "until",
                                "till")):
        return s  # cheap guard: most texts have no clock words
    return _WORD_TIME.sub(digits, s)


def _mask(s: str, start: int, end: int) -> str:
    return s[:start] + " " * (end - start) + s[end:]


def _time_of(h: str, mnt: str | None, suffix: str | None) -> float:
    v = int(h) + (int(mnt) / 60 if mnt else 0.0)
    if suffix == "p" and int(h) < 12:
        v += 12
    if suffix == "a" and int(h) == 12:
        v -= 12
    return v


def _range_hours(m: re.Match[str], s: str) -> float | None:
    """Length of a time range match, or None when it is not a time range."""
    g = m.groupdict()
    if g["conn"] == "and" and not g["pre"]:
        return None
    if g["conn"] == "2" and not (g["as"] or g["bs"]):
        return None
    glued_a = bool(g["am"]) and re.search(r"\d{4}", m.group(0)[: m.end("am") - m.start()] or "")
    glued_b = bool(g["bm"]) and re.fullmatch(r"\d{4}", g["bh"].zfill(2) + g["bm"]) and \
        re.search(r"\d{4}", m.group(0)[m.start("bh") - m.start():])
    if (glued_a and not (glued_b or g["bs"])) or (glued_b and not (glued_a or g["as"])):
        return None  # "2026 - 7": a year, not 20:26
    ah, bh = int(g["ah"]), int(g["bh"])
    if re.match(r"(?:from\s+|between\s+)?(?:19|20)\d\d\s*(?:-|to)\s*(?:19|20)?\d\d(?!\d)",
                m.group(0)) and not g["as"]:
        return None  # "2024-2025": years
    if ah > 24 or bh > 24 or (g["am"] and int(g["am"]) > 59) or (g["bm"] and int(g["bm"]) > 59):
        return None
    explicit = bool(g["as"] or g["bs"] or g["am"] or g["bm"])
    after = s[m.end():]
    if _UNIT_AFTER.match(after):
        return None
    if not explicit:
        nxt = re.match(r"\s*([a-z]*)", after)
        word = nxt.group(1) if nxt else ""
        if word not in _RANGE_OK_NEXT:
            return None
        if _RANGE_BAD_PREV.search(s[: m.start()]):
            return None
    elif _RANGE_BAD_PREV.search(s[: m.start()]) and not (g["as"] or g["bs"]):
        return None
    a_s, b_s = g["as"], g["bs"]
    if b_s and not a_s:
        # "2-5pm": the start shares the suffix unless that would put it after the end.
        a_s = b_s if (ah % 12) <= (bh % 12) or bh == 12 else ("a" if b_s == "p" else None)
        if bh == 12 and b_s == "p" and ah < 12:
            a_s = "a"
    start = _time_of(g["ah"], g["am"], a_s)
    end = _time_of(g["bh"], g["bm"], b_s)
    if end <= start and not b_s:
        end += 12
    if end <= start:
        end += 12 if end + 12 > start and not (a_s and b_s) else 24
    length = end - start
    if length <= 0 or length > 14:
        return None
    return length


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
            if rx is _MULT_ADJ and (cnt < 2 or re.match(r"\d", m.group("cnt")) and
                                    re.match(r"\d", m.group("dur"))):
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
        before, after = s[: m.start()], s[m.end():]
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
        before, after = s[: m.start()], s[m.end():]
        if m.group("halves"):
            days = max(days, (to_number(m.group("halves")) or 1) * 0.5)
        elif m.group("dhalf"):
            days = max(days, 1.5)
        elif m.group("half"):
            days = max(days, 0.5)
        elif m.group("full"):
            days = max(days, 1)
        else:
            adjective = bool(_DAY_ADJ.match(s[m.end("dn"):]))
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
