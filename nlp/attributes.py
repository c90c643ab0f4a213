"""Provider, test, co-authors and title of an activity, by rule (SCHEMES.md "Attributes").

- ``provider``: ``institute``, ``external`` or ``None`` (its rules live in
  :mod:`cpd.nlp.provider`; re-exported here).
- ``has_test``: the member took (and did not fail) a test, exam, assessment or quiz; examining
  others is not a test.
- ``co_authors``: number of authors including the member, for articles and books, when stated.
- ``title``: a short name for a records list, built from the text with dates, durations and
  chatter removed.
"""

from __future__ import annotations

import re

from cpd.nlp import gazetteers as gz
from cpd.nlp.numbers import COUNT_WORDS, to_number
from cpd.nlp.provider import provider

__all__ = ["MAX_TITLE", "co_authors", "has_test", "provider", "title"]

# --- tests -------------------------------------------------------------------------------

_TEST_NOUN = r"(?:tests?|exams?|examinations?|quiz(?:zes)?|assessments?|mcqs?|epa)"
_TEST_TAKEN = [
    re.compile(r"\bpass(?:ed|ing)\b(?!\s+(?:on|away|it\s+on|round|around|over|through|by|to)\b)"),
    re.compile(
        rf"\b(?:took|take|taken|sat|did|done|completed|complete|finished|doing|"
        rf"attempted|ended\s+with|with|w/|plus|followed\s+by|incl\.?|including|"
        rf"included)\s+(?:\w+\s+){{0,4}}?{_TEST_NOUN}\b"
    ),
    re.compile(rf"\b{_TEST_NOUN}\s*(?:\(?\s*(?:passed|done|completed|taken|at\s+the\s+end))"),
    re.compile(
        r"\b(?:end[- ]of[- ](?:module|course|unit)|online|final|practical|written|"
        r"end[- ]point)\s+(?:test|exam|assessment|quiz)\b"
    ),
    re.compile(r"\bquiz(?:zes)?\b"),
]
_QUESTIONS_DONE = re.compile(
    r"\b(?:did|answered|completed|done)\s+(?:the|all\s+the)\s+(?:\w+\s+)?questions\b"
    r"|\b(?:exam|test|quiz|assessment)\s+results?\s*(?:-|:|was|=)?\s*(?:a\s+)?pass(?:ed)?\b"
    r"|\b\d{1,3}\s*/\s*\d{1,3}\s+(?:on|in)\s+(?:the\s+)?(?:quiz|questions|test|mcq)\b"
)
_TEST_NOT = [
    re.compile(
        r"\b(?:examiner|assessor|invigilat\w*|moderat\w*|second[- ]mark\w*|marking|"
        r"marked|exam\s+board|set\s+(?:the|an?|our)\s+(?:\w+\s+){0,3}?"
        r"(?:questions|exam|test|paper|quiz))\b"
    ),
    re.compile(r"\b(?:no|without\s+an?|didn'?t\s+\w+\s+(?:the|an?))\s+" + _TEST_NOUN + r"\b"),
    re.compile(r"\b(?:revising|revise|studying|study|preparing|prep|prepare|booked)\s+for\b"),
]
_FAILED = re.compile(r"\b(?:failed|didn'?t\s+pass|did\s+not\s+pass|not\s+passed)\b")
_NOT_A_TEST = re.compile(
    r"\b(?:risk|needs|self|training\s+needs|impact|site|competency\s+of|health\s+and\s+safety)"
    r"[- ]assessments?\b|\b(?:mot|blood|pressure|leak|emissions|road|drug|stress|load|battery|"
    r"smoke|pat|unit|patch|penetration|pen|user|acceptance|ab)\s+tests?\b|"
    r"\b(?:quiz|test|exam)\s+(?:night|app|apps|show|master|questions\s+for)\b|"
    rf"\b{_TEST_NOUN}\s+(?:prep|preparation|revision|practice)\b"
)


def has_test(text: str, kind: str | None = None) -> tuple[bool, list[str]]:
    """Whether the member took a test/exam/assessment/quiz; flags (``test_failed``)."""
    s = _NOT_A_TEST.sub(" ", text.lower())
    if kind == "examining":
        return False, []
    if any(rx.search(s) for rx in _TEST_NOT[:1]):
        return False, []
    if _FAILED.search(s) and re.search(_TEST_NOUN, s):
        return False, ["test_failed"]
    mentions_test = re.search(rf"\b{_TEST_NOUN}\b", s)
    passed = _TEST_TAKEN[0].search(s)
    if any(rx.search(s) for rx in _TEST_NOT[1:]) and not passed:
        return False, []
    if passed and (
        mentions_test or kind in {"qualification", "training"} or re.search(r"\bquestions\b", s)
    ):
        return True, []
    if mentions_test and any(rx.search(s) for rx in _TEST_TAKEN[1:]):
        return True, []
    if _QUESTIONS_DONE.search(s):
        return True, []
    return False, []


