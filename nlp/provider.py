"""The provider of an activity, by rule (SCHEMES.md "Attributes"): ``institute`` when a
member body (IIMS, IIM, IMI, IBMS, "the Institute") or its branch/publication is named;
``external`` when another organisation, publication or named event is; ``None`` otherwise
("at work", "in-house", a bare place name).
"""

from __future__ import annotations

import re

from cpd.nlp import gazetteers as gz

_INSTITUTE_RE = re.compile(
    r"(?<![A-Za-z])(?:" + "|".join(gz.INSTITUTE_ACRONYMS) + r")(?![A-Za-z])", re.IGNORECASE
)
_INSTITUTE_PUBLICATION_RE = re.compile(r"\bThe Report\b|\bI+n+s+t+i+t+u+t+e\b(?!\s+of\b)")
_OWNED_ORG = re.compile(r"\b(?:my|our|her|his|their)\s+$", re.IGNORECASE)
_INSTITUTE_NAME_RE = re.compile(
    r"\b(?:" + "|".join(re.escape(n) for n in gz.INSTITUTE_NAMES) + r")\b", re.IGNORECASE
)


def _names_re(names: tuple[str, ...]) -> re.Pattern[str]:
    alts = sorted((re.escape(n) for n in names), key=len, reverse=True)
    return re.compile(r"(?<![\w-])(?:" + "|".join(alts) + r")(?![\w-])")


_ORG_RE = _names_re(gz.ORGANISATIONS)
_ORG_CI_RE = re.compile(
    _names_re(
        tuple(n for n in gz.ORGANISATIONS if len(n) >= 5 and n not in gz.CASED_NAMES)
    ).pattern,
    re.IGNORECASE,
)
_BRAND_RE = re.compile(_names_re(gz.BRANDS).pattern, re.IGNORECASE)
_BRAND_BEFORE = re.compile(
    r"(?:\bat|\bby|\bwith|\bfrom|\bvia|\bthrough|\bto|\bfor|hosted\s+by|run\s+by|behalf\s+of|"
    r"organi[sz]ed\s+by)\s+(?:the\s+)?$",
    re.IGNORECASE,
)
_CAP_WORD = r"(?:[A-Z][\w'&.-]*|&)"
_CAP_RUN = re.compile(rf"{_CAP_WORD}(?:\s+(?:of|for|and|the|de|&|on)?\s*{_CAP_WORD})*")
_LOWER_HEADS = {
    "magazine",
    "journal",
    "academy",
    "university",
    "college",
    "newsletter",
    "press",
    "podcast",
    "website",
    "blog",
    "bulletin",
}
_NAME = r"(?P<name>[A-Z][\w'&-]*(?:\s+(?:of\s+|&\s+|and\s+)?[A-Z][\w'&-]*)*)"
_BY_CONTEXT = re.compile(
    r"\b(?:on\s+behalf\s+of|(?:run|organi[sz]ed|hosted|provided|delivered|presented|published|"
    r"arranged|sponsored|led|given|offered|accredited|certified|accepted|commissioned|funded|"
    r"supported)\s+by)\s+(?:the\s+)?" + _NAME
)
_AT_CONTEXT = re.compile(
    r"\b(?:at|published\s+in|appeared\s+in|printed\s+in|featured\s+in|articles?\s+in|"
    r"paper\s+in|piece\s+in|issue\s+of|for|in|into|with\s+the)\s+(?:the\s+|The\s+)?" + _NAME
)
_NOT_ORG_WORDS = (
    gz.PLACES
    | gz.WEEKDAY_MONTH_WORDS
    | gz.NATIONALITIES
    | {
        "i",
        "i'm",
        "my",
        "our",
        "work",
        "home",
        "the",
        "a",
        "an",
        "it",
        "this",
        "that",
        "we",
        "me",
        "mr",
        "mrs",
        "ms",
        "dr",
        "prof",
        "uni",
        "christmas",
        "easter",
        "covid",
        "am",
        "pm",
        "level",
        "cert",
        "diploma",
        "certificate",
        "degree",
        "module",
        "unit",
        "part",
        "pg",
    }
)
_PERSON_TITLES = re.compile(r"^(?:Dr|Mr|Mrs|Ms|Miss|Prof|Professor|Sir|Dame)\.?\s")


def _sentence_start(text: str, pos: int) -> bool:
    before = text[:pos].rstrip()
    return not before or before[-1] in ".!?:;\n-(\"'"


