"""Deterministic template generator for the CPD-claims NLP training corpus.

The generator composes short member messages (texts, chat lines, polite e-mails) from slots:
an activity phrase for one of the 15 activity kinds (with a topic from one of the four
professions and an optional organiser), a duration phrase, a date phrase, an optional test
phrase, co-author phrase and emoji, then wraps the result in a register (plain, phone
shorthand, first-person sentence, e-mail) and may inject a deterministic typo into the
activity words.

Every label is *computed* from the slots that produced the text, never guessed:

* ``hours`` comes from the duration slot (minutes converted, time ranges counted as given,
  stated breaks subtracted, a day = 7.5 h, a half day = 3.75 h, stated hours win over days);
* ``start_date``/``end_date`` are resolved from the date slot against the message's ``today``
  ("on Tuesday" = latest Tuesday not after today, "last Tuesday" = previous calendar week,
  "on the 3rd" = latest 3rd not after today, "12/03" = 12 March, "last weekend" = previous
  week's Saturday-Sunday);
* ``provider`` is ``institute`` for IIMS/IIM/IMI/IBMS/"the Institute", ``external`` for any
  other named organisation or event, ``None`` otherwise;
* ``has_test`` is true only when a passed test/quiz/exam phrase was added;
* ``co_authors`` counts the member plus stated co-authors (``article``/``book`` only).

Only the standard library is used; output depends only on ``seed`` and ``n``.
"""

from __future__ import annotations

import datetime as dt
import json
import random
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cpd.nlp.kinds import KINDS as ALL_KINDS

__all__ = [
    "HANDWRITTEN_PATH",
    "KINDS",
    "full_corpus",
    "generate",
    "load_handwritten",
    "resolve_dom",
    "resolve_last_weekday",
    "resolve_weekday",
]

HANDWRITTEN_PATH = Path(__file__).parent.parent / "corpus" / "handwritten.jsonl"

KINDS = ALL_KINDS  # the one list, from cpd.nlp.kinds

PROFESSIONS = ("marine", "info", "motor", "biomed")

WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
WEEKDAY_ABBR = (
    ("mon", "Mon"),
    ("tue", "tues", "Tue", "Tues"),
    ("wed", "Wed", "weds"),
    ("thu", "thurs", "Thurs", "Thur"),
    ("fri", "Fri"),
    ("sat", "Sat"),
    ("sun", "Sun"),
)
MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
MONTH_ABBR = (
    "Jan",
    "Feb",
    "Mar",
    "Apr",
    "May",
    "Jun",
    "Jul",
    "Aug",
    "Sept",
    "Oct",
    "Nov",
    "Dec",
)
NUMBER_WORDS = {
    1: "one",
    2: "two",
    3: "three",
    4: "four",
    5: "five",
    6: "six",
    7: "seven",
    8: "eight",
    9: "nine",
    10: "ten",
    12: "twelve",
}

INSTITUTE = {
    "marine": (
        "IIMS",
        "the IIMS",
        "the Institute",
        "IIMS Solent branch",
        "the IIMS Education team",
    ),
    "info": ("IIM", "the IIM", "the Institute", "IIM Northern group", "the Institute's SIG"),
    "motor": ("IMI", "the IMI", "the Institute", "IMI Accreditation", "IMI's training arm"),
    "biomed": ("IBMS", "the IBMS", "the Institute", "IBMS London region", "the IBMS branch"),
}

EXTERNAL = {
    "marine": (
        "the RYA",
        "Lloyd's Register",
        "the MCA",
        "Bureau Veritas",
        "Volvo Penta",
        "Yanmar",
        "Warsash Maritime School",
        "Solent University",
        "Plymouth University",
        "the YDSA",
        "Beneteau",
        "Sunseeker",
        "the British Marine Federation",
        "DNV",
        "Blue Water Training",
        "Lymington Yacht Haven",
        "Hempel",
        "International Paints",
    ),
    "info": (
        "the IRMS",
        "the National Archives",
        "ARA",
        "CILIP",
        "the ICO",
        "Microsoft",
        "Iron Mountain",
        "the Digital Preservation Coalition",
        "Liverpool Uni",
        "UCL",
        "Aberystwyth University",
        "QA Ltd",
        "OpenText",
        "the DPO Centre",
        "Jisc",
        "the Records Management Society",
    ),
    "motor": (
        "Bosch",
        "Autotech",
        "Toyota",
        "Ford",
        "VW Group",
        "Hella Gutmann",
        "Snap-on",
        "the local college",
        "Stellantis",
        "City & Guilds",
        "Halfords",
        "Kia UK",
        "BMW Academy",
        "Autologic",
        "Delphi",
        "Mercedes-Benz",
        "Bristol College",
        "Thatcham Research",
    ),
    "biomed": (
        "UK NEQAS",
        "Roche",
        "Abbott",
        "Siemens Healthineers",
        "the RCPath",
        "the NHS",
        "Health Education England",
        "the University of Westminster",
        "Keele University",
        "BD",
        "Beckman Coulter",
        "the ACB",
        "NHS Blood and Transplant",
        "Sysmex",
        "Manchester Met",
        "the BSH",
        "UKHSA",
        "Bio-Rad",
    ),
}

TOPICS = {
    "marine": (
        "osmosis in GRP hulls",
        "steel hull thickness gauging",
        "surveying timber boats",
        "marine diesel engines",
        "lithium batteries on yachts",
        "gas installations on boats",
        "rigging failures",
        "keel bolt inspection",
        "cargo damage claims",
        "hull moisture readings",
        "stern gear and cutless bearings",
        "the Small Commercial Vessel code",
        "tanker vetting",
        "fire suppression systems",
        "antifouling regulations",
        "aluminium welding defects",
        "osmosis treatment",
        "marine electrics",
        "stability assessment of small craft",
        "container lashing",
        "pre-purchase surveys",
        "seacocks and through-hull fittings",
        "superyacht paint inspection",
        "narrowboat hull surveys",
        "draught surveys",
        "LPG bottle lockers",
        "propeller shaft alignment",
        "moisture meters",
        "drone inspections of hulls",
        "marine emissions rules",
    ),
    "info": (
        "email retention",
        "SharePoint migration",
        "GDPR subject access requests",
        "digital preservation",
        "metadata standards",
        "records retention schedules",
        "sensitivity labelling",
        "FOI requests",
        "information governance",
        "data protection impact assessments",
        "file plans",
        "archival description",
        "cloud records",
        "AI and records",
        "information asset registers",
        "document scanning standards",
        "evidential weight of scanned records",
        "records management principles",
        "disposal of paper records",
        "taxonomy design",
        "cyber security awareness",
        "data quality",
        "knowledge management",
        "EDRMS requirements",
        "e-discovery",
        "government records guidance",
        "legacy shared drives",
        "records audits",
        "Teams chat retention",
        "the Data (Use and Access) Act",
    ),
    "motor": (
        "EV high-voltage safety",
        "ADAS calibration",
        "hybrid battery diagnostics",
        "CAN bus faults",
        "diesel particulate filters",
        "air con refrigerant R1234yf",
        "oscilloscope diagnostics",
        "tyre pressure monitoring",
        "wheel alignment",
        "vehicle body repair",
        "MOT testing",
        "customer service in the showroom",
        "workshop management",
        "hydrogen vehicles",
        "electric motor repair",
        "brake system diagnostics",
        "service advisor skills",
        "timing chain replacement",
        "AdBlue systems",
        "key programming",
        "smart repair",
        "paint colour matching",
        "used car appraisal",
        "vehicle cyber security",
        "48V mild hybrids",
        "GDI injector testing",
        "DSG gearbox servicing",
        "lean workshop processes",
        "EV charging points",
        "aftersales KPIs",
    ),
    "biomed": (
        "haematology QC",
        "blood transfusion safety",
        "antimicrobial resistance",
        "histopathology cut-up",
        "accreditation audits",
        "point of care testing",
        "flow cytometry",
        "molecular diagnostics",
        "digital pathology",
        "troponin assays",
        "sepsis markers",
        "cytology screening",
        "phlebotomy errors",
        "lab accreditation",
        "immunoassays",
        "sickle cell screening",
        "bacterial identification by MALDI-TOF",
        "coagulation testing",
        "HbA1c",
        "lab automation",
        "sample rejection",
        "cervical screening",
        "genomics",
        "urinalysis",
        "biochemistry EQA",
        "COSHH in the lab",
        "bone marrow morphology",
        "blood film reporting",
        "mass spectrometry",
        "LIMS upgrades",
    ),
}