# --- co-authors --------------------------------------------------------------------------

_SOLO = re.compile(
    r"\b(?:solo|on\s+my\s+own|by\s+myself|sole[- ]author(?:ed)?|single[- ]authored|"
    r"wrote\s+it\s+(?:alone|myself)|alone|just\s+me|no\s+co-?authors?|"
    r"all\s+my\s+own\s+work|only\s+author)\b"
)
_ONE_OF = re.compile(
    rf"\bone\s+of\s+(?:the\s+)?(?P<n>{COUNT_WORDS})\s+(?:co-?)?(?:authors|"
    rf"writers|editors|contributors)\b"
)
_WITH_N = re.compile(
    rf"\b(?:with|and)\s+(?:my\s+|our\s+)?(?P<n>{COUNT_WORDS})\s+(?:other\s+|fellow\s+|former\s+|"
    rf"ex-?|\w+\s+)?(?:-?\s*)?(?:colleagues?|co-?authors?|co-?writers?|others|people|"
    rf"researchers|members|surveyors|friends|peers|technicians|scientists|managers|students|"
    rf"engineers|staff)\b"
)
_N_AUTHORS = re.compile(
    rf"\b(?P<n>{COUNT_WORDS})\s+(?:of\s+us|authors|co-?authors\s+in\s+total|"
    rf"names\s+on\s+it)\b"
)
_COLLEAGUE = r"c[a-z]{3,7}gue"
_WITH_SOMEONE = re.compile(
    r"\b(?:co-?(?:wrote|written|authored|writing|authoring)|written|writing|wrote|joint|jointly|"
    r"together)\b[^.;]{0,60}?\bwith\s+(?:a|an|my|our|another|one)\s+"
    r"(?!(?:\w+\s+){0,2}(?:colleagues|others|co-?authors|people)\b)[a-z&'-]+"
    r"|\b(?:me|i)\s+(?:and|\+|&)\s+(?:a|an|my|one)\s+[a-z-]+"
    r"|\bwith\s+(?:a|my|one)\s+(?:" + _COLLEAGUE + r"|co-?author|co-?writer)\b"
    r"|\b(?:my|our)\s+co-?(?:author|writer)\b(?!s)"
)
_WITH_ONE = re.compile(
    r"\b(?:with|and)\s+(?:a|my|our|one)\s+(?:co-?authors?|co-?writers?|colleague|friend|"
    r"manager|supervisor|boss|mentor|partner|peer|other\s+\w+)\b"
    r"|\bjointly\s+with\b|\bco-?(?:wrote|written|authored|writing|authoring)\s+(?:\w+\s+){0,4}?"
    r"with\s+(?:a\s+|my\s+|our\s+)?(?!\w+\s+(?:colleagues|others|co-?authors|people))"
    r"(?:[A-Z][a-z]+|colleague|friend|manager|supervisor|boss|mentor|partner|peer)\b"
)
_WITH_NAMES = re.compile(
    r"\b(?:co-?(?:wrote|written|authored|writing)|wr[io]te|written|writing)\b[^.]{0,60}?\bwith\s+"
    r"(?P<names>(?:(?:Dr\.?|Prof\.?|Mr\.?|Mrs\.?|Ms\.?)\s+)?[A-Z][a-z]+(?:\s+[A-Z][a-z]+)?"
    r"(?:\s*(?:,|and|&)\s*(?:(?:Dr\.?|Prof\.?|Mr\.?|Mrs\.?|Ms\.?)\s+)?[A-Z][a-z]+"
    r"(?:\s+[A-Z][a-z]+)?)*)"
)