def _is_named_org(text: str) -> bool:
    """A capitalised name holding an organisation or event word ("Solent University")."""
    for m in _CAP_RUN.finditer(text):
        words = [re.sub(r"'s$", "", w) for w in re.findall(r"[\w'&.-]+", m.group(0))]
        lowered = [w.lower().strip(".'") for w in words]
        nxt = re.match(r"\s+([a-z]+)", text[m.end() :])
        if nxt and nxt.group(1) in _LOWER_HEADS:
            lowered.append(nxt.group(1))
            words.append(nxt.group(1))
        heads = [w for w in lowered if w in gz.ORG_HEADS]
        if not heads or lowered[0] in _AWARD_WORDS:
            continue
        others = [
            w
            for w in lowered
            if w not in gz.ORG_HEADS and w not in {"of", "and", "&", "the", "for", "on"}
        ]
        if not others:
            continue
        specific = [w for w in others if w not in gz.GENERIC_NAME_WORDS]
        initial = _sentence_start(text, m.start())
        if not specific and (initial or len(words) < 2):
            continue
        if initial and len(words) < 2:
            continue
        return True
    return False


def _context_org(text: str) -> bool:
    """An organiser named after "run by", "at", "published in" and the like."""
    for rx in (_BY_CONTEXT, _AT_CONTEXT):
        for m in rx.finditer(text):
            name = m.group("name")
            if _PERSON_TITLES.match(name + " "):
                continue
            words = [w.lower().strip("'.") for w in re.findall(r"[\w'&-]+", name)]
            words = [w[:-2] if w.endswith("'s") else w for w in words]
            if not words or all(
                w in _NOT_ORG_WORDS
                or w in gz.GENERIC_NAME_WORDS
                or w.upper() in gz.INSTITUTE_ACRONYMS
                for w in words
            ):
                continue
            if words[0] in _AWARD_WORDS:
                continue
            if words[0] in {"i", "my", "our", "work"}:
                continue
            lead = m.group(0).split()[0].lower()
            if (
                rx is _AT_CONTEXT
                and lead in {"for", "in", "into", "with"}
                and len(words) < 2
                and " The " not in f" {m.group(0)} "
            ):
                continue
            if any(w.upper() in gz.TOPIC_ACRONYMS for w in words) and len(words) <= 2:
                continue
            if rx is _AT_CONTEXT and len(words) == 1 and name.upper() == name and len(name) <= 4:
                continue
            return True
    return False


def provider(text: str) -> str | None:
    """``institute``, ``external`` or ``None`` for the organiser named in ``text``."""
    if (
        _INSTITUTE_RE.search(text)
        or _INSTITUTE_NAME_RE.search(text)
        or _INSTITUTE_PUBLICATION_RE.search(text)
    ):
        return "institute"
    for rx in (_ORG_RE, _ORG_CI_RE):
        if any(not _OWNED_ORG.search(text[: m.start()]) for m in rx.finditer(text)):
            return "external"
    for m in _BRAND_RE.finditer(text):
        if _BRAND_BEFORE.search(text[: m.start()]) or text[m.end() :].startswith("'s"):
            return "external"
        window = re.findall(r"[a-z-]+", text[m.end() :].lower())[:4]
        if any(w in gz.BRAND_CONTEXT_AFTER or w in gz.EVENT_OR_SERVICE_NOUNS for w in window):
            return "external"
    in_house = _IN_HOUSE.search(text) is not None
    if (
        _is_named_org(text)
        or _context_org(text)
        or _named_before_noun(text)
        or _COLLEGE.search(text)
        or _place_event(text)
        or _PUBLISHER.search(text)
        or (_STANDARD.search(text) and not in_house)
        or _acronym_before_noun(text)
        or _READ_TITLE.search(text)
    ):
        return "external"
    return None