NAMES = (
    "Sam",
    "J. Patel",
    "Mike",
    "Aisha Khan",
    "Dr R. Owen",
    "Tom",
    "Bev",
    "Lucy Hart",
    "Callum",
    "Priya",
    "G. Roberts",
    "Dave",
    "Eleanor",
    "Kwame",
    "Fiona McLeod",
    "Ian",
)
SALUTATIONS = (
    "Dear Membership Secretary",
    "Dear CPD team",
    "Hello",
    "Hi",
    "Good morning",
    "Dear Sir/Madam",
    "Dear Membership team",
    "Hi there",
    "Good afternoon",
)
SIGNOFFS = ("Kind regards", "Many thanks", "Best wishes", "Thanks", "Regards", "Cheers")
EMOJI = ("👍", "😅", "✅", "🙂", "🎉", "📚", "🚗", "⚓", "🔬", "💻", "😴", "🙌", "👌", "🥱")


def _d(x: dt.date) -> str:
    return x.isoformat()


def resolve_weekday(today: dt.date, weekday: int) -> dt.date:
    """Return the latest date with ``weekday`` (Monday = 0) not after ``today``.

    This is the reading of "on Tuesday": earlier in the current week, or today itself.
    """
    return today - dt.timedelta(days=(today.weekday() - weekday) % 7)


def resolve_last_weekday(today: dt.date, weekday: int) -> dt.date:
    """Return ``weekday`` (Monday = 0) of the previous calendar week ("last Tuesday")."""
    monday = today - dt.timedelta(days=today.weekday())
    return monday - dt.timedelta(days=7 - weekday)


def resolve_dom(today: dt.date, day: int) -> dt.date:
    """Return the latest date whose day of month is ``day`` and which is not after ``today``."""
    year, month = today.year, today.month
    while True:
        try:
            cand = dt.date(year, month, day)
        except ValueError:
            cand = None
        if cand is not None and cand <= today:
            return cand
        month -= 1
        if month == 0:
            year, month = year - 1, 12


def _ordinal(n: int) -> str:
    suf = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suf}"


def _fmt_hours(h: float) -> str:
    return str(int(h)) if h == int(h) else str(h)


@dataclass
class _Slot:
    """A phrase and the label values it implies."""

    text: str
    hours: float | None = None
    start: dt.date | None = None
    end: dt.date | None = None
    days: int = 1


# --------------------------------------------------------------------------- durations


def _duration(rng: random.Random) -> _Slot:
    """A single-day duration phrase with its hours."""
    r = rng.random()
    if r < 0.30:
        h = rng.choice((0.5, 1, 1, 1.5, 2, 2, 2.5, 3, 3, 4, 5, 6))
        hs = _fmt_hours(h)
        form = rng.choice(
            (
                "{h}hrs",
                "{h} hours",
                "{h}h",
                "{h} hrs",
                "approx {h} hours",
                "about {h}h",
                "~{h}hrs",
                "{h} hr",
                "{h}hours",
            )
        )
        if h == 1:
            form = rng.choice(("1hr", "1 hour", "an hour", "1h", "about an hour"))
        return _Slot(form.format(h=hs), float(h))
    if r < 0.42:
        h = rng.choice((1, 2, 3, 4, 5, 6, 8, 10))
        w = NUMBER_WORDS[h]
        form = rng.choice(("{w} hours", "{w} hrs", "about {w} hours", "{w} hours in total"))
        if h == 1:
            form = rng.choice(("one hour", "a single hour"))
        return _Slot(form.format(w=w), float(h))
    if r < 0.52:
        opts: tuple[tuple[str, float], ...] = (
            ("90 mins", 1.5),
            ("45 minutes", 0.75),
            ("30 mins", 0.5),
            ("half an hour", 0.5),
            ("an hour and a half", 1.5),
            ("two and a half hours", 2.5),
            ("1h30", 1.5),
            ("1hr 15", 1.25),
            ("2 hours 45 minutes", 2.75),
            ("three quarters of an hour", 0.75),
            ("an hour and a quarter", 1.25),
            ("2h 30m", 2.5),
            ("150 minutes", 2.5),
            ("20 mins", 1 / 3),
            ("40 minutes", 2 / 3),
            ("3 and a half hours", 3.5),
            ("1.5hrs", 1.5),
            ("4.5 hours", 4.5),
            ("0.5h", 0.5),
        )
        t, h = rng.choice(opts)
        return _Slot(t, round(h, 2))
    if r < 0.72:
        opts = (
            ("9-12:30", 3.5),
            ("10:00-12:30", 2.5),
            ("from 9am to 5pm", 8.0),
            ("9 till 5", 8.0),
            ("2-4pm", 2.0),
            ("13:30-16:00", 2.5),
            ("7-9pm", 2.0),
            ("6-8pm", 2.0),
            ("9.30-11", 1.5),
            ("from 10am to 1pm", 3.0),
            ("8am-6pm", 10.0),
            ("14:00-15:30", 1.5),
            ("1-5pm", 4.0),
            ("9 to 4", 7.0),
            ("11-12", 1.0),
            ("from 0900 to 1230", 3.5),
            ("19:00 - 20:30", 1.5),
            ("8.30-10.30", 2.0),
        )
        brk_opts = (
            ("9am-5pm with an hour for lunch", 7.0),
            ("9-4.30 inc. 30 min lunch break", 7.0),
            ("10:00-16:00 with a 1hr lunch", 5.0),
            ("from 9 to 5, minus an hour for lunch", 7.0),
            ("8.30-4.30 with 45 mins for lunch", 7.25),
            ("9:00-17:00 with lunch (1 hour) and two 15 min breaks", 6.5),
            ("1-6pm with a half hour break", 4.5),
        )
        t, h = rng.choice(brk_opts) if rng.random() < 0.3 else rng.choice(opts)
        return _Slot(t, h)
    if r < 0.86:
        opts = (
            ("a full day", 7.5),
            ("full day", 7.5),
            ("1 day", 7.5),
            ("half a day", 3.75),
            ("half day", 3.75),
            ("a half-day", 3.75),
            ("one day", 7.5),
            ("a full day (7 hours)", 7.0),
            ("the whole day, 6 hrs actual", 6.0),
        )
        t, h = rng.choice(opts)
        return _Slot(t, h)
    opts = (
        ("three evenings of 2 hours", 6.0),
        ("2 x 90 min sessions", 3.0),
        ("4 sessions of 45 minutes", 3.0),
        ("two sessions of 1.5hrs", 3.0),
        ("3 x 1hr", 3.0),
        ("two 2-hour slots", 4.0),
        ("5 x 30 mins", 2.5),
        ("a couple of 1h sessions (2 in total)", 2.0),
    )
    t, h = rng.choice(opts)
    return _Slot(t, h, days=0)  # days=0: spread over several sessions, no single date


