"""Provider, test, co-authors and title of an activity, by rule (SCHEMES.md "Attributes").

- ``provider``: ``institute`` when a member body (IIMS, IIM, IMI, IBMS, "the Institute") or its
  branch/publication is named; ``external`` when another organisation, publication or named
  event is; ``None`` otherwise ("at work", "in-house", a bare place name).
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
_LOWER_HEADS = {"magazine", "journal", "academy", "university", "college", "newsletter",
                "press", "podcast", "website", "blog", "bulletin"}
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
_NOT_ORG_WORDS = gz.PLACES | gz.WEEKDAY_MONTH_WORDS | gz.NATIONALITIES | {
    "i", "i'm", "my", "our", "work", "home", "the", "a", "an", "it", "this", "that", "we", "me",
    "mr", "mrs", "ms", "dr", "prof", "uni", "christmas", "easter", "covid", "am", "pm",
    "level", "cert", "diploma", "certificate", "degree", "module", "unit", "part", "pg",
}
_PERSON_TITLES = re.compile(r"^(?:Dr|Mr|Mrs|Ms|Miss|Prof|Professor|Sir|Dame)\.?\s")


def _sentence_start(text: str, pos: int) -> bool:
    before = text[:pos].rstrip()
    return not before or before[-1] in ".!?:;\n-(\"'"


def _is_named_org(text: str) -> bool:
    """A capitalised name holding an organisation or event word ("Solent University")."""
    for m in _CAP_RUN.finditer(text):
        words = [re.sub(r"'s$", "", w) for w in re.findall(r"[\w'&.-]+", m.group(0))]
        lowered = [w.lower().strip(".'") for w in words]
        nxt = re.match(r"\s+([a-z]+)", text[m.end():])
        if nxt and nxt.group(1) in _LOWER_HEADS:
            lowered.append(nxt.group(1))
            words.append(nxt.group(1))
        heads = [w for w in lowered if w in gz.ORG_HEADS]
        if not heads or lowered[0] in _AWARD_WORDS:
            continue
        others = [w for w in lowered if w not in gz.ORG_HEADS and w not in {"of", "and", "&",
                                                                           "the", "for", "on"}]
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
            if not words or all(w in _NOT_ORG_WORDS or w in gz.GENERIC_NAME_WORDS
                                or w.upper() in gz.INSTITUTE_ACRONYMS for w in words):
                continue
            if words[0] in _AWARD_WORDS:
                continue
            if words[0] in {"i", "my", "our", "work"}:
                continue
            lead = m.group(0).split()[0].lower()
            if rx is _AT_CONTEXT and lead in {"for", "in", "into", "with"} and len(words) < 2 and \
                    " The " not in f" {m.group(0)} ":
                continue
            if any(w.upper() in gz.TOPIC_ACRONYMS for w in words) and len(words) <= 2:
                continue
            if rx is _AT_CONTEXT and len(words) == 1 and name.upper() == name and len(name) <= 4:
                continue
            return True
    return False


def provider(text: str) -> str | None:
    """``institute``, ``external`` or ``None`` for the organiser named in ``text``."""
    if (_INSTITUTE_RE.search(text) or _INSTITUTE_NAME_RE.search(text)
            or _INSTITUTE_PUBLICATION_RE.search(text)):
        return "institute"
    for rx in (_ORG_RE, _ORG_CI_RE):
        if any(not _OWNED_ORG.search(text[: m.start()]) for m in rx.finditer(text)):
            return "external"
    for m in _BRAND_RE.finditer(text):
        if _BRAND_BEFORE.search(text[: m.start()]) or text[m.end():].startswith("'s"):
            return "external"
        window = re.findall(r"[a-z-]+", text[m.end():].lower())[:4]
        if any(w in gz.BRAND_CONTEXT_AFTER or w in gz.EVENT_OR_SERVICE_NOUNS for w in window):
            return "external"
    in_house = _IN_HOUSE.search(text) is not None
    if (_is_named_org(text) or _context_org(text) or _named_before_noun(text)
            or _COLLEGE.search(text) or _place_event(text) or _PUBLISHER.search(text)
            or (_STANDARD.search(text) and not in_house) or _acronym_before_noun(text)
            or _READ_TITLE.search(text)):
        return "external"
    return None


_IN_HOUSE = re.compile(r"\b(?:in-house|in\s+house|internal|at\s+work)\b", re.IGNORECASE)
_AWARD_WORDS = {"ma", "msc", "bsc", "ba", "beng", "meng", "phd", "mba", "pg", "pgcert", "pgdip",
                "level", "nvq", "hnc", "hnd", "diploma", "certificate", "cert", "award", "degree",
                "foundation", "module", "unit", "fellowship"}
_READ_TITLE = re.compile(
    r"\bread(?:ing)?\s*:?\s+(?:the\s+|a\s+)?(?:book\s+|textbook\s+|guide\s+)?"
    r"['\"][^'\"]{3,80}['\"]"
    r"|['\"][^'\"]{3,80}['\"]\s*(?:,\s*)?(?:by\s+[A-Z]|\([A-Z][a-z]+\))"
)
_PUBLISHER = re.compile(
    r"\bpublisher\s*:?\s*[A-Za-z]|\bpublished\s+by\s+[A-Za-z]", re.IGNORECASE
)
_STANDARD = re.compile(r"\b(?:ISO|BS|BS\s+EN|EN|PAS|IEC)\s*\d{3,5}\b")
_ACRONYM = re.compile(r"(?<![\w'-])(?P<name>[A-Z]{2,6}|[A-Z][a-z]+[A-Z][A-Za-z]*)(?![\w'-])")


def _acronym_before_noun(text: str) -> bool:
    """An unknown acronym or CamelCase name right before an event, course or publication noun
    ("RORC safety conference", "LearnPro module"), wherever it stands."""
    for m in _ACRONYM.finditer(text):
        name = m.group("name")
        if name.upper() in gz.TOPIC_ACRONYMS or name.upper() in gz.INSTITUTE_ACRONYMS:
            continue
        following = re.findall(r"[a-z][a-z-]*|&", text[m.end():m.end() + 50].lower())[:4]
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
        if all(w.upper() in gz.TOPIC_ACRONYMS or w.lower() in _NOT_ORG_WORDS
               or w.lower() in gz.GENERIC_NAME_WORDS or w.lower() in gz.ORG_HEADS
               for w in words):
            continue
        if any(w.upper() in gz.INSTITUTE_ACRONYMS for w in words):
            continue
        following = re.findall(r"[a-z][a-z-]*", text[m.end():m.end() + 40].lower())[:3]
        nouns = [w for w in following if w in gz.EVENT_OR_SERVICE_NOUNS]
        if not nouns:
            continue
        stop = {"on", "in", "at", "for", "with", "about", "and", "to", "from", "by", "of"}
        first_noun = following.index(nouns[0])
        if any(w in stop for w in following[:first_noun]):
            continue
        return True
    return False


# --- tests -------------------------------------------------------------------------------

_TEST_NOUN = r"(?:tests?|exams?|examinations?|quiz(?:zes)?|assessments?|mcqs?|epa)"
_TEST_TAKEN = [
    re.compile(r"\bpass(?:ed|ing)\b(?!\s+(?:on|away|it\s+on|round|around|over|through|by|to)\b)"),
    re.compile(rf"\b(?:took|take|taken|sat|did|done|completed|complete|finished|doing|"
               rf"attempted|ended\s+with|with|w/|plus|followed\s+by|incl\.?|including|"
               rf"included)\s+(?:\w+\s+){{0,4}}?{_TEST_NOUN}\b"),
    re.compile(rf"\b{_TEST_NOUN}\s*(?:\(?\s*(?:passed|done|completed|taken|at\s+the\s+end))"),
    re.compile(r"\b(?:end[- ]of[- ](?:module|course|unit)|online|final|practical|written|"
               r"end[- ]point)\s+(?:test|exam|assessment|quiz)\b"),
    re.compile(r"\bquiz(?:zes)?\b"),
]
_QUESTIONS_DONE = re.compile(
    r"\b(?:did|answered|completed|done)\s+(?:the|all\s+the)\s+(?:\w+\s+)?questions\b"
    r"|\b(?:exam|test|quiz|assessment)\s+results?\s*(?:-|:|was|=)?\s*(?:a\s+)?pass(?:ed)?\b"
    r"|\b\d{1,3}\s*/\s*\d{1,3}\s+(?:on|in)\s+(?:the\s+)?(?:quiz|questions|test|mcq)\b"
)
_TEST_NOT = [
    re.compile(r"\b(?:examiner|assessor|invigilat\w*|moderat\w*|second[- ]mark\w*|marking|"
               r"marked|exam\s+board|set\s+(?:the|an?|our)\s+(?:\w+\s+){0,3}?"
               r"(?:questions|exam|test|paper|quiz))\b"),
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
    if passed and (mentions_test or kind in {"qualification", "training"}
                   or re.search(r"\bquestions\b", s)):
        return True, []
    if mentions_test and any(rx.search(s) for rx in _TEST_TAKEN[1:]):
        return True, []
    if _QUESTIONS_DONE.search(s):
        return True, []
    return False, []


# --- co-authors --------------------------------------------------------------------------

_SOLO = re.compile(r"\b(?:solo|on\s+my\s+own|by\s+myself|sole[- ]author(?:ed)?|single[- ]authored|"
                   r"wrote\s+it\s+(?:alone|myself)|alone|just\s+me|no\s+co-?authors?|"
                   r"all\s+my\s+own\s+work|only\s+author)\b")
_ONE_OF = re.compile(rf"\bone\s+of\s+(?:the\s+)?(?P<n>{COUNT_WORDS})\s+(?:co-?)?(?:authors|"
                     rf"writers|editors|contributors)\b")
_WITH_N = re.compile(
    rf"\b(?:with|and)\s+(?:my\s+|our\s+)?(?P<n>{COUNT_WORDS})\s+(?:other\s+|fellow\s+|former\s+|"
    rf"ex-?|\w+\s+)?(?:-?\s*)?(?:colleagues?|co-?authors?|co-?writers?|others|people|"
    rf"researchers|members|surveyors|friends|peers|technicians|scientists|managers|students|"
    rf"engineers|staff)\b"
)
_N_AUTHORS = re.compile(rf"\b(?P<n>{COUNT_WORDS})\s+(?:of\s+us|authors|co-?authors\s+in\s+total|"
                        rf"names\s+on\s+it)\b")
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