_IN_HOUSE = re.compile(r"\b(?:in-house|in\s+house|internal|at\s+work)\b", re.IGNORECASE)
_AWARD_WORDS = {
    "ma",
    "msc",
    "bsc",
    "ba",
    "beng",
    "meng",
    "phd",
    "mba",
    "pg",
    "pgcert",
    "pgdip",
    "level",
    "nvq",
    "hnc",
    "hnd",
    "diploma",
    "certificate",
    "cert",
    "award",
    "degree",
    "foundation",
    "module",
    "unit",
    "fellowship",
}
_READ_TITLE = re.compile(
    r"\bread(?:ing)?\s*:?\s+(?:the\s+|a\s+)?(?:book\s+|textbook\s+|guide\s+)?"
    r"['\"][^'\"]{3,80}['\"]"
    r"|['\"][^'\"]{3,80}['\"]\s*(?:,\s*)?(?:by\s+[A-Z]|\([A-Z][a-z]+\))"
)
_PUBLISHER = re.compile(r"\bpublisher\s*:?\s*[A-Za-z]|\bpublished\s+by\s+[A-Za-z]", re.IGNORECASE)
_STANDARD = re.compile(r"\b(?:ISO|BS|BS\s+EN|EN|PAS|IEC)\s*\d{3,5}\b")
_ACRONYM = re.compile(r"(?<![\w'-])(?P<name>[A-Z]{2,6}|[A-Z][a-z]+[A-Z][A-Za-z]*)(?![\w'-])")


def _acronym_before_noun(text: str) -> bool:
    """An unknown acronym or CamelCase name right before an event, course or publication noun
    ("RORC safety conference", "LearnPro module"), wherever it stands."""
    for m in _ACRONYM.finditer(text):
        name = m.group("name")
        if name.upper() in gz.TOPIC_ACRONYMS or name.upper() in gz.INSTITUTE_ACRONYMS:
            continue
        following = re.findall(r"[a-z][a-z-]*|&", text[m.end() : m.end() + 50].lower())[:4]
        for w in following:
            if w in gz.EVENT_OR_SERVICE_NOUNS:
                return True
            if w in {"on", "in", "at", "for", "with", "about", "to", "from", "by", "of"}:
                break
    return False


_COLLEGE = re.compile(
    r"\b(?:at|from|with|via|through)\s+(?:the\s+|a\s+|my\s+|our\s+local\s+|the\s+local\s+)?"
    r"(?:[a-z]+\s+)?(?:college|university|uni)\b",
    re.IGNORECASE,
)
_EVENT_WORDS = r"(?:show|expo|exhibition|fair|festival|congress|regatta)"
_PLACE_EVENT = re.compile(
    rf"\b(?=(?P<place>[a-z]+)\s+(?P<rest>(?:[a-z]+\s+){{0,2}}?{_EVENT_WORDS})\b)", re.IGNORECASE
)


_EVENT_PLACE = re.compile(rf"\b{_EVENT_WORDS}\s+(?P<place>[a-z]+)\b", re.IGNORECASE)


def _place_event(text: str) -> bool:
    """A show named after a place ("Southampton boat show", "boat show southampton")."""
    if any(m.group("place").lower() in gz.PLACES for m in _EVENT_PLACE.finditer(text)):
        return True
    for m in _PLACE_EVENT.finditer(text):
        if m.group("place").lower() in gz.PLACES:
            between = m.group("rest").lower().split()
            if not set(between) & {"at", "in", "on", "near", "the", "a", "and"}:
                return True
    return False


_QUOTED = re.compile(r"(?<!\w)['\"][^'\"]{3,80}['\"](?!\w)")
_NAME_RUN = re.compile(r"(?<![\w'])(?P<name>[A-Z][\w&-]*(?:\s+[A-Z][\w&-]*)*)(?P<poss>'s)?")


def _named_before_noun(text: str) -> bool:
    """An unknown capitalised name right before an event, course or publication noun
    ("Hempel seminar", "RMI summit"), or in the possessive ("Autocar's test")."""
    # a quoted title is not an organiser ("the in-house 'Lab Safety Basics' session")
    text = _QUOTED.sub(lambda q: " " * len(q.group(0)), text)
    for m in _NAME_RUN.finditer(text):
        name = m.group("name")
        words = name.split()
        if _sentence_start(text, m.start()) and len(words) == 1 and not m.group("poss"):
            continue
        if all(
            w.upper() in gz.TOPIC_ACRONYMS
            or w.lower() in _NOT_ORG_WORDS
            or w.lower() in gz.GENERIC_NAME_WORDS
            or w.lower() in gz.ORG_HEADS
            for w in words
        ):
            continue
        if any(w.upper() in gz.INSTITUTE_ACRONYMS for w in words):
            continue
        following = re.findall(r"[a-z][a-z-]*", text[m.end() : m.end() + 40].lower())[:3]
        nouns = [w for w in following if w in gz.EVENT_OR_SERVICE_NOUNS]
        if not nouns:
            continue
        stop = {"on", "in", "at", "for", "with", "about", "and", "to", "from", "by", "of"}
        first_noun = following.index(nouns[0])
        if any(w in stop for w in following[:first_noun]):
            continue
        return True
    return False