# --------------------------------------------------------------------------- dates


def _single_date(rng: random.Random, today: dt.date) -> _Slot:
    """A single-day date phrase resolved against ``today``."""
    r = rng.random()
    if r < 0.16:
        t = rng.choice(("yesterday", "yday", "yest", "yesterday", "Yesterday", "last night"))
        d = today - dt.timedelta(days=1)
        return _Slot(t, start=d, end=d)
    if r < 0.26:
        t = rng.choice(
            ("today", "this morning", "this afternoon", "this evening", "tonight", "earlier today")
        )
        return _Slot(t, start=today, end=today)
    if r < 0.44:
        wd = rng.randrange(7)
        name = WEEKDAYS[wd] if rng.random() < 0.6 else rng.choice(WEEKDAY_ABBR[wd])
        if rng.random() < 0.4:
            name = name.lower()
        t = rng.choice(
            ("on {w}", "{w}", "on {w}", "this {w}" if wd <= today.weekday() else "on {w}")
        )
        d = resolve_weekday(today, wd)
        return _Slot(t.format(w=name), start=d, end=d)
    if r < 0.58:
        wd = rng.randrange(7)
        name = WEEKDAYS[wd]
        if rng.random() < 0.3:
            name = name.lower()
        d = resolve_last_weekday(today, wd)
        return _Slot(f"last {name}", start=d, end=d)
    if r < 0.68:
        d = today - dt.timedelta(days=rng.randrange(0, 27))
        t = rng.choice(("on the {o}", "on the {o}", "the {o}"))
        return _Slot(t.format(o=_ordinal(d.day)), start=d, end=d)
    if r < 0.82:
        d = today - dt.timedelta(days=rng.randrange(1, 120))
        form = rng.choice(("{dd}/{mm}", "{d}/{m}", "{dd}/{mm}/{yy}", "{dd}.{mm}"))
        t = form.format(
            dd=f"{d.day:02d}", mm=f"{d.month:02d}", d=d.day, m=d.month, yy=str(d.year)[2:]
        )
        if "yy" not in form:
            d = _latest_dm(today, d.day, d.month)
        return _Slot(rng.choice(("on ", "", "on ")) + t, start=d, end=d)
    d = today - dt.timedelta(days=rng.randrange(1, 150))
    form = rng.choice(
        (
            "on {d} {M}",
            "on {o} {M}",
            "{d} {Mab}",
            "on {M} {d}",
            "on {d} {M} {y}",
            "on the {o} of {M}",
        )
    )
    t = form.format(
        d=d.day, o=_ordinal(d.day), M=MONTHS[d.month - 1], Mab=MONTH_ABBR[d.month - 1], y=d.year
    )
    if "{y}" not in form:
        d = _latest_dm(today, d.day, d.month)
    return _Slot(t, start=d, end=d)


def _latest_dm(today: dt.date, day: int, month: int) -> dt.date:
    cand = dt.date(today.year, month, day)
    return cand if cand <= today else dt.date(today.year - 1, month, day)


def _range_date(rng: random.Random, today: dt.date, ndays: int) -> _Slot:
    """A multi-day date range of ``ndays`` consecutive days ending on or before ``today``."""
    end = today - dt.timedelta(days=rng.randrange(1, 90))
    start = end - dt.timedelta(days=ndays - 1)
    if start.month == end.month:
        form = rng.choice(
            (
                "{a}-{b} {M}",
                "{ao}-{bo} {Mab}",
                "{ao} to {bo} {M}",
                "{a}–{b} {Mab}",
                "from {ao} to {bo} {M}",
            )
        )
    else:
        form = rng.choice(("{a} {AM}-{b} {M}", "{ao} {AMab} to {bo} {Mab}"))
    if ndays == 2 and rng.random() < 0.4:
        form = "{ao} & {bo} {Mab}" if start.month == end.month else form
    t = form.format(
        a=start.day,
        b=end.day,
        ao=_ordinal(start.day),
        bo=_ordinal(end.day),
        M=MONTHS[end.month - 1],
        Mab=MONTH_ABBR[end.month - 1],
        AM=MONTHS[start.month - 1],
        AMab=MONTH_ABBR[start.month - 1],
    )
    if rng.random() < 0.25:
        t = f"{start.day:02d}/{start.month:02d}-{end.day:02d}/{end.month:02d}"
    return _Slot(t, start=start, end=end, days=ndays)


def _last_weekend(today: dt.date) -> _Slot:
    sat = resolve_last_weekday(today, 5)
    return _Slot("last weekend", start=sat, end=sat + dt.timedelta(days=1), days=2)


# --------------------------------------------------------------------------- providers


def _provider(
    rng: random.Random, prof: str, p_inst: float = 0.3, p_ext: float = 0.35
) -> tuple[str | None, str]:
    """Pick an organiser: returns (provider label, organisation name or "")."""
    r = rng.random()
    if r < p_inst:
        return "institute", rng.choice(INSTITUTE[prof])
    if r < p_inst + p_ext:
        return "external", rng.choice(EXTERNAL[prof])
    return None, ""


def _bare(org: str) -> str:
    """Drop a leading "the " from an institute name, except for "the Institute" itself."""
    return org if org.startswith("the Institute") else org.replace("the ", "")


def _strip_the(org: str) -> str:
    return org[4:] if org.startswith("the ") else org


# --------------------------------------------------------------------------- activities


@dataclass
class _Act:
    """An activity phrase with kind-specific label facts."""

    text: str
    title: str
    provider: str | None
    has_test: bool = False
    co_authors: int | None = None
    multi_ok: bool = True  # may be combined with a multi-day range
    test_ok: bool = False


def _org_suffix(rng: random.Random, prov: str | None, org: str, verbs: tuple[str, ...]) -> str:
    if prov is None:
        return rng.choice(("", "", " at work", " in-house", " (internal)"))
    return " " + rng.choice(verbs).format(o=org)


def _training(rng: random.Random, prof: str) -> _Act:
    topic = rng.choice(TOPICS[prof])
    prov, org = _provider(rng, prof, 0.35, 0.4)
    word = rng.choice(
        (
            "course",
            "workshop",
            "webinar",
            "seminar",
            "training day",
            "e-learning module",
            "online course",
            "masterclass",
            "refresher course",
            "training session",
            "CPD webinar",
            "practical course",
            "short course",
        )
    )
    if prov and rng.random() < 0.5:
        lead = _strip_the(org) if prov == "external" else _bare(org)
        text = rng.choice(
            (
                "{o} {w} on {t}",
                "did the {o} {w} on {t}",
                "attended the {o} {w}: {t}",
                "{o} {w} - {t}",
                "completed {o}'s {w} on {t}",
            )
        ).format(o=lead, w=word, t=topic)
    else:
        base = rng.choice(
            (
                "{w} on {t}",
                "attended a {w} on {t}",
                "did a {w} about {t}",
                "completed the {w} on {t}",
                "went on a {w} covering {t}",
                "{t} {w}",
                "sat through a {w} on {t}",
                "finished an {w} on {t}" if word[0] in "aeiou" else "finished a {w} on {t}",
            )
        ).format(w=word, t=topic)
        text = base + _org_suffix(
            rng,
            prov,
            org,
            ("run by {o}", "with {o}", "by {o}", "({o})", "organised by {o}", "delivered by {o}"),
        )
    title = f"{word.capitalize()}: {topic}"
    return _Act(text, title, prov, test_ok=True)