def co_authors(text: str, kind: str | None) -> int | None:
    """Number of authors including the member (articles and books only), when stated."""
    if kind not in {"article", "book"}:
        return None
    s = re.sub(r"\bw/\s*", "with ", text.lower())
    m = _ONE_OF.search(s)
    if m:
        n = to_number(m.group("n"))
        return int(n) if n else None
    m = _WITH_N.search(s)
    if m:
        n = to_number(m.group("n"))
        if n:
            return int(n) + 1
    m = _N_AUTHORS.search(s)
    if m:
        n = to_number(m.group("n"))
        if n:
            return int(n)
    m = _WITH_NAMES.search(text)
    if m:
        names = [p for p in re.split(r"\s*(?:,|\band\b|&)\s*", m.group("names")) if p.strip()]
        return len(names) + 1
    if _WITH_ONE.search(text) or _WITH_ONE.search(s) or _WITH_SOMEONE.search(s):
        return 2
    if _SOLO.search(s):
        return 1
    return None


# --- title -------------------------------------------------------------------------------

_LEADING = re.compile(
    r"^(?:(?:i|we)\s+)?(?:(?:have|had|just)\s+)?(?:attended|attending|went\s+to|been\s+to|"
    r"did|done|completed|finished|took\s+part\s+in|took|joined|watched|participated\s+in|"
    r"visited|spent|started|starting|working\s+on|worked\s+on|got|had|was|at|"
    r"please\s+(?:log|record|add)(?:\s+my)?(?:\s+attendance\s+at)?|"
    r"just\s+logging|logging|log|re|claim\s+for|cpd\s*:?)\b\s*",
    re.IGNORECASE,
)
_ARTICLES = re.compile(r"^(?:the|a|an|my|our|some|this)\s+", re.IGNORECASE)
_TRAILING = re.compile(
    r"\s+(?:on|at|in|for|with|and|of|to|from|by|the|a|an|this|last|my|about|approx|around|"
    r"roughly|over|during|which|that|who|as|&|-)$",
    re.IGNORECASE,
)
_CHATTER = re.compile(
    r"[\U0001F000-\U0001FAFF\u2600-\u27BF\uFE0F]|!+|\?+|\b(?:tbh|lol|sorry|pls|please)\b",
    re.IGNORECASE,
)
MAX_TITLE = 60
_SEGMENTS = re.compile(r"[,;!?\n(]|(?<!\d)[.:]|[.:](?!\d)|\s-\s|\s+w/|\s+-\s*$")
_LABEL = re.compile(
    r"^(?:personal\s+)?(?:project|reading|read|book|article|training|course|cpd|mentoring|"
    r"committee|volunteering|teaching|examining|qualification|site\s+visit|other|re|note)$",
    re.IGNORECASE,
)
_TIME_WORDS = re.compile(
    r"^(?:(?:this|last|earlier\s+this|past)\s+(?:week|month|weekend|year)|today|yesterday|"
    r"recently|just\s+now)\s+(?:i\s+|we\s+)?",
    re.IGNORECASE,
)


def title(text: str, remove: list[tuple[int, int]]) -> str | None:
    """A short records-list title from ``text`` with the ``remove`` spans (dates, hours) cut."""
    quoted = re.search(r"['\"‘“](?P<q>[^'\"’”]{4,60})['\"’”]", text)
    chars = list(text)
    for a, b in remove:
        for i in range(a, min(b, len(chars))):
            chars[i] = " "
    s = _CHATTER.sub(" ", "".join(chars))
    s = re.sub(r"\([^)]*\)", " ", s)
    parts = [p.strip(" -'\"") for p in _SEGMENTS.split(s.strip())]
    parts = [p for p in parts if p and any(ch.isalpha() for ch in p)]
    if not parts:
        return quoted.group("q") if quoted else None
    s = parts[0]
    if len(parts) > 1 and _LABEL.match(s):
        s = parts[1]
    s = re.sub(r"\s+", " ", s).strip(" -'\"")
    for _ in range(3):
        s = _TIME_WORDS.sub("", s).strip()
        s = _LEADING.sub("", s).strip()
        s = _ARTICLES.sub("", s).strip()
    s = re.sub(r"^(?:" + "|".join(gz.INSTITUTE_ACRONYMS) + r")(?:'s)?\s+(?=\w+\s+\w)", "", s)
    for _ in range(4):
        s = _TRAILING.sub("", s).strip()
    if (not s or len(s) < 3) and quoted:
        s = quoted.group("q")
    if not s or not any(ch.isalpha() for ch in s):
        return None
    words = s.split()
    out = ""
    for w in words:
        if len(out) + len(w) + 1 > MAX_TITLE:
            break
        out = f"{out} {w}" if out else w
    out = out or s[:MAX_TITLE]
    for _ in range(4):
        out = _TRAILING.sub("", re.sub(r"\s+\d+$", "", out)).strip()
    if not out:
        return None
    return out[0].upper() + out[1:]
