"""Certificate wording as cues of its own: the text read from a certificate (OCR or a PDF's text
layer) says its facts in labelled lines a message does not use ("This is to certify that",
"CPD hours: 6", "Points awarded: 3", "Date of attendance: 12 March 2026", "Issued by ...").

Pure: the evidence text and the day it is read against in, :class:`CertificateCues` out.
:func:`cpd.nlp.extract.Extractor.extract` calls :func:`read_certificate` with the evidence
text as a separate input and fills what the member's own words lack.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass

from cpd.nlp.attributes import provider as provider_of
from cpd.nlp.dates import parse_dates
from cpd.nlp.durations import parse_hours

MAX_LINES = 80

_CERTIFYING = re.compile(
    r"\b(?:this\s+is\s+to\s+certify|certif(?:y|ies)\s+that|we\s+confirm\s+that|awarded\s+to"
    r"|certificate\s+of\s+(?:attendance|completion|achievement|participation|cpd)"
    r"|cpd\s+certificate|has\s+(?:successfully\s+)?(?:completed|attended|participated))\b",
    re.IGNORECASE,
)
_NUMBER = r"(?P<n>\d{1,3}(?:[.,]\d{1,2})?|one|two|three|four|five|six|seven|eight|nine|ten|twelve)"
_HOURS = (
    re.compile(
        rf"\b(?:cpd|learning|training|contact|study)?\s*hours?\s*(?:awarded|achieved|claimed)?"
        rf"\s*[:=\-]\s*{_NUMBER}\b",
        re.IGNORECASE,
    ),
    re.compile(
        rf"\b{_NUMBER}\s*(?:cpd\s+|learning\s+|training\s+|contact\s+)?(?:hours?|hrs?)\b",
        re.IGNORECASE,
    ),
    re.compile(rf"\bduration\s*[:=\-]?\s*{_NUMBER}\s*(?:hours?|hrs?|h)\b", re.IGNORECASE),
)
_POINTS = (
    re.compile(
        rf"\b(?:cpd\s+)?(?:points?|credits?)\s*(?:awarded|achieved)?\s*[:=\-]\s*{_NUMBER}\b",
        re.IGNORECASE,
    ),
    re.compile(
        rf"\b{_NUMBER}\s*(?:cpd\s+)?(?:points?|credits?)(?:\s+(?:awarded|achieved))?\b",
        re.IGNORECASE,
    ),
)
_WORDS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
          "eight": 8, "nine": 9, "ten": 10, "twelve": 12}  # fmt: skip
_ATTENDANCE_DATE = re.compile(
    r"\b(?:date\s+of\s+(?:attendance|the\s+event|event|course|activity|completion|training)"
    r"|(?:held|attended|completed|took\s+place)\s+on|event\s+date|course\s+date|date)\b\s*:?",
    re.IGNORECASE,
)
_ISSUE_DATE = re.compile(r"\b(?:date\s+of\s+issue|issued\s+on|issue\s+date|valid)\b", re.I)
_ISSUER = re.compile(
    r"\b(?:issued|presented|awarded|provided|organi[sz]ed|delivered|accredited)\s+by\s*:?\s*"
    r"(?P<org>.+)|\b(?:issuer|provider|organi[sz]er|training\s+provider)\s*:\s*(?P<org2>.+)",
    re.IGNORECASE,
)
_TITLE_LABEL = re.compile(
    r"^\s*(?:course|event|activity|title|module|programme|program|workshop|subject|session"
    r"|webinar|conference)\s*(?:title|name)?\s*:\s*(?P<t>.+)$",
    re.IGNORECASE,
)
_LEAD_IN = re.compile(
    r"\b(?:attended|completed|completing|took\s+part\s+in|participated\s+in"
    r"|participation\s+in|for\s+completing|for\s+attending|has\s+completed)\b\s*(?P<rest>.*)$",
    re.IGNORECASE,
)
_KIND_NOUNS: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (kind, re.compile(rf"\b(?:{words})\b", re.IGNORECASE))
    for kind, words in (
        ("exhibition", r"exhibition|boat\s+show|trade\s+show|expo|trade\s+fair"),
        ("conference", r"conference|symposium|congress|summit|convention"),
        ("training", r"course|workshop|webinar|seminar|training|e-?learning|module|masterclass"),
        ("qualification", r"diploma|degree|nvq|hnc|hnd|qualification"),
    )
)
_NOT_TITLE = re.compile(
    r"certif|\bawarded\s+to\b|\bparticipant\b|\bdate\b|\bhours?\b|\bpoints?\b|\bsigned\b|"
    r"\bissued\b|\bpresented\b",
    re.IGNORECASE,
)
_ACTIVITY_ONLY = re.compile(
    r"^(?:the\s+|a\s+|an\s+)?(?:[\w-]+\s+){0,2}(?:course|workshop|webinar|seminar|module|"
    r"conference|symposium|congress|exhibition|event|training|programme|session)[\s.:]*$",
    re.IGNORECASE,
)
_GENERIC_ISSUER = re.compile(r"^(?:the\s+)?(?:organi[sz]ers?|organi[sz]ing\s+committee)\b", re.I)


@dataclass(frozen=True)
class CertificateCues:
    """What certificate wording states; None wherever it does not say. ``cues`` names the
    wording found (``certifying``, ``hours``, ``points``, ``date``, ``issuer``, ``title``)."""

    is_certificate: bool
    kind: str | None = None
    hours: float | None = None
    points: float | None = None
    start_date: dt.date | None = None
    end_date: dt.date | None = None
    title: str | None = None
    issuer: str | None = None
    provider: str | None = None
    cues: tuple[str, ...] = ()


def clean_lines(text: str) -> list[str]:
    """The text's lines with OCR debris removed (``"Duration:.7.5. hours"`` reads
    ``"Duration: 7.5 hours"``)."""
    lines = []
    for raw in text.splitlines()[:MAX_LINES]:
        line = raw.replace("\u2014", "-").replace("\u2013", "-").replace("|", " ")
        line = re.sub(r"([:;])\s*[.,_'`]+\s*", r"\1 ", line)
        line = re.sub(r"(\d)[.,](?=\s|$)", r"\1", line)
        line = re.sub(r"(?<=\s)[.,_'`~-]+(?=\s)|^[\s.,_'`~-]+|[\s_'`~]+$", " ", line)
        line = " ".join(line.split())
        if any(ch.isalnum() for ch in line):
            lines.append(line)
    return lines


def _number(value: str) -> float | None:
    if value.lower() in _WORDS:
        return float(_WORDS[value.lower()])
    try:
        return float(value.replace(",", "."))
    except ValueError:
        return None


def _first(patterns: tuple[re.Pattern[str], ...], lines: list[str]) -> float | None:
    for pattern in patterns:
        for line in lines:
            match = pattern.search(line)
            if match:
                value = _number(match.group("n"))
                if value is not None and 0 < value <= 500:
                    return value
    return None


def _hours(lines: list[str]) -> float | None:
    found = _first(_HOURS, lines)
    if found is not None:
        return found
    for line in lines:  # the message rules: "from 9 till 5", "two days"
        hours = parse_hours(line).hours
        if hours is not None and 0 < hours <= 500:
            return hours
    return None


def _dates(lines: list[str], today: dt.date) -> tuple[dt.date | None, dt.date | None]:
    labelled = [ln for ln in lines if _ATTENDANCE_DATE.search(ln) and not _ISSUE_DATE.search(ln)]
    others = [ln for ln in lines if ln not in labelled and not _ISSUE_DATE.search(ln)]
    issued = [ln for ln in lines if _ISSUE_DATE.search(ln)]
    for line in [*labelled, *others, *issued]:
        result = parse_dates(_plain(line), today)
        if result.start is not None:
            return result.start, result.end or result.start
    return None, None


def _plain(line: str) -> str:
    """Without accents OCR puts on plain letters ("Séptember")."""
    decomposed = unicodedata.normalize("NFKD", line)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def _issuer(lines: list[str]) -> str | None:
    for line in lines:
        match = _ISSUER.search(line)
        if match:
            org = (match.group("org") or match.group("org2") or "").strip(" .,:;")
            if org and not _GENERIC_ISSUER.match(org):
                return org[:120]
    for line in lines[:3]:  # a letterhead: the organisation's name on top
        if not _CERTIFYING.search(line) and (
            provider_of(line) is not None or provider_of(f"Issued by {line}") is not None
        ):
            return line.strip(" .,:;")[:120]
    return None


def _title(lines: list[str]) -> str | None:
    for line in lines:
        match = _TITLE_LABEL.match(line)
        if match:
            return match.group("t").strip(" .\"'")[:200]
    for index, line in enumerate(lines):
        match = _LEAD_IN.search(line)
        if not match:
            continue
        rest = match.group("rest").strip(" .:")
        if rest and not _ACTIVITY_ONLY.match(rest):
            return rest.strip("\"'")[:200]
        if index + 1 < len(lines) and not _NOT_TITLE.search(lines[index + 1]):
            return lines[index + 1].strip(" .\"'\u201c\u201d")[:200]
    for line in lines:
        quoted = re.search(r"[\"\u201c](?P<t>[^\"\u201d]{4,200})[\"\u201d]", line)
        if quoted:
            return quoted.group("t").strip()
    return None


def _kind(title: str | None, lines: list[str]) -> str | None:
    for text in [title or "", *lines]:
        for kind, pattern in _KIND_NOUNS:
            if pattern.search(text):
                return kind
    return None


def read_certificate(text: str, today: dt.date) -> CertificateCues:
    """The facts certificate wording in ``text`` states (dates resolved against ``today``)."""
    lines = clean_lines(text)
    if not lines:
        return CertificateCues(is_certificate=False)
    cues: list[str] = []
    certifying = any(_CERTIFYING.search(line) for line in lines)
    if certifying:
        cues.append("certifying")
    hours = _hours(lines)
    points = _first(_POINTS, lines)
    start, end = _dates(lines, today)
    issuer = _issuer(lines)
    title = _title(lines)
    for name, value in (
        ("hours", hours),
        ("points", points),
        ("date", start),
        ("issuer", issuer),
        ("title", title),
    ):
        if value is not None:
            cues.append(name)
    provider = None
    if issuer is not None:
        provider = provider_of(issuer) or provider_of(f"Issued by {issuer}") or "external"
    return CertificateCues(
        is_certificate=certifying or ("hours" in cues or "points" in cues) and start is not None,
        kind=_kind(title, lines) if certifying or title else None,
        hours=hours,
        points=points,
        start_date=start,
        end_date=end,
        title=title,
        issuer=issuer,
        provider=provider,
        cues=tuple(cues),
    )