def _conference(rng: random.Random, prof: str) -> _Act:
    topic = rng.choice(TOPICS[prof])
    prov, org = _provider(rng, prof, 0.35, 0.4)
    word = rng.choice(
        (
            "conference",
            "annual conference",
            "congress",
            "symposium",
            "summit",
            "regional conference",
            "national conference",
            "conference (online)",
            "members' conference",
        )
    )
    if prov:
        lead = _bare(org) if prov == "institute" else _strip_the(org)
        text = rng.choice(
            (
                "{o} {w}",
                "attended the {o} {w}",
                "went to the {o} {w}",
                "{o} {w} on {t}",
                "the {w} run by {o}, theme was {t}",
                "at the {o} {w} - sessions on {t}",
            )
        ).format(o=lead, w=word, t=topic)
        title = f"{lead} {word}"
    else:
        text = rng.choice(
            (
                "attended a {w} on {t}",
                "{w} about {t}",
                "went to a {w} on {t}",
                "a {w} on {t}, lots of good talks",
                "{t} {w}",
            )
        ).format(w=word, t=topic)
        title = f"{word.capitalize()}: {topic}"
    return _Act(text, title, prov)


EXHIBITIONS = {
    "marine": (
        ("Southampton Boat Show", "external"),
        ("London Boat Show", "external"),
        ("METSTRADE", "external"),
        ("Seawork", "external"),
        ("Düsseldorf boot", "external"),
        ("the Scottish Boat Show", "external"),
        ("Crick Boat Show", "external"),
        ("Monaco Yacht Show", "external"),
    ),
    "info": (
        ("Records Expo", "external"),
        ("the Digital Workplace Expo", "external"),
        ("Data Protection World Forum expo", "external"),
        ("InfoSec Europe", "external"),
        ("the IIM members' showcase", "institute"),
    ),
    "motor": (
        ("Automechanika Birmingham", "external"),
        ("the Commercial Vehicle Show", "external"),
        ("the Goodwood Festival of Speed trade area", "external"),
        ("the EV Infrastructure expo", "external"),
        ("Autosport International", "external"),
        ("the IMI tech showcase", "institute"),
    ),
    "biomed": (
        ("the MEDLAB exhibition", "external"),
        ("Lab Innovations", "external"),
        ("the IBMS Congress exhibition hall", "institute"),
        ("Medica", "external"),
        ("the Lab Show", "external"),
    ),
}
EXH_GENERIC = {
    "marine": ("a boat show", "the local boat jumble", "a marine trade fair", "the boat show"),
    "info": ("a document management trade show", "an IT expo", "a records tech exhibition"),
    "motor": (
        "a motor trade show",
        "a garage equipment expo",
        "a car show",
        "a trade fair for tool suppliers",
    ),
    "biomed": ("a lab equipment exhibition", "a medical trade fair", "a diagnostics expo"),
}


def _exhibition(rng: random.Random, prof: str) -> _Act:
    if rng.random() < 0.65:
        name, prov = rng.choice(EXHIBITIONS[prof])
    else:
        name, prov = rng.choice(EXH_GENERIC[prof]), None
    text = rng.choice(
        (
            "went to {n}",
            "visited {n}",
            "{n}",
            "walked round {n}, talked to exhibitors",
            "spent time at {n} looking at the stands",
            "attended {n}",
            "trip to {n}",
            "{n} - went round the stands",
        )
    ).format(n=name)
    title = name[0].upper() + name[1:]
    return _Act(text, title, prov)


READING = {
    "marine": (
        ("The Report (IIMS magazine)", "institute"),
        ("Yachting Monthly", "external"),
        ("Practical Boat Owner", "external"),
        ("the IIMS technical guide", "institute"),
        ("Lloyd's Register rules updates", "external"),
        ("MCA MGN 2025 notices", "external"),
    ),
    "info": (
        ("the IIM journal", "institute"),
        ("the IRMS Bulletin", "external"),
        ("Records Management Journal", "external"),
        ("TNA guidance", "external"),
        ("the IIM newsletter", "institute"),
        ("ISO 15489", "external"),
    ),
    "motor": (
        ("MotorPro (IMI magazine)", "institute"),
        ("Garage Wire", "external"),
        ("the IMI technical bulletin", "institute"),
        ("Autocar", "external"),
        ("Bosch service bulletins", "external"),
        ("Aftermarket magazine", "external"),
    ),
    "biomed": (
        ("The Biomedical Scientist", "institute"),
        ("the BJBS", "institute"),
        ("Journal of Clinical Pathology", "external"),
        ("the Lancet", "external"),
        ("IBMS guidance on consent", "institute"),
        ("the UKAS ISO 15189 guidance", "external"),
    ),
}


def _reading(rng: random.Random, prof: str) -> _Act:
    topic = rng.choice(TOPICS[prof])
    if rng.random() < 0.6:
        pub, prov = rng.choice(READING[prof])
        text = rng.choice(
            (
                "read {p} article on {t}",
                "reading: {p}, piece on {t}",
                "read up on {t} in {p}",
                "read the latest {p}",
                "went through {p} on {t}",
                "reading {p} - {t}",
            )
        ).format(p=pub, t=topic)
        title = f"Reading: {pub}"
    else:
        prov = None
        text = rng.choice(
            (
                "read up on {t}",
                "reading around {t}",
                "read a couple of papers on {t}",
                "background reading on {t}",
                "read a textbook chapter on {t}",
                "read articles online about {t}",
            )
        ).format(t=topic)
        title = f"Reading: {topic}"
    return _Act(text, title, prov, multi_ok=False, test_ok=True)


COLLAB = (
    ("", None),
    (" (solo)", 1),
    (", wrote it on my own", 1),
    (" with a colleague", 2),
    (" co-written with two colleagues", 3),
    (" with 3 co-authors", 4),
    (" - joint with my manager", 2),
    (" with four others", 5),
    (" together with a co-author", 2),
    (", I'm one of 3 authors", 3),
)


def _article(rng: random.Random, prof: str) -> _Act:
    topic = rng.choice(TOPICS[prof])
    prov, org = _provider(rng, prof, 0.4, 0.45)
    inst_pub = {
        "marine": "The Report",
        "info": "the IIM journal",
        "motor": "MotorPro",
        "biomed": "The Biomedical Scientist",
    }[prof]
    if prov == "institute":
        where = rng.choice((inst_pub, f"the {org.replace('the ', '')} newsletter"))
    elif prov == "external":
        ext_pubs = tuple(p for p, who in READING[prof] if who == "external")
        where = rng.choice((f"{_strip_the(org)}'s blog", *ext_pubs[:3]))
    else:
        where = ""
    verb = rng.choice(
        (
            "wrote an article on {t}",
            "writing a technical note on {t}",
            "article on {t}",
            "drafted a paper on {t}",
            "my article about {t}",
            "researching and writing a piece on {t}",
            "published a paper on {t}",
        )
    )
    text = verb.format(t=topic)
    if where:
        text += rng.choice((" for {w}", " in {w}", " - for {w}")).format(w=where)
    extra, co = rng.choice(COLLAB)
    text += extra
    return _Act(text, f"Article: {topic}", prov, co_authors=co, multi_ok=False)


