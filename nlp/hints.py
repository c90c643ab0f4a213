"""Strong keyword cues for the kind, combined with the trained classifier's scores.

The text classifier learns the bulk of the vocabulary from the corpus; these cues encode the
distinctions SCHEMES.md draws that a bag of words blurs: the member's *role* decides the kind
(delivering a course is ``teaching``, not ``training``; marking an exam is ``examining``, not a
qualification; volunteering at a fair is ``volunteering``, not ``exhibition``; reading articles
is ``reading``, writing one is ``article``). Each cue adds a weight to one kind; the final kind
is the arg-max of classifier probability + cue weight (see :func:`combine`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from cpd.nlp.kinds import KINDS

STRONG = 1.2
MEDIUM = 0.6
WEAK = 0.3

_RAW_CUES: list[tuple[str, str, float]] = [
    # examining: the member judges others
    (r"\b(?:examiner|assessor|invigilat\w*|moderat(?:ed|ing|or)|second[- ]mark\w*|"
     r"exam\s+board|marked|marking|mark(?:ed)?\s+(?:the\s+)?(?:\w+\s+)?(?:scripts|papers|exams?|"
     r"portfolios|assignments|dissertations?))\b", "examining", STRONG),
    (r"\b(?:set|wrote|writing|write|prepared|drafted|setting)\s+(?:the\s+|an?\s+|our\s+)?"
     r"(?:\w+\s+){0,3}?(?:questions|exam\s+paper|exam|test\s+paper|mcqs?)\s+(?:for|of)\b|"
     r"\bset\s+(?:the|an?|our)\s+(?:\w+\s+){0,3}?(?:questions|exam|test|paper)\b", "examining",
     STRONG),
    (r"\b(?:assessments?|assessing|observations?)\s+(?:of|for)\s+(?:\w+\s+){0,4}?(?:apprentices|"
     r"candidates|students|learners|trainees|technicians)\b", "examining", STRONG),
    (r"\b(?:competency[- ])?assessed\s+(?:\d+|two|three|four|five|six|several|our|the|my)\s+",
     "examining", MEDIUM),
    (r"\bassess(?:ed|ing)\s+(?:\w+\s+){0,3}?(?:candidates|apprentices|students|trainees|"
     r"learners|portfolios)\b", "examining", STRONG),
    # teaching: the member delivers
    (r"\b(?:delivered|delivering|deliver|gave|giving|presented|presenting|ran|running|led|"
     r"leading|hosted|facilitated|taught|teaching)\s+(?:\w+\s+){0,4}?"
     r"(?:talk|session|webinar|poster|"
     r"findings|results|paper|keynote|"
     r"course|lecture|workshop|presentation|training|seminar|class|toolbox\s+talk|cpd|"
     r"demonstration|demo|briefing|lunch\s*(?:and|&)\s*learn)s?\b", "teaching", STRONG),
    (r"\b(?:lectured|lecturing|guest\s+lecture|tutor(?:ed|ing)?|tutorials?|guest\s+speaker|"
     r"taught|presented|gave\s+a\s+(?:\w+\s+)?(?:talk|lecture)|spoke\s+at|speaking\s+at|"
     r"demonstrator|demonstrating\s+(?:to|for))\b", "teaching", MEDIUM),
    (r"\b(?:(?:as|was)\s+(?:the\s+|a\s+)?(?:presenter|speaker|trainer|tutor|lecturer|"
     r"facilitator|demonstrator|keynote)|did\s+(?:a|the|my)\s+(?:\w+\s+)?(?:talk|presentation)|"
     r"\btalk\s+(?:on|about)\s+[^.]{0,60}?\s(?:to\s+\w+|(?:for|at)\s+(?:the|a|our|my|some|local|"
     r"\d+)\b)|\bdemonstrator\b)",
     "teaching", STRONG),
    # mentoring
    (r"\b(?:mentor\w*|mentee\w*|coach(?:ed|ing|es)?|coachee|buddy(?:ing)?\s+scheme)\b",
     "mentoring", STRONG),
    # committee
    (r"\b(?:committee|working\s+group|steering\s+group|task\s+group|sub-?group|council\s+meeting|"
     r"board\s+meeting|agm|consultation|panel\s+meeting|trustee\s+meeting|branch\s+meeting)\b",
     "committee", STRONG),
    # volunteering
    (r"\b(?:volunteer\w*|voluntary|unpaid(?!\s+overtime)|fundrais\w*|charity|charitable|"
     r"community\s+(?:group|event|day)|"
     r"school\s+governor|special\s+constable|scouts?|cadets?|lifeboat\s+crew)\b", "volunteering",
     STRONG),
    # qualification
    (r"\b(?:msc|bsc|ba|ma|mba|phd|dbms|doctorate|degree|nvq|hnc|hnd|btec|a-?levels?|"
     r"diploma|apprenticeship|end[- ]point\s+assessment|epa|dissertation|coursework|thesis|"
     r"foundation\s+degree|postgrad\w*|pgcert|pg\s+cert|pgdip|qualification|"
     r"level\s+[2-7]\b(?:\s+\w+)?\s+"
     r"(?:qualification|award|certificate|diploma))\b", "qualification", MEDIUM),
    (r"\b(?:studying|study(?:ing)?\s+for|revis(?:ing|ed|ion)\s+for|enrolled|module\s+\d+\s+"
     r"assignment|assignment\s+for\s+my)\b", "qualification", MEDIUM),
    # site visits
    (r"\b(?:site\s+visit|factory\s+visit|plant\s+visit|works\s+visit|visit(?:ed)?\s+(?:to\s+)?"
     r"(?:the\s+)?\w*\s*(?:factory|plant|works|yard|shipyard|boatyard|lab|laboratory|"
     r"department|centre|site|facility|archive|archives|records\s+centre|depot)"
     r"(?!\s+(?:show|expo|exhibition|fair|innovations))|toured|tour\s+of|"
     r"shadow(?:ed|ing)?|secondment|seconded|went\s+to\s+see|(?:plant|factory|site|works|yard)\s+"
     r"tour|(?:technical|study|dealer|works|plant|factory|site|field)\s+visit)\b", "site_visit",
     STRONG),
    # exhibitions
    (r"\b(?:boat\s+show|trade\s+show|motor\s+show|show|expo|exhibition|trade\s+fair|fair|"
     r"stands|(?:boat|yacht|yachting|motor|car|marine)\s+festival)\b"
     r"(?!\s+(?:bit|amount|few|number|share|enough|point|idea)\b)", "exhibition", MEDIUM),
    # conferences
    (r"\b(?:conference|congress|symposi(?:um|a)|summit|convention|annual\s+meeting|"
     r"participants'?\s+meeting|scientific\s+meeting)\b", "conference", MEDIUM),
    # reading
    (r"\b(?:read|reading|skimmed|studied\s+the)\b", "reading", MEDIUM),
    # articles
    (r"\b(?:wr(?:o|i)te|writ(?:ing|ten)|drafted|drafting|published|submitted|co-?wr\w+|"
     r"co-?authored|authored)\b[^.]{0,40}?\b(?:article|paper|piece|technical\s+note|blog\s+post|"
     r"column|feature|case\s+report|review)\b", "article", STRONG),
    (r"\b(?:my|our)\s+(?:[\w-]+\s+){0,5}?(?:was|got|has\s+been|is|been)\s+(?:finally\s+)?"
     r"(?:published|accepted)\b", "article", MEDIUM),
    (r"\b(?:article|paper|opinion\s+piece|technical\s+note|case\s+study|case\s+report|"
     r"blog\s+post)\b[^.]{0,60}?\b(?:published|"
     r"accepted|in\s+(?:this|the)\s+\w+\s+issue|for\s+(?:the\s+)?\w+\s+(?:magazine|journal))\b",
     "article", STRONG),
    # books
    (r"\b(?:my|our|the)\s+(?:text)?book\b|\bchapters?\s+(?:of|for)\s+(?:the|my|our|a)\b|"
     r"\btextbook\b|\bhandbook\b|\bbook\s*:", "book", MEDIUM),
    (r"\b(?:wr(?:o|i)te|writ(?:ing|ten)|co-?wr\w+|edit(?:ed|ing)|authored)\b[^.]{0,40}?"
     r"\b(?:book|textbook|handbook|chapters?)\b", "book", STRONG),
    (r"\b(?:thesis|dissertation|dissertations)\b", "qualification", STRONG),
    # training
    (r"\btrain[- ]the[- ]trainer\b", "training", STRONG),
    (r"\b(?:course|webi?n[ai]{0,2}r|workshop|seminar|training|e-?learning|module|masterclass|"
     r"academy|"
     r"programme|refresher|cpd\s+session|online\s+learning|toolbox\s+talk)\b", "training", WEAK),
    # work projects
    (r"\b(?:project|procedure|policy|policies|sop|consultancy|client\s+report|implemented|"
     r"implementation|at\s+work|audit|data\s+mapping|rolled\s+out|process\s+review|"
     r"validation\s+of|validated)\b", "work_project", MEDIUM),
    # other
    (r"\b(?:podcast|documentary|youtube|video|personal\s+project|hobby|forum|360|"
     r"feedback\s+exercise|self-?reflection|my\s+own\s+time|restor(?:e|ed|ing)|tinkering|"
     r"museum|tv\s+programme)\b", "other", MEDIUM),
]

CUES: list[tuple[re.Pattern[str], str, float]] = [
    (re.compile(rx), kind, w) for rx, kind, w in _RAW_CUES
]
_KIND_INDEX = {k: i for i, k in enumerate(KINDS)}

# A role cue silences the activity it acts on: delivering a webinar is not attending one.
_SUPPRESS: dict[str, tuple[str, ...]] = {
    "teaching": ("training", "conference", "committee", "qualification"),
    "examining": ("qualification", "training", "teaching", "article"),
    "volunteering": ("exhibition", "conference"),
    "mentoring": ("training", "teaching"),
    "article": ("reading",),
    "book": ("reading",),
    "site_visit": ("exhibition",),
    "training": ("teaching",),  # only from "train-the-trainer", the one STRONG training cue
    "qualification": ("book", "article"),  # writing up a thesis is study, not a book
}
_NEGATED = re.compile(r"\b(?:not|no|never)\s+(?:a|an|the|really\s+a|just\s+a)?\s*[\w-]+")


# A capitalised event name says what the event is ("Genoa Boat Show", "RCPath Congress").
_NAMED_EVENTS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"\b(?:[A-Z][\w'&-]*\s+){1,4}(?:Show|Festival|Expo|Exhibition|Fair)\b"),
     "exhibition"),
    (re.compile(r"\b(?:[A-Z][\w'&-]*\s+){1,4}(?:Conference|Congress|Symposium|Summit)\b"),
     "conference"),
]


def cue_weights(text: str) -> list[float]:
    """Per-kind cue weights (in ``KINDS`` order) for a cleaned text (any case)."""
    weights = [0.0] * len(KINDS)
    lower = _NEGATED.sub(" ", text.lower())  # "not a qualification" is no cue for one
    for rx, kind, w in CUES:
        if rx.search(lower):
            i = _KIND_INDEX[kind]
            weights[i] = max(weights[i], w)
    for rx, kind in _NAMED_EVENTS:
        if rx.search(text):
            i = _KIND_INDEX[kind]
            weights[i] = max(weights[i], STRONG)
    for role, quiet in _SUPPRESS.items():
        if weights[_KIND_INDEX[role]] >= STRONG:
            for k in quiet:
                weights[_KIND_INDEX[k]] = min(weights[_KIND_INDEX[k]], 0.0)
    return weights


def combine(probs: Sequence[float], weights: Sequence[float], cue_scale: float = 1.0
            ) -> tuple[int, float]:
    """Index of the chosen kind and its confidence from classifier ``probs`` and cue weights.

    The confidence is the chosen kind's share of the combined scores, so it stays in 0..1 and
    falls when the classifier and the cues disagree.
    """
    scores = [p + cue_scale * w for p, w in zip(probs, weights, strict=True)]
    best = max(range(len(scores)), key=lambda i: scores[i])
    total = sum(scores) or 1.0
    return best, min(1.0, scores[best] / total)
