"""Clock times and time ranges in a member's words ("9 till 6", "half past nine to 4pm",
"10:00-12:30"): words turned into digits, and a range's length in hours (``None`` when the
match is not a time range: a year span, chapter numbers, a count of people).
"""

from __future__ import annotations

import re

_TIME = r"(?P<{n}h>\d{{1,2}})(?:[:.]?(?P<{n}m>[0-5]\d))?(?:\s*(?P<{n}s>[ap])\.?m\.?)?(?![\w/])"
_RANGE_RE = re.compile(
    r"(?<![\w/£$.:-])(?P<pre>from\s+|between\s+)?"
    + _TIME.format(n="a")
    + r"\s*(?P<conn>-|to|till|til|'til|until|and|2(?=\s*\d{1,2}\s*[ap]\.?m))\s*"
    + _TIME.format(n="b")
)
_RANGE_OK_NEXT = {
    "",
    "with",
    "on",
    "at",
    "in",
    "today",
    "yesterday",
    "yday",
    "tonight",
    "and",
    "incl",
    "including",
    "inc",
    "excluding",
    "excl",
    "minus",
    "less",
    "then",
    "so",
    "but",
    "last",
    "this",
    "plus",
    "session",
    "sessions",
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
    "mon",
    "tue",
    "tues",
    "wed",
    "thu",
    "thur",
    "thurs",
    "fri",
    "sat",
    "sun",
    "for",
    "via",
    "online",
    "am",
    "pm",
    "approx",
    "roughly",
    "ish",
    "or",
}
_RANGE_BAD_PREV = re.compile(
    r"(?<![a-z])(chapters?|pages?|pp|modules?|sections?|units?|weeks?|years?|levels?|aged?|ages|"
    r"grades?|"
    r"steps?|questions?|items?|nos?|no\.|parts?|lessons?|£|\$|scored?|between\s+the)\s*$"
)
_UNIT_AFTER = re.compile(r"\s*-?\s*(hours?|hrs?|h\b|mins?|minutes?|m\b|days?|x\b|%|people|yr)")


_CLOCK_WORDS = {
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
}
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

    if not any(
        w in s for w in ("past", "quarter", "clock", "noon", "midday", "half", "until", "till")
    ):
        return s  # cheap guard: most texts have no clock words
    return _WORD_TIME.sub(digits, s)


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
    glued_b = (
        bool(g["bm"])
        and re.fullmatch(r"\d{4}", g["bh"].zfill(2) + g["bm"])
        and re.search(r"\d{4}", m.group(0)[m.start("bh") - m.start() :])
    )
    if (glued_a and not (glued_b or g["bs"])) or (glued_b and not (glued_a or g["as"])):
        return None  # "2026 - 7": a year, not 20:26
    ah, bh = int(g["ah"]), int(g["bh"])
    if (
        re.match(
            r"(?:from\s+|between\s+)?(?:19|20)\d\d\s*(?:-|to)\s*(?:19|20)?\d\d(?!\d)", m.group(0)
        )
        and not g["as"]
    ):
        return None  # "2024-2025": years
    if ah > 24 or bh > 24 or (g["am"] and int(g["am"]) > 59) or (g["bm"] and int(g["bm"]) > 59):
        return None
    explicit = bool(g["as"] or g["bs"] or g["am"] or g["bm"])
    after = s[m.end() :]
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