def _book(rng: random.Random, prof: str) -> _Act:
    topic = rng.choice(TOPICS[prof])
    prov = None
    text = rng.choice(
        (
            "working on my book on {t}",
            "book writing - chapter on {t}",
            "wrote two chapters of the book about {t}",
            "edited the draft of our book on {t}",
            "finished the manuscript for my book on {t}",
            "book: {t}, revising chapter 4",
            "writing my handbook on {t}",
        )
    ).format(t=topic)
    if rng.random() < 0.3:
        org = rng.choice(
            (
                "Routledge",
                "Wiley",
                "Elsevier",
                "Bloomsbury",
                "Facet Publishing",
                "Adlard Coles",
                "Springer",
            )
        )
        text += rng.choice((", published by {o}", " (publisher {o})", " for {o}")).format(o=org)
        prov = "external"
    extra, co = rng.choice(COLLAB)
    text += extra
    return _Act(text, f"Book: {topic}", prov, co_authors=co, multi_ok=False)


AUDIENCE = {
    "marine": (
        "trainee surveyors",
        "the local sailing club",
        "yacht brokers",
        "apprentices",
        "MSc students",
    ),
    "info": ("new starters", "the finance team", "archive volunteers", "MA students", "the board"),
    "motor": (
        "apprentices",
        "our technicians",
        "level 3 students",
        "the service advisors",
        "a motor club",
    ),
    "biomed": ("trainee BMSs", "medical students", "the MLA team", "BSc students", "ward nurses"),
}


def _teaching(rng: random.Random, prof: str) -> _Act:
    topic = rng.choice(TOPICS[prof])
    aud = rng.choice(AUDIENCE[prof])
    prov, org = _provider(rng, prof, 0.25, 0.35)
    text = rng.choice(
        (
            "gave a talk on {t} to {a}",
            "delivered training on {t} to {a}",
            "taught {a} about {t}",
            "presented on {t} to {a}",
            "lectured {a} on {t}",
            "tutoring {a} - {t}",
            "ran a session on {t} for {a}",
            "guest lecture on {t}",
            "delivered a workshop on {t} for {a}",
            "gave a presentation about {t}",
        )
    ).format(t=topic, a=aud)
    text += _org_suffix(
        rng, prov, org, ("for {o}", "at {o}", "on behalf of {o}", "- organised by {o}")
    )
    return _Act(text, f"Teaching: {topic}", prov)


EXAMS = {
    "marine": ("IIMS Diploma", "Yacht & Small Craft surveying exam", "Certificate module 3"),
    "info": ("IIM Certificate", "IIM Diploma", "records management module"),
    "motor": ("NVQ level 3", "IMI ATA", "MOT tester", "Level 2 apprenticeship"),
    "biomed": (
        "IBMS Specialist Portfolio",
        "IBMS Registration Portfolio",
        "BSc final-year",
        "Certificate of Achievement",
    ),
}


def _examining(rng: random.Random, prof: str) -> _Act:
    exam = rng.choice(EXAMS[prof])
    is_inst = exam.startswith(("IIMS", "IIM", "IMI", "IBMS"))
    n = rng.randrange(2, 15)
    text = rng.choice(
        (
            "marked {n} {e} scripts",
            "examiner for the {e} - {n} candidates",
            "assessed {n} {e} candidates",
            "wrote the {e} question paper",
            "second marking {e} assignments",
            "moderated {e} portfolios",
            "acted as assessor for the {e}",
            "verified {n} {e} portfolios as internal verifier",
            "external examiner, {e} exam board",
            "invigilated and marked the {e} practical",
        )
    ).format(n=n, e=exam)
    if is_inst:
        prov: str | None = "institute"
    elif rng.random() < 0.4:
        org = rng.choice(EXTERNAL[prof])
        text += rng.choice((" for {o}", " at {o}")).format(o=org)
        prov = "external"
    else:
        prov = None
    return _Act(text, f"Examining: {exam}", prov)


PROJECTS = {
    "marine": (
        "a damage survey report for an insurer",
        "the condition survey procedure",
        "a client's fleet inspection",
        "our survey report template",
        "a hull failure investigation",
        "the quality manual",
    ),
    "info": (
        "the retention schedule",
        "the records disposal policy",
        "a SharePoint migration",
        "our information asset register",
        "the email archiving project",
        "the FOI procedure",
    ),
    "motor": (
        "the workshop health & safety procedure",
        "a new EV workshop layout",
        "the warranty claims process",
        "our ADAS calibration bay",
        "the vehicle handover checklist",
        "a diagnostics process review",
    ),
    "biomed": (
        "the sample tracking procedure",
        "a verification of the new analyser",
        "an audit of rejected samples",
        "the SOP for blood film review",
        "the UKAS evidence pack",
        "a method comparison study",
    ),
}


def _work_project(rng: random.Random, prof: str) -> _Act:
    proj = rng.choice(PROJECTS[prof])
    topic = rng.choice(TOPICS[prof])
    text = rng.choice(
        (
            "worked on {p}",
            "project work: {p}",
            "wrote {p}",
            "rewrote {p}",
            "consultancy on {t} for a client",
            "research at work on {t}",
            "drafted {p}",
            "updated {p} at work",
            "led {p}",
            "work project - {p}",
        )
    ).format(p=proj, t=topic)
    prov = None
    if "client" in text and rng.random() < 0.4:
        org = rng.choice(EXTERNAL[prof])
        text = text.replace("a client", _strip_the(org))
        prov = "external"
    title = text.split(":")[-1].strip().capitalize()[:60]
    return _Act(text, title, prov, multi_ok=True)


def _mentoring(rng: random.Random, prof: str) -> _Act:
    topic = rng.choice(TOPICS[prof])
    prov = None
    text = rng.choice(
        (
            "mentoring session with my mentee on {t}",
            "met my mentor, talked about {t}",
            "coached a junior colleague on {t}",
            "coaching from my manager on {t}",
            "1:1 with my mentor",
            "mentored our new apprentice - {t}",
            "monthly mentoring call with my mentee",
            "was coached on {t} by a senior colleague",
            "mentoring the trainee on {t}",
            "career chat with my mentor",
        )
    ).format(t=topic)
    if rng.random() < 0.25:
        inst = _bare(rng.choice(INSTITUTE[prof]))
        text += f" ({inst} mentoring scheme)"
        prov = "institute"
    return _Act(text, "Mentoring" + (f": {topic}" if topic in text else ""), prov, multi_ok=False)


def _committee(rng: random.Random, prof: str) -> _Act:
    topic = rng.choice(TOPICS[prof])
    prov, org = _provider(rng, prof, 0.5, 0.2)
    body = rng.choice(
        (
            "committee meeting",
            "working group",
            "steering group",
            "council meeting",
            "technical committee",
            "standards panel",
            "branch committee",
        )
    )
    if prov == "institute":
        o = _bare(org)
        text = rng.choice(
            (
                "{o} {b}",
                "attended the {o} {b}",
                "{o} {b} on {t}",
                "responded to the {o} consultation on {t}",
                "sat on the {o} {b}",
            )
        ).format(o=o, b=body, t=topic)
    elif prov == "external":
        text = rng.choice(
            (
                "{b} at {o} on {t}",
                "{o} {b}",
                "represented us at the {o} {b}",
            )
        ).format(o=_strip_the(org), b=body, t=topic)
    else:
        text = rng.choice(
            (
                "{b} on {t}",
                "regional {b}",
                "our {b} - {t}",
                "chaired the {b}",
                "took minutes at the {b}",
            )
        ).format(b=body, t=topic)
    return _Act(text, f"{body.capitalize()}", prov, multi_ok=False)


