"""What a member's reply about a claim says: corrections, reflections, and the rest.

The rule (the member is told the outcome, so it can be checked):

1. The text is read line by line (quotes and signature were stripped by the channel).
2. A **heading** starts a reflection: ``New knowledge and skills``/``What I learned``/
   ``Knowledge``/``Reflection`` → ``new_knowledge``; ``Behaviour and approach``/``Behaviour``
   → ``behaviour``; ``Impact and results``/``Impact``/``Results`` → ``impact``, written as
   ``Heading: text`` or as a line of its own followed by the text. Everything under a heading
   belongs to that reflection until the next heading; it is never read as a correction.
3. Outside headings, a line is a **correction** when it starts with a correction word
   (``hours``, ``duration``, ``date``, ``kind``, ``type``, ``correction``, ``actually``,
   ``sorry``, ``it was``, ``it took``, ``should be``) or is short (at most
   ``SHORT_LINE_WORDS`` words) and the NLP step finds hours or a date in it. From a correction
   line the NLP step's hours and dates correct the claim; its kind does only on a line that
   names the kind (``kind:``/``type:``/``it was a ...``) with at least the service's
   confidence. A field the reply does not state is never changed.
4. The **remainder** (other lines outside headings) is for the caller to place: the claim's
   missing mandatory reflection, else a note to the secretary (see ``cpd.claims.amend``).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any, Protocol

SHORT_LINE_WORDS = 10
MAX_REFLECTION_CHARS = 4000

_HEADINGS: tuple[tuple[str, str], ...] = (
    (
        r"new\s+knowledge(?:\s+(?:and|&)\s+skills?)?|what\s+i(?:'ve|\s+have)?\s+learn[te]d?"
        r"|knowledge|reflections?|learning",
        "new_knowledge",
    ),
    (r"behaviou?r(?:\s+(?:and|&)\s+approach)?|approach", "behaviour"),
    (r"impact(?:\s+(?:and|&)\s+results?)?|results?", "impact"),
)
_HEADING = re.compile(
    r"^\s*[*_#>-]*\s*(?P<head>" + "|".join(f"(?:{p})" for p, _ in _HEADINGS) + r")\s*[*_]*"
    r"\s*(?:(?P<sep>[:\-–—])\s*(?P<rest>.*)|$)",
    re.IGNORECASE,
)
_CORRECTION = re.compile(
    r"^\s*(?:hours?|duration|date|when|kind|type|activity|correction|corrected|actually|"
    r"sorry|it\s+was|it\s+took|that\s+was|should\s+(?:be|have\s+been)|not\b)",
    re.IGNORECASE,
)
_KIND_CUE = re.compile(
    r"^\s*(?:(?:kind|type|activity)\s*[:=\-–]|(?:actually\s+|sorry,?\s+)?"
    r"(?:it|that)\s+was\s+(?:a|an|actually\s+a|actually\s+an)\b)",
    re.IGNORECASE,
)
_BARE_HOURS = re.compile(
    r"^\s*(?:hours?|duration|time)\s*[:=\-–]\s*(\d{1,3}(?:[.,]\d{1,2})?)\s*"
    r"(?:h|hrs?|hours?)?\s*\.?\s*$",
    re.IGNORECASE,
)


class Extracting(Protocol):
    """The NLP step (``cpd.nlp.Extractor``)."""

    def extract(self, text: str, today: dt.date) -> Any: ...


@dataclass(frozen=True, slots=True)
class Reading:
    """What a reply states; ``None``/empty wherever it states nothing."""

    hours: float | None = None
    dates: tuple[dt.date, dt.date] | None = None
    kind: str | None = None
    reflections: dict[str, str] = field(default_factory=dict)
    remainder: str = ""


def _field_of(heading: str) -> str:
    for pattern, name in _HEADINGS:
        if re.fullmatch(pattern, heading.strip(), re.IGNORECASE):
            return name
    return "new_knowledge"


def _words(line: str) -> int:
    return len(re.findall(r"\w+", line))


def read(text: str, extractor: Extracting, today: dt.date, low_confidence: float) -> Reading:
    """Read a reply's text by the rule in the module docstring."""
    hours: float | None = None
    dates: tuple[dt.date, dt.date] | None = None
    kind: str | None = None
    sections: dict[str, list[str]] = {}
    remainder: list[str] = []
    current: str | None = None
    for line in text.splitlines():
        if not line.strip():
            continue
        heading = _HEADING.match(line)
        # "Results: ..." is a heading; "Results were good" is text.
        if heading is not None and (heading.group("sep") or not heading.group("rest")):
            current = _field_of(heading.group("head"))
            rest = (heading.group("rest") or "").strip()
            if rest:
                sections.setdefault(current, []).append(rest)
            continue
        if current is not None:
            sections.setdefault(current, []).append(line.strip())
            continue
        found = _correction(line, extractor, today, low_confidence)
        if found is None:
            remainder.append(line.strip())
            continue
        line_hours, line_dates, line_kind = found
        hours = line_hours if line_hours is not None else hours
        dates = line_dates if line_dates is not None else dates
        kind = line_kind if line_kind is not None else kind
    reflections = {
        name: "\n".join(lines)[:MAX_REFLECTION_CHARS]
        for name, lines in sections.items()
        if any(ch.isalnum() for ch in "".join(lines))
    }
    return Reading(hours, dates, kind, reflections, "\n".join(remainder)[:MAX_REFLECTION_CHARS])


def _correction(
    line: str, extractor: Extracting, today: dt.date, low_confidence: float
) -> tuple[float | None, tuple[dt.date, dt.date] | None, str | None] | None:
    """(hours, dates, kind) a correction line states, or None when the line is not one."""
    cued = _CORRECTION.match(line) is not None
    if not cued and _words(line) > SHORT_LINE_WORDS:
        return None
    bare = _BARE_HOURS.match(line)
    activity = extractor.extract(line, today)
    hours = float(bare.group(1).replace(",", ".")) if bare else activity.hours
    dates = None
    if activity.start_date is not None:
        dates = (activity.start_date, activity.end_date or activity.start_date)
    kind = None
    if _KIND_CUE.match(line) and (activity.confidence or 0.0) >= low_confidence:
        kind = activity.kind
    if hours is None and dates is None and kind is None:
        return None
    return hours, dates, kind
