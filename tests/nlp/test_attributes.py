"""Provider, has_test, co_authors and title rules, in my own wording."""

from __future__ import annotations

import pytest

from cpd.nlp import attributes
from cpd.nlp.normalise import clean

PROVIDER_CASES: list[tuple[str, str | None]] = [
    # the member bodies, their branches and publications
    ("IIMS webinar on osmosis", "institute"),
    ("iim records conference", "institute"),
    ("IMI level 3 refresher", "institute"),
    ("IBMS online module on haemolysis", "institute"),
    ("course run by the Institute on metadata", "institute"),
    ("IIMS Channel Islands branch meeting", "institute"),
    ("read an article in The Biomedical Scientist", "institute"),
    # other organisations, publications and named events
    ("EV course at Bosch, 2 days", "external"),
    ("hybrid programme at the Toyota academy", "external"),
    ("diploma module at Portsmouth College", "external"),
    ("lecture at the University of Kent", "external"),
    ("workshop run by Hartley Marine Training", "external"),
    ("first aid course with Medic Skills Ltd", "external"),
    ("Bristol Harbour Festival stand duty", "external"),
    ("read a piece in Practical Boat Owner", "external"),
    ("paper in the Journal of Medical Microbiology", "external"),
    ("volunteered for the RNLI", "external"),
    ("Dusseldorf Boat Show visit", "external"),
    ("studying for a certificate at college", "external"),
    ("factory tour, hosted by Sunseeker", "external"),
    # nobody stated
    ("manual handling refresher at work", None),
    ("in-house GDPR training", None),
    ("boat show on saturday", None),
    ("trade expo at Birmingham", None),
    ("summit in Manchester yesterday", None),
    ("restored a 1972 Mini Cooper at home", None),
    ("NVQ marking in the workshop", None),
    ("mentoring session with our new apprentice", None),
]


@pytest.mark.parametrize(("text", "want"), PROVIDER_CASES)
def test_provider(text: str, want: str | None) -> None:
    assert attributes.provider(clean(text)) == want


def test_mail_greeting_does_not_make_the_institute_the_provider() -> None:
    # A mail to the IIMS team about an outside event: the greeting is dropped, so "external".
    text = "Dear IIMS CPD team,\n\nI visited the Glasgow Boat Show last week.\n\nRegards,\nAl"
    assert attributes.provider(clean(text)) == "external"


TEST_CASES: list[tuple[str, str | None, bool]] = [
    ("passed the online test at the end", "training", True),
    ("module with an end-of-course quiz", "training", True),
    ("sat the written exam this morning", "qualification", True),
    ("final assessment passed", "training", True),
    ("read the guidance and did the quiz (8/10)", "reading", True),
    ("took the MCQ paper, result pending", "qualification", True),
    ("webinar, no test", "training", False),
    ("invigilated the diploma exam", "examining", False),
    ("marked twelve exam scripts", "examining", False),
    ("acted as assessor for two apprentices", "examining", False),
    ("revising for my HNC exam", "qualification", False),
    ("completed a risk assessment for the workshop", "work_project", False),
    ("ran MOT tests all morning", "work_project", False),
    ("failed the practical test, resit next month", "training", False),
]


@pytest.mark.parametrize(("text", "kind", "want"), TEST_CASES)
def test_has_test(text: str, kind: str | None, want: bool) -> None:
    assert attributes.has_test(clean(text), kind)[0] is want


def test_failed_test_is_flagged() -> None:
    assert attributes.has_test("failed the exam", "qualification") == (False, ["test_failed"])


CO_AUTHOR_CASES: list[tuple[str, str, int | None]] = [
    ("co-wrote the article with two colleagues", "article", 3),
    ("paper written with 4 other researchers", "article", 5),
    ("book chapter with a co-author", "book", 2),
    ("I'm one of five authors of the handbook", "book", 5),
    ("co-authored with Priya Shah and Tom Reed", "article", 3),
    ("wrote it on my own", "article", 1),
    ("sole author of the technical note", "article", 1),
    ("co-written with my manager", "article", 2),
    ("working on my book", "book", None),
    ("read a paper with two colleagues", "reading", None),
]