VOLUNTEER = {
    "marine": (
        "the lifeboat station open day",
        "a sea cadets evening",
        "a beach clean",
        "the sailing club's safety boat",
        "a charity regatta",
    ),
    "info": (
        "the village archive",
        "a food bank's data cleanup",
        "a school careers fair",
        "the local history society",
        "a charity's GDPR policy (unpaid)",
    ),
    "motor": (
        "a tyre safety check morning",
        "a school careers day",
        "the community minibus",
        "a classic car charity rally",
        "a kids' bike repair session",
    ),
    "biomed": (
        "a blood donor session",
        "a school STEM day",
        "a charity fun run first aid tent",
        "the hospital open day",
        "a science festival stand",
    ),
}


def _volunteering(rng: random.Random, prof: str) -> _Act:
    what = rng.choice(VOLUNTEER[prof])
    text = rng.choice(
        (
            "volunteered at {w}",
            "helped out at {w}",
            "voluntary work: {w}",
            "gave my time to {w}",
            "unpaid help at {w}",
            "volunteering - {w}",
        )
    ).format(w=what)
    prov = None
    if rng.random() < 0.25:
        org = rng.choice(
            (
                "the RNLI",
                "Age UK",
                "the Scouts",
                "STEM Ambassadors",
                "the Canal & River Trust",
                "St John Ambulance",
                "Rotary",
            )
        )
        text += f" with {org}"
        prov = "external"
    return _Act(text, f"Volunteering: {what}", prov)


QUALS = {
    "marine": (
        "IIMS Diploma in Yacht Surveying",
        "MSc Marine Surveying",
        "HNC in marine engineering",
        "IIMS Certificate in Marine Surveying",
    ),
    "info": (
        "MA Archives and Records Management",
        "IIM Diploma",
        "PG Cert in information governance",
        "BCS data protection practitioner certificate",
    ),
    "motor": (
        "HND automotive engineering",
        "Level 4 diploma",
        "NVQ level 3",
        "BEng degree apprenticeship",
        "foundation degree in motorsport engineering",
    ),
    "biomed": (
        "MSc Biomedical Science",
        "IBMS Specialist Diploma",
        "DBMS doctorate",
        "BSc top-up",
        "IBMS Higher Specialist Diploma",
    ),
}


def _qualification(rng: random.Random, prof: str) -> _Act:
    q = rng.choice(QUALS[prof])
    prov: str | None = "institute" if q.startswith(("IIMS", "IIM", "IMI", "IBMS")) else None
    text = rng.choice(
        (
            "studying for my {q}",
            "revision for the {q}",
            "{q} coursework",
            "assignment for my {q}",
            "study time - {q}",
            "worked on my {q} dissertation",
            "lectures for my {q}",
            "{q} module study",
        )
    ).format(q=q)
    if q.startswith(("BCS", "CIPD", "NEBOSH", "City & Guilds")):
        prov = "external"
    elif prov is None and rng.random() < 0.4:
        text += f" at {rng.choice(COLLEGES[prof])}"
        prov = "external"
    return _Act(text, q, prov, test_ok=True)


COLLEGES = {
    "marine": ("Solent University", "Plymouth University", "South Tyneside College", "Warsash"),
    "info": ("UCL", "Aberystwyth University", "the University of Dundee", "Liverpool Uni"),
    "motor": ("Bristol College", "the local college", "Coventry University", "Remit Training"),
    "biomed": ("Keele University", "Manchester Met", "the University of Westminster", "Ulster"),
}


VISITS = {
    "marine": (
        "a shipyard",
        "a superyacht yard",
        "a boatbuilder's mould shop",
        "a dry dock",
        "a sailmaker's loft",
    ),
    "info": (
        "the county record office",
        "an offsite records store",
        "another trust's IG team",
        "a county archives reading room",
        "a scanning bureau",
    ),
    "motor": (
        "a bodyshop",
        "a car assembly plant",
        "a battery recycling facility",
        "a dealer's EV workshop",
        "a tyre distribution centre",
    ),
    "biomed": (
        "the blood bank at the main hospital site",
        "a neighbouring trust's microbiology lab",
        "the genomics hub",
        "the histology lab at another site",
        "the blood donor centre",
    ),
}


def _site_visit(rng: random.Random, prof: str) -> _Act:
    place = rng.choice(VISITS[prof])
    text = rng.choice(
        (
            "site visit to {p}",
            "visited {p}",
            "work shadowing at {p}",
            "toured {p}",
            "shadowed the team at {p}",
            "secondment day at {p}",
            "went to see {p}",
            "visit to {p} to see how they work",
        )
    ).format(p=place)
    prov = None
    r = rng.random()
    if r < 0.2:
        inst = _bare(rng.choice(INSTITUTE[prof]))
        text += rng.choice((f", trip organised by {inst}", f" with the {inst} group"))
        prov = "institute"
    elif r < 0.4:
        org = rng.choice(EXTERNAL[prof])
        text += f", hosted by {_strip_the(org)}"
        prov = "external"
    return _Act(text, f"Site visit: {place}", prov)


OTHER = {
    "marine": (
        "listened to a podcast on {t}",
        "watched a documentary on {t}",
        "personal project: restoring my own dinghy",
        "answered questions on a surveyors' forum",
        "career planning exercise",
        "did a 360 feedback reflection",
        "networking drinks with local surveyors",
    ),
    "info": (
        "listened to a podcast on {t}",
        "watched a YouTube explainer on {t}",
        "personal project: cataloguing my family papers",
        "Q&A thread on a records forum",
        "did a self-assessment against the competency framework",
        "informal networking lunch",
    ),
    "motor": (
        "listened to a podcast about {t}",
        "watched a documentary on {t}",
        "personal project - rebuilding an old motorbike engine",
        "helped on a tech forum thread about {t}",
        "did a personal development plan",
        "learning Welsh for dealing with customers",
    ),
    "biomed": (
        "listened to a podcast on {t}",
        "watched a documentary about {t}",
        "personal project: building a lab quiz app",
        "reflective writing about a near miss",
        "did a personality profile and reflection",
        "explained my lab work to a school-age nephew, good plain-English practice",
    ),
}


def _other(rng: random.Random, prof: str) -> _Act:
    topic = rng.choice(TOPICS[prof])
    text = rng.choice(OTHER[prof]).format(t=topic)
    return _Act(text, text.split(":")[0].split(" - ")[0].capitalize()[:60], None, multi_ok=False)


