"""Activity dates from a member's words, resolved against the message's date.

Rules (SCHEMES.md, ``start_date``/``end_date``): "yesterday"; "on Tuesday" is the latest
Tuesday not after the message (earlier in the current Monday-based week when it can be);
"last Tuesday" is in the previous calendar week; "on the 3rd" is the latest such day not after
the message; "12/03" is UK day/month; "last weekend" is the Saturday-Sunday range; a date is
never after the message date (a stated future date is flagged ``future_date`` and dropped);
one-day activities have both ends equal. "this week"/"last week" name no day and give none.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

WEEKDAYS: dict[str, int] = {
    "monday": 0, "mon": 0, "tuesday": 1, "tues": 1, "tue": 1, "wednesday": 2, "weds": 2,
    "wed": 2, "thursday": 3, "thurs": 3, "thur": 3, "thu": 3, "friday": 4, "fri": 4,
    "saturday": 5, "sat": 5, "sunday": 6, "sun": 6,
}
MONTHS: dict[str, int] = {
    "january": 1, "jan": 1, "february": 2, "feb": 2, "march": 3, "mar": 3, "april": 4, "apr": 4,
    "may": 5, "june": 6, "jun": 6, "july": 7, "jul": 7, "august": 8, "aug": 8, "september": 9,
    "sept": 9, "sep": 9, "october": 10, "oct": 10, "november": 11, "nov": 11, "december": 12,
    "dec": 12,
}
_WD = "|".join(sorted(WEEKDAYS, key=len, reverse=True))
_MON = "|".join(sorted(MONTHS, key=len, reverse=True))
_ORD = r"(?:st|nd|rd|th)"
_DAYNUM = rf"(?:[12]\d|3[01]|0?[1-9]){_ORD}?"
_YEAR = r"(?:,?\s*(?P<{n}>(?:19|20)\d\d))?"

_TODAY = re.compile(
    r"\b(today|tonight|tonite|this\s+(?:morning|afternoon|evening|lunchtime|aft|am|pm|eve)|"
    r"earlier\s+today|(?<!\ba\s)(?<!\bthe\s)(?<!\bfor\s)2day(?!\s+(?:course|workshop|event|"
    r"programme|seminar|conference|training|congress|show))|"
    r"just\s+(?:finished|completed|got\s+back|got\s+home|come\s+out))\b"
)
_YESTERDAY = re.compile(r"\b(yesterday|yday|yest|last\s+night)\b")
_DAY_BEFORE = re.compile(r"\bthe\s+day\s+before\s+yesterday\b")
_AGO = re.compile(
    r"\b(?P<n>\d+|two|three|four|five|six|a|one)\s+(?P<u>days?|weeks?|fortnights?)\s+ago\b"
)
_FUTURE_WORDS = re.compile(r"\b(tomorrow|next\s+(?:week|month|" + _WD + r")(?![a-z]))")
_WEEKEND = re.compile(
    r"\b(?P<mod>last|this|over\s+the|at\s+the|on\s+the|the)\s+(?:weekend|wkend|wknd|w/e)(?![a-z])"
)
_WEEKDAY = re.compile(
    rf"(?<![a-z])(?P<mod>last\s+|this\s+|on\s+|next\s+)?(?P<wd>{_WD})\.?(?![a-z])"
)
_WD_RANGE = re.compile(
    rf"(?<![a-z])(?P<mod>last\s+|on\s+|this\s+)?(?P<a>{_WD})\.?\s*"
    rf"(?P<conn>-|to|till|until|and|&|\+|/)\s*"
    rf"(?P<b>{_WD})\.?(?![a-z])"
)
_SLASH = re.compile(
    r"(?<![\d/])(?P<d>[0-3]?\d)/(?P<m>[01]?\d)(?:/(?P<y>\d{2}|\d{4}))?(?![\d/])"
    r"|(?<![\d.:-])(?P<dd>[0-3]\d)\.(?P<dm>[01]\d)(?:\.(?P<dy>\d{4}|\d{2}))?"
    r"(?![\d:]|\.\d|\s*(?:-|to|till|until|am|pm|hrs?|hours?)\b|\s*-)"
)
_ISO = re.compile(r"\b(?P<y>20\d\d)-(?P<m>[01]\d)-(?P<d>[0-3]\d)\b")
_DAY_MONTH_RANGE = re.compile(
    rf"(?<![\d£$.])(?P<d1>{_DAYNUM})(?:\s+(?:of\s+)?(?P<m1>{_MON})\.?)?\s*"
    rf"(?:-|to|till|until|and|&)"
    rf"\s*(?:the\s+)?(?P<d2>{_DAYNUM})\s+(?:of\s+)?(?P<m2>{_MON})(?![a-z])\.?" + _YEAR.format(n="y")
)
_MONTH_DAY_RANGE = re.compile(
    rf"(?<![a-z])(?P<m1>{_MON})\.?\s+(?P<d1>{_DAYNUM})\s*(?:-|to|till|until|and|&)\s*"
    rf"(?:(?P<m2>{_MON})\.?\s+)?(?P<d2>{_DAYNUM})(?![\d:]|\.\d|\s*(?:hours?|hrs?|h|mins?)\b)"
    + _YEAR.format(n="y")
)
_DAY_MONTH = re.compile(
    rf"(?<![\d£$.])(?P<d>{_DAYNUM})\s+(?:of\s+)?(?P<m>{_MON})(?![a-z])\.?" + _YEAR.format(n="y")
)
_MONTH_DAY = re.compile(
    rf"(?<![a-z])(?P<m>{_MON})\.?\s+(?P<d>{_DAYNUM})"
    rf"(?!\d|[:.]\d|\s*(?:hours?|hrs?|mins?|x|am|pm)\b)"
    + _YEAR.format(n="y")
)
_DAYNUM_ORD = rf"(?:[12]\d|3[01]|0?[1-9]){_ORD}"
_THE_NTH = re.compile(
    rf"\b(?:on\s+)?the\s+(?P<d1>{_DAYNUM_ORD})(?:\s*(?:-|to|and|&)\s*(?:the\s+)?"
    rf"(?P<d2>{_DAYNUM_ORD}))?(?![a-z])"
    r"(?!\s*(?:century|floor|time|edition|hours?|hrs?|x|year|module|chapter|part|level|attempt|"
    r"round|session|day|quarter|half|place|person|floor|generation|anniversary|week|month)\b)"
)
_ORD_ONLY = re.compile(rf"\b(?:on|from)\s+(?P<d1>(?:[12]\d|3[01]|0?[1-9]){_ORD})(?![a-z])")

_ABBREV_OK_PREV = {"on", "last", "this", "since", "from", "until", "till", "next"}
_ABBREV_OK_NEXT = {"", "morning", "afternoon", "evening", "night", "am", "pm", "eve",
                   "lunchtime", "last"}
_RECURRING = re.compile(r"\b(?:every|each|most|all)\s+$|\bon\s+$(?<=s\s)")
_SCORE_BEFORE = re.compile(
    r"\b(?:got|scored|score|scoring|marks?|result|rated|passed\s+with)\s*:?\s*$"
)
_SCORE_AFTER = re.compile(r"^\s*(?:on|in|for)\s+(?:the\s+|my\s+)?(?:\w+\s+)?"
                          r"(?:quiz|test|exam|assessment|questions|mcq)"
                          r"|^\s*(?:correct|marks|points|score)")
_CORRECTION = re.compile(
    r"[?!.,;-]\s*(?:no|nope|sorry|oops|correction|actually)\b[,!.\s]*(?:wait\b[,!.\s]*)?"
    r"(?:(?:it\s+)?was\s+)?"
    rf"(?=(?:yesterday|yday|today|tonight|last|this|on|the\s+\d|\d|earlier|sometime|"
    rf"{_WD}|{_MON})\b)"
)
_WD_ORDINAL = re.compile(
    rf"[\s,]*(?:the\s+)?(?P<d>(?:[12]\d|3[01]|0?[1-9]){_ORD})(?P<rest>\s+(?:of\s+)?(?:{_MON})\b)?"
)
_ABBREV_BAD_PREV = {"the", "a", "in", "under", "of", "i", "we", "he", "she", "they", "you",
                    "who", "had", "have", "was", "were", "then", "just", "also"}


@dataclass
class DateResult:
    """Resolved dates (both None when the text names no day), flags, and spans used."""

    start: dt.date | None
    end: dt.date | None
    flags: list[str] = field(default_factory=list)
    spans: list[tuple[int, int]] = field(default_factory=list)


def _monday(d: dt.date) -> dt.date:
    return d - dt.timedelta(days=d.weekday())


def _latest_weekday(today: dt.date, wd: int) -> dt.date:
    return today - dt.timedelta(days=(today.weekday() - wd) % 7)


def _last_week_weekday(today: dt.date, wd: int) -> dt.date:
    return _monday(today) - dt.timedelta(days=7) + dt.timedelta(days=wd)


def _safe(y: int, m: int, d: int) -> dt.date | None:
    try:
        return dt.date(y, m, d)
    except ValueError:
        return None


def _day(s: str) -> int:
    return int(re.sub(r"\D", "", s))


def _latest_month_day(today: dt.date, month: int, day: int) -> dt.date | None:
    """The latest date with this month and day that is not after ``today``."""
    for year in (today.year, today.year - 1, today.year - 2, today.year - 4):
        d = _safe(year, month, day)
        if d is not None and d <= today:
            return d
    return None


def _latest_day_of_month(today: dt.date, day: int) -> dt.date | None:
    y, m = today.year, today.month
    for _ in range(13):
        d = _safe(y, m, day)
        if d is not None and d <= today:
            return d
        m -= 1
        if m == 0:
            y, m = y - 1, 12
    return None


def _year(y: str | None) -> int | None:
    if not y:
        return None
    v = int(y)
    return v + 2000 if v < 100 else v


def _at_sentence_start(text: str, pos: int) -> bool:
    before = text[:pos].rstrip()
    return not before or before[-1] in ".!?\n:-("


def _abbrev_ok(s: str, m: re.Match[str]) -> bool:
    """An abbreviated weekday ("sat", "wed", "sun") is a day only where a day would stand."""
    word = m.group("wd")
    if len(word) > 5 or word in {"monday", "friday", "sunday"}:
        return True
    if m.group("mod"):
        return True
    prev = re.findall(r"[a-z&-]+", s[max(0, m.start() - 20): m.start()])
    nxt = re.match(r"[\s.]*([a-z&-]*|\d?)", s[m.end():])
    prev_w = prev[-1] if prev else ""
    next_w = nxt.group(1) if nxt else ""
    if prev_w in _ABBREV_BAD_PREV:
        return False
    before = s[: m.start()].rstrip()
    after = s[m.end():].lstrip(" .")
    if before and before[-1] in ",;-(/|" and (not after or after[0] in ",;-)/|!" or
                                               after[0].isdigit()):
        return True
    if prev_w in _ABBREV_OK_PREV:
        return True
    return next_w in _ABBREV_OK_NEXT or next_w.isdigit()


class _Collector:
    def __init__(self, text: str, today: dt.date) -> None:
        self.s = text.lower()
        self.today = today
        self.found: list[tuple[dt.date, dt.date]] = []
        self.flags: list[str] = []
        self.spans: list[tuple[int, int]] = []
        self.weekend: tuple[dt.date, dt.date] | None = None
        self.found_at: list[int] = []

    def add(self, span: tuple[int, int], start: dt.date | None, end: dt.date | None = None,
            clip: bool = False) -> None:
        self.s = self.s[: span[0]] + " " * (span[1] - span[0]) + self.s[span[1]:]
        self.spans.append(span)
        end = end or start
        if start is None or end is None:
            return
        if start > end:
            start, end = end, start
        if start > self.today:
            self.flags.append("future_date")
            return
        if end > self.today:
            self.flags.append("future_date")
            if not clip:
                return
            end = self.today
        self.found.append((start, end))
        self.found_at.append(span[0])


def parse_dates(text: str, today: dt.date) -> DateResult:
    """Resolve the dates in ``text`` (already cleaned) against the message date ``today``."""
    c = _Collector(text, today)
    t = today
    low = text.lower()  # unmasked, for the words around an abbreviated weekday

    for m in list(_ISO.finditer(c.s)):
        c.add(m.span(), _safe(int(m["y"]), int(m["m"]), int(m["d"])))
    for m in list(_SLASH.finditer(c.s)):
        if _SCORE_BEFORE.search(c.s[: m.start()]) or _SCORE_AFTER.match(c.s[m.end():]):
            continue
        if m["m"] in {"10", "20"} and not m["y"] and not m["dd"] and re.search(
                r"\b(?:quiz|test|exam|score|questions|assessment)\b", c.s[max(0, m.start() - 50):
                                                                        m.start()]):
            continue
        if m["dd"]:
            day, month, year = int(m["dd"]), int(m["dm"]), _year(m["dy"])
        else:
            day, month, year = int(m["d"]), int(m["m"]), _year(m["y"])
        if not (1 <= month <= 12 and 1 <= day <= 31):
            continue
        if year is None:
            c.add(m.span(), _latest_month_day(t, month, day))
        else:
            c.add(m.span(), _safe(year, month, day))
    for rx in (_DAY_MONTH_RANGE, _MONTH_DAY_RANGE):
        for m in list(rx.finditer(c.s)):
            m1 = MONTHS[m["m1"]] if m["m1"] else None
            m2 = MONTHS[m["m2"]] if m["m2"] else None
            m1 = m1 or m2
            m2 = m2 or m1
            if m1 is None or m2 is None:
                continue
            d1, d2 = _day(m["d1"]), _day(m["d2"])
            year = _year(m["y"])
            if year is None:
                for y in (t.year, t.year - 1):
                    y1 = y - 1 if m1 > m2 else y
                    start, end = _safe(y1, m1, d1), _safe(y, m2, d2)
                    if start is not None and start <= t:
                        c.add(m.span(), start, end, clip=True)
                        break
                else:
                    c.add(m.span(), None)
            else:
                c.add(m.span(), _safe(year, m1, d1), _safe(year, m2, d2), clip=True)
    for rx in (_DAY_MONTH, _MONTH_DAY):
        for m in list(rx.finditer(c.s)):
            if (rx is _MONTH_DAY and m["m"] == "may" and not re.search(_ORD, m["d"])
                    and not re.match(r"\s*(?:$|[,.;)!]|\d{4})", c.s[m.end():])
                    and not re.search(r"\b(?:on|from|since)\s+$", c.s[: m.start()])):
                continue
            if rx is _MONTH_DAY and m["m"] in {"mar", "sat", "sun"} and not re.search(_ORD, m["d"]):
                continue
            month, day, year = MONTHS[m["m"]], _day(m["d"]), _year(m["y"])
            if year is None:
                c.add(m.span(), _latest_month_day(t, month, day))
            else:
                c.add(m.span(), _safe(year, month, day))
    for m in list(_THE_NTH.finditer(c.s)) + list(_ORD_ONLY.finditer(c.s)):
        if c.s[m.start(): m.end()].strip() == "":
            continue
        first_day = _latest_day_of_month(t, _day(m["d1"]))
        last_day = _latest_day_of_month(t, _day(m["d2"])) if m.groupdict().get("d2") else None
        if first_day and last_day and first_day > last_day:
            first_day = _safe(last_day.year, last_day.month, _day(m["d1"]))
        c.add(m.span(), first_day, last_day)

    for m in list(_DAY_BEFORE.finditer(c.s)):
        c.add(m.span(), t - dt.timedelta(days=2))
    for m in list(_YESTERDAY.finditer(c.s)):
        c.add(m.span(), t - dt.timedelta(days=1))
    for m in list(_TODAY.finditer(c.s)):
        if text[m.start()].isupper() and not _at_sentence_start(text, m.start()):
            c.add(m.span(), None)  # "Sailing Today": part of a name
            continue
        c.add(m.span(), t)
    for m in list(_AGO.finditer(c.s)):
        n = 1 if m["n"] in {"a", "one"} else int(m["n"]) if m["n"].isdigit() else {
            "two": 2, "three": 3, "four": 4, "five": 5, "six": 6}[m["n"]]
        unit = {"w": 7, "f": 14}.get(m["u"][0], 1)
        c.add(m.span(), t - dt.timedelta(days=n * unit))
    for m in list(_FUTURE_WORDS.finditer(c.s)):
        c.add(m.span(), t + dt.timedelta(days=1))
    for m in list(_WEEKEND.finditer(c.s)):
        sat = _monday(t) - dt.timedelta(days=2) if m["mod"] == "last" else _latest_weekday(t, 5)
        c.add(m.span(), sat, min(sat + dt.timedelta(days=1), t))
        if c.found and c.found[-1][0] == sat:
            c.weekend = c.found[-1]
    for m in list(_WD_RANGE.finditer(c.s)):
        if _RECURRING.search(c.s[: m.start()]):
            c.add(m.span(), None)
            continue
        if len(m["b"]) <= 4 and not re.match(r"\s*(?:$|[,.;)!/|(-]|\d|(?:morning|afternoon|evening|"
                                             r"am|pm|this|last|week)\b)", c.s[m.end():]):
            continue
        a, b = WEEKDAYS[m["a"]], WEEKDAYS[m["b"]]
        mod = (m["mod"] or "").strip()
        if mod == "last":
            start, end = _last_week_weekday(t, a), _last_week_weekday(t, b)
        else:
            end = _latest_weekday(t, b)
            start = end - dt.timedelta(days=(b - a) % 7)
        c.add(m.span(), start, end)
    for m in list(_WEEKDAY.finditer(c.s)):
        capitalised = text[m.start("wd")].isupper() and not _at_sentence_start(text, m.start("wd"))
        if not (capitalised or _abbrev_ok(low, m)):
            continue
        if _RECURRING.search(c.s[: m.start()]):
            c.add(m.span(), None)
            continue
        mod = (m["mod"] or "").strip()
        wd = WEEKDAYS[m["wd"]]
        ordinal = _WD_ORDINAL.match(low, m.end())
        if ordinal and mod != "last":
            # "Tuesday 3rd", "Mon 2nd March": the day of the month decides
            if not ordinal["rest"]:
                c.add((m.start(), ordinal.end()), _latest_day_of_month(t, _day(ordinal["d"])))
            else:
                c.add(m.span(), None)
            continue
        if mod == "next":
            c.add(m.span(), t + dt.timedelta(days=1))
        elif mod == "last":
            c.add(m.span(), _last_week_weekday(t, wd))
        elif mod == "this":
            c.add(m.span(), _monday(t) + dt.timedelta(days=wd))  # later this week: flagged
        else:
            c.add(m.span(), _latest_weekday(t, wd))

    # "today? no, yesterday": a correction drops what was said before it
    corrections = [m.end() for m in _CORRECTION.finditer(low)]
    if corrections:
        last = corrections[-1]
        kept = [(f, at) for f, at in zip(c.found, c.found_at, strict=True) if at >= last]
        c.found = [f for f, _ in kept]
        c.found_at = [at for _, at in kept]
    if c.weekend is not None and c.weekend in c.found:
        inside = [f for f in c.found if f[0] == f[1] and c.weekend[0] <= f[0] <= c.weekend[1]]
        if inside:
            c.found.remove(c.weekend)
    flags = sorted(set(c.flags))
    if not c.found:
        return DateResult(None, None, flags, sorted(c.spans))
    start = min(a for a, _ in c.found)
    end = max(b for _, b in c.found)
    return DateResult(start, end, flags, sorted(c.spans))