@pytest.mark.parametrize(("text", "kind", "want"), CO_AUTHOR_CASES)
def test_co_authors(text: str, kind: str, want: int | None) -> None:
    assert attributes.co_authors(clean(text), kind) == want


TITLE_CASES: list[tuple[str, str]] = [
    ("Attended the IIM records retention webinar yesterday 10:00-12:30",
     "Records retention webinar"),
    ("boat show southampton today 4hrs 📸", "Boat show southampton"),
    ("reading: Classic Boat article on caulking, 40 mins", "Classic Boat article on caulking"),
    ("did a 2-day EV high-voltage course at Bosch, passed the online test",
     "EV high-voltage course at Bosch"),
]


@pytest.mark.parametrize(("text", "want"), TITLE_CASES)
def test_title(text: str, want: str) -> None:
    import datetime as dt

    from cpd.nlp.dates import parse_dates
    from cpd.nlp.durations import parse_hours

    cleaned = clean(text)
    spans = parse_hours(cleaned).spans + parse_dates(cleaned, dt.date(2026, 3, 12)).spans
    assert attributes.title(cleaned, spans) == want


def test_title_is_short() -> None:
    long = "workshop on " + "very " * 40 + "long topics"
    t = attributes.title(long, [])
    assert t is not None and len(t) <= attributes.MAX_TITLE


MORE_CO_AUTHORS: list[tuple[str, str, int | None]] = [
    ("article co-written w/ three others", "article", 4),
    ("co-writing the handbook with my former supervisor", "book", 2),
    ("me and a friend from the club are writing a guide book", "book", 2),
    ("all my own work, 4 hours", "article", 1),
    ("sole-authored piece for the newsletter", "article", 1),
]


@pytest.mark.parametrize(("text", "kind", "want"), MORE_CO_AUTHORS)
def test_more_co_author_wordings(text: str, kind: str, want: int | None) -> None:
    assert attributes.co_authors(clean(text), kind) == want


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("built a revision quiz app for the apprentices", False),
        ("mock exam preparation with the trainees", False),
        ("read the CPD article and answered the questions, passed", True),
    ],
)
def test_more_test_wordings(text: str, want: bool) -> None:
    assert attributes.has_test(clean(text), None)[0] is want


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("yacht show monaco, 5 hrs", "external"),
        ("Glasgow boat show at the SEC", "external"),
        ("delivered a workshop on behalf of Castrol", "external"),
        ("session for the Institute mentoring scheme", "institute"),
        ("article for The Report on osmosis", "institute"),
        ("reviewed my HCPC portfolio with my mentor", None),
        ("started a beginners Italian course", None),
    ],
)
def test_more_provider_wordings(text: str, want: str | None) -> None:
    assert attributes.provider(clean(text)) == want


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("revised chapter 2 of the handbook (publisher Kogan Page)", "external"),
        ("read BS 7671 section 722 on EV charging", "external"),
        ("in-house ISO 9001 awareness briefing", None),
        ("ASE technicians conference online", "external"),
        ("TechSkills e-learning module on brakes", "external"),
        ("visit to the Harbour Authority's maintenance yard", "external"),
        ("EV safety course in the workshop", None),
        ("MSc Records and Archives Management dissertation, 3 hrs", None),
        ("for the Certificate of Proficiency marking", None),
        ("talk at a conference on the Data Protection Act", None),
    ],
)
def test_provider_names_and_non_names(text: str, want: str | None) -> None:
    assert attributes.provider(clean(text)) == want


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("read 'Practical Hull Surveys' by Tom Barr", "external"),
        ("reading: 'Digital Records' (Hodges), 2 hrs", "external"),
        ("ran our in-house 'Lab Safety Basics' session", None),
    ],
)
def test_a_named_publication_is_external(text: str, want: str | None) -> None:
    assert attributes.provider(clean(text)) == want


def test_my_co_author_and_i() -> None:
    assert attributes.co_authors(clean("my co-author and I finished chapter 3"), "book") == 2