EXTRA_FRAMES: dict[str, tuple[str, ...]] = {
    "training": (
        "sat in on a lunchtime learning session about {t}",
        "online training: {t}, certificate downloaded",
        "practical hands-on session covering {t}",
        "brushed up on {t} with an e-learning package",
        "toolbox training on {t}",
        "module 2 of the {t} course done",
    ),
    "conference": (
        "delegate at a conference looking at {t}",
        "two keynotes and a panel on {t} at the annual conference",
        "spent the day at a symposium where {t} was the main theme",
        "conference - breakout sessions on {t}",
    ),
    "exhibition": (
        "looked round the stands at a trade show, mainly for {t}",
        "expo visit - suppliers showing kit for {t}",
        "trade fair, chatted to exhibitors about {t}",
        "wandered the exhibition halls looking at {t} products",
    ),
    "reading": (
        "journal reading on {t}",
        "read two papers about {t} and made notes",
        "looked through the standard on {t}",
        "read a trade newsletter feature about {t}",
        "reading a book on {t}",
        "read a journal paper on {t}",
        "reading - paper about {t}",
        "read an article about {t} (someone else's, not mine)",
        "read a review article on {t}",
        "reading: magazine article on {t}",
    ),
    "article": (
        "my write-up on {t} for a trade journal",
        "submitted a technical paper on {t}",
        "working on a magazine piece about {t}",
        "article revisions ({t}) after the editor's comments",
        "I wrote a paper on {t} - now accepted",
        "authored an article about {t}",
    ),
    "book": (
        "book chapter on {t} drafted",
        "writing the {t} section of my book",
        "book project: proofreading the chapter on {t}",
    ),
    "teaching": (
        "was the trainer for a session on {t}",
        "spoke about {t} at a branch evening",
        "demonstrated {t} to a group of trainees",
        "ran the practical on {t} for students",
        "guest speaker on {t}",
        "delivered the course on {t} as presenter",
        "guest lecture about {t} at the university",
        "lectured at the college on {t}",
        "I was the tutor on a course about {t}",
        "gave a lecture on {t}",
    ),
    "examining": (
        "marking assignments on {t}",
        "assessor for practical tests on {t}",
        "moderated exam answers on {t}",
        "set an exam question on {t}",
    ),
    "work_project": (
        "project at work looking at {t}",
        "wrote a procedure covering {t}",
        "client consultancy about {t}",
        "investigated {t} for a work report",
        "drafted our policy on {t}",
    ),
    "mentoring": (
        "mentored a colleague new to {t}",
        "coaching session about {t} with my mentee",
        "my mentor went through {t} with me",
        "received coaching on {t}",
    ),
    "committee": (
        "working group meeting about {t}",
        "steering group - agenda item on {t}",
        "panel discussion on guidance for {t} (I'm a committee member)",
        "committee work on {t}",
    ),
    "volunteering": (
        "unpaid - gave advice on {t} at a community event",
        "volunteered my time to explain {t} to the public",
        "charity volunteering, helping with {t}",
    ),
    "qualification": (
        "diploma study on {t}",
        "degree module on {t}, assignment submitted",
        "revising {t} for my exam",
        "coursework for my qualification - {t}",
    ),
    "site_visit": (
        "site visit to see {t} in practice",
        "shadowed a colleague working on {t}",
        "visited another department to learn about {t}",
        "went to a supplier's site to see {t}",
    ),
    "other": (
        "watched videos about {t} in my own time",
        "podcast episode about {t}",
        "personal project to understand {t}",
        "informal discussion over coffee about {t}",
    ),
}


def _extra(rng: random.Random, kind: str, prof: str) -> _Act:
    """A generic extra phrasing for ``kind`` (no organiser)."""
    topic = rng.choice(TOPICS[prof])
    text = rng.choice(EXTRA_FRAMES[kind]).format(t=topic)
    multi = kind not in ("reading", "article", "book", "mentoring", "committee", "other")
    test = kind in ("training", "reading", "qualification")
    title = f"{kind.replace('_', ' ').capitalize()}: {topic}"
    return _Act(text, title, None, multi_ok=multi, test_ok=test)


BUILDERS: dict[str, Callable[[random.Random, str], _Act]] = {
    "training": _training,
    "conference": _conference,
    "exhibition": _exhibition,
    "reading": _reading,
    "article": _article,
    "book": _book,
    "teaching": _teaching,
    "examining": _examining,
    "work_project": _work_project,
    "mentoring": _mentoring,
    "committee": _committee,
    "volunteering": _volunteering,
    "qualification": _qualification,
    "site_visit": _site_visit,
    "other": _other,
}

TEST_PHRASES = (
    "passed the quiz at the end",
    "with an online test (passed)",
    "exam passed ✅",
    "passed the assessment",
    "did the end test and passed",
    "assessment at the end - passed",
    "plus the multiple choice test, passed",
    "quiz passed 100%",
    "passed the exam",
)

KIND_TEST_PHRASES = {
    "reading": (
        "did the quiz after (passed)",
        "passed the CPD quiz",
        "8/10 on the questions, pass",
        "answered the self-assessment questions - passed",
    ),
    "qualification": (
        "exam passed ✅",
        "sat the module exam and passed",
        "passed the unit test",
        "got my exam result - pass!",
        "passed the end-point assessment",
    ),
}

MULTI_WORDS = {
    "training": ("{n}-day course", "{n} day course", "{n} days", "{w}-day workshop", "({n} days)"),
    "conference": ("{n}-day conference", "{n} days", "all {w} days", "({n} days)"),
    "exhibition": ("{n} days", "both days", "({n} days)"),
    "default": ("{n} days", "({n} days)", "{n} full days"),
}


# --------------------------------------------------------------------------- typos

PROTECTED = {"yesterday", "today", "last", "weekend", "hours", "minutes", "passed"}


def _typo(rng: random.Random, text: str) -> str:
    """Inject one deterministic typo into an alphabetic word of length >= 5."""
    words = text.split(" ")
    idx = [
        i for i, w in enumerate(words) if w.isalpha() and len(w) >= 5 and w.lower() not in PROTECTED
    ]
    if not idx:
        return text
    i = rng.choice(idx)
    w = words[i]
    j = rng.randrange(1, len(w) - 2)
    op = rng.randrange(3)
    if op == 0:
        w = w[:j] + w[j + 1] + w[j] + w[j + 2 :]
    elif op == 1:
        w = w[:j] + w[j + 1 :]
    else:
        w = w[:j] + w[j] + w[j:]
    words[i] = w
    return " ".join(words)


SHORTHAND_ACT = (
    (" and ", " & "),
    (" with ", " w/ "),
    ("about ", "abt "),
    (" for ", " 4 "),
    (" to ", " 2 "),
    ("training", "trng"),
    ("meeting", "mtg"),
    ("committee", "cttee"),
    ("through", "thru"),
    ("people", "ppl"),
    ("because", "cos"),
)
SHORTHAND_TAIL = (
    (" hours", "hrs"),
    ("yesterday", "yday"),
    (" today", " 2day"),
    ("minutes", "mins"),
)


def _shorthand(rng: random.Random, text: str, table: tuple[tuple[str, str], ...]) -> str:
    """Apply some phone-shorthand substitutions from ``table`` (each with probability 0.5)."""
    for a, b in table:
        if a in text and rng.random() < 0.5:
            text = text.replace(a, b)
    return text


# --------------------------------------------------------------------------- assembly

SHORT_KINDS = {"reading", "other", "mentoring", "article", "book", "committee", "exhibition"}
EVENING_DATES = {"tonight", "this evening", "last night"}
LEADS = (
    "hi, ",
    "quick one - ",
    "for my cpd: ",
    "CPD: ",
    "log pls: ",
    "can you add ",
    "another one for my record: ",
    "hiya, ",
    "morning! ",
)
REMARKS = (
    "reflection to follow",
    "cert attached",
    "photos in the app",
    "evidence on file",
    "really useful",
    "good session",
    "long day!",
    "learnt loads",
    "not sure which category",
)
EMAIL_LEADS = (
    "I would like to claim CPD for the following: ",
    "Please log ",
    "Could you please record ",
    "I'd like to submit a claim - ",
    "For my CPD record: ",
    "Please add this to my CPD log: ",
    "I am writing to claim CPD. Activity: ",
)


