"""Stated durations in a member's words: one phrase ("90 mins", "an hour and a half",
"half an hour", "1h30") and its value in hours.

``DURATION`` is the regex for one such phrase; :mod:`cpd.nlp.durations` builds its breaks,
repeats and totals from it.
"""

from __future__ import annotations

import re

from cpd.nlp.numbers import FRACTIONS, NUM, to_number

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