def _today(rng: random.Random) -> dt.date:
    return dt.date(2025, 1, 1) + dt.timedelta(days=rng.randrange(730))


def _short_duration(rng: random.Random) -> _Slot:
    """A duration of at most four hours (for reading, podcasts, meetings and the like)."""
    for _ in range(30):
        slot = _duration(rng)
        if slot.hours is not None and slot.hours <= 4:
            return slot
    return _Slot("1hr", 1.0)


def _slots(rng: random.Random, kind: str, act: _Act, today: dt.date) -> tuple[_Slot | None, ...]:
    """Choose the (duration, date) slots for one message."""
    dur: _Slot | None = None
    date: _Slot | None = None
    pick = _short_duration if kind in SHORT_KINDS else _duration
    r = rng.random()
    if act.multi_ok and r < 0.15:
        n = rng.choice((2, 2, 3, 4))
        date = _range_date(rng, today, n)
        m = rng.random()
        if m < 0.45:
            words = MULTI_WORDS.get(kind, MULTI_WORDS["default"])
            t = rng.choice(words).format(n=n, w=NUMBER_WORDS[n])
            if t == "both days" and n != 2:
                t = f"{n} days"
            dur = _Slot(t, 7.5 * n)
        elif m < 0.7:
            h = rng.choice((10, 12, 14, 16, 20, 21))
            form = rng.choice(("{h} hours in total", "{h}hrs altogether", "{h} hours total"))
            dur = _Slot(form.format(h=h), float(h))
        # else: a date range alone gives no hours
    elif r < 0.22 and act.multi_ok:
        date = _last_weekend(today)
        if rng.random() < 0.5:
            h = rng.choice((6, 8, 10, 12))
            dur = _Slot(f"{h} hrs over the two days", float(h))
    elif r < 0.78:
        if rng.random() < 0.85:
            dur = pick(rng)
        if dur is None or dur.days == 1:
            for _ in range(10):
                date = _single_date(rng, today)
                long_or_daytime = dur is not None and (
                    (dur.hours or 0) > 3 or "am" in dur.text or "day" in dur.text
                )
                if not (date.text.lower() in EVENING_DATES and long_or_daytime):
                    break
            else:
                d = today - dt.timedelta(days=1)
                date = _Slot("yesterday", start=d, end=d)
    else:
        if rng.random() < 0.75:
            dur = pick(rng)
        if rng.random() < 0.3:
            vague = ("last week", "this week", "recently", "over the past month", "last month")
            date = _Slot(rng.choice(vague))
    return dur, date


def _one(rng: random.Random, kind: str, idx: int) -> dict[str, Any]:
    """Build one labelled message of ``kind`` with id number ``idx``."""
    prof = rng.choice(PROFESSIONS)
    today = _today(rng)
    act = _extra(rng, kind, prof) if rng.random() < 0.25 else BUILDERS[kind](rng, prof)
    act.text = act.text.replace("the the ", "the ").replace("The the ", "The ")
    if rng.random() < 0.15:
        act.text = _typo(rng, act.text)
    dur, date = _slots(rng, kind, act, today)
    has_test = act.test_ok and rng.random() < 0.3

    tail = []
    if date is not None and date.text:
        tail.append(date.text)
    if dur is not None:
        tail.append(dur.text)
    rng.shuffle(tail)
    if has_test:
        tail.append(rng.choice(KIND_TEST_PHRASES.get(kind, TEST_PHRASES)))

    register = rng.random()
    act_text = act.text
    if register < 0.18:
        body = rng.choice(EMAIL_LEADS) + act_text
        if tail:
            body += ", " + ", ".join(tail)
        body += "."
        if rng.random() < 0.4:
            body += rng.choice(
                (
                    " Certificate attached.",
                    " Reflection to follow.",
                    " Happy to send evidence if needed.",
                    " Photos attached.",
                    " Many thanks for your help.",
                )
            )
        sal, sign = rng.choice(SALUTATIONS), rng.choice(SIGNOFFS)
        text = f"{sal},\n\n{body}\n\n{sign},\n{rng.choice(NAMES)}"
    else:
        sep = rng.choice((", ", " - ", " ", ", ", "; "))
        if register < 0.42:  # phone shorthand
            act_text = _shorthand(rng, act_text, SHORTHAND_ACT)
            text = sep.join([act_text, *tail])
            text = _shorthand(rng, text, SHORTHAND_TAIL)
            if rng.random() < 0.6:
                text = text.lower()
        elif register < 0.52:  # tidy sentence
            text = sep.join([act_text, *tail])
            text = text[0].upper() + text[1:] + "."
        elif register < 0.64 and tail:  # details first
            text = tail[0] + rng.choice((": ", " - ", " ")) + sep.join([act_text, *tail[1:]])
        elif register < 0.72:  # question
            q = rng.choice(("can I claim ", "is it ok to log ", "does this count? ", "pls log "))
            text = q + sep.join([act_text, *tail]) + rng.choice(("?", " ?", "??", ""))
        else:
            text = sep.join([act_text, *tail])
        if rng.random() < 0.12:
            text = rng.choice(LEADS) + text
        if rng.random() < 0.12:
            text += rng.choice((". ", ", ", " - ")) + rng.choice(REMARKS)
        if rng.random() < 0.2:
            text += " " + rng.choice(EMOJI)

    hours = None if dur is None or dur.hours is None else round(dur.hours, 2)
    start = date.start if date is not None else None
    end = date.end if date is not None else None
    return {
        "id": f"g{idx:05d}",
        "text": text,
        "today": _d(today),
        "kind": kind,
        "hours": hours,
        "start_date": _d(start) if start else None,
        "end_date": _d(end) if end else None,
        "has_test": has_test,
        "provider": act.provider,
        "co_authors": act.co_authors,
        "title": act.title[:80],
    }


def generate(seed: int = 0, n: int = 1200) -> list[dict[str, Any]]:
    """Build ``n`` labelled messages deterministically from ``seed``.

    Kinds are assigned round-robin so every kind gets ``n // 15`` (or one more) records.
    Texts are de-duplicated: a duplicate text is regenerated with the next random draw.
    Returns a list of records with the corpus schema (``id``, ``text``, ``today``, ``kind``,
    ``hours``, ``start_date``, ``end_date``, ``has_test``, ``provider``, ``co_authors``,
    ``title``).
    """
    rng = random.Random(seed)
    out: list[dict[str, Any]] = []
    seen: set[str] = set()
    for i in range(n):
        kind = KINDS[i % len(KINDS)]
        for _ in range(50):
            rec = _one(rng, kind, i + 1)
            key = " ".join(rec["text"].lower().split())
            if key not in seen:
                break
        seen.add(key)
        out.append(rec)
    return out


def load_handwritten(path: Path | None = None) -> list[dict[str, Any]]:
    """Read the hand-written labelled messages (``corpus/handwritten.jsonl`` by default)."""
    with (path or HANDWRITTEN_PATH).open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def full_corpus(seed: int = 0, n: int = 1200) -> list[dict[str, Any]]:
    """Return the whole training corpus: hand-written records followed by ``generate(seed, n)``.

    Generated records whose text equals (case/whitespace-insensitively) a hand-written text are
    dropped, so texts stay unique.
    """
    hand = load_handwritten()
    seen = {" ".join(r["text"].lower().split()) for r in hand}
    gen = [r for r in generate(seed, n) if " ".join(r["text"].lower().split()) not in seen]
    return hand + gen
