"""Reading a member's reply about a claim (the real NLP step): what corrects, what reflects."""

from __future__ import annotations

import datetime as dt

import pytest

from cpd.claims.reply_text import read
from cpd.nlp import load_extractor

TODAY = dt.date(2026, 11, 23)


def reading(text: str):  # type: ignore[no-untyped-def]
    return read(text, load_extractor(), TODAY, 0.5)


@pytest.mark.parametrize(
    ("text", "hours"),
    [("Sorry, it was 6 hours, not 4", 6.0), ("Hours: 6", 6.0), ("It took 3.5 hours", 3.5)],
)
def test_stated_hours_correct(text: str, hours: float) -> None:
    found = reading(text)
    assert found.hours == hours and found.remainder == "" and found.reflections == {}


def test_a_stated_date_and_kind_correct_and_nothing_else_is_touched() -> None:
    found = reading("It was yesterday\nKind: conference")
    assert found.dates == (TODAY - dt.timedelta(days=1),) * 2
    assert found.kind == "conference" and found.hours is None


def test_headed_reflections_go_to_their_fields_and_are_never_corrections() -> None:
    found = reading(
        "New knowledge and skills: CAN bus fault finding\n"
        "Behaviour and approach\nI test before I replace parts, 2 hours saved a day\n"
        "Impact - fewer comebacks since last Tuesday"
    )
    assert found.reflections == {
        "new_knowledge": "CAN bus fault finding",
        "behaviour": "I test before I replace parts, 2 hours saved a day",
        "impact": "fewer comebacks since last Tuesday",
    }
    assert found.hours is None and found.dates is None


def test_long_free_text_is_the_remainder_even_with_a_number_in_it() -> None:
    text = "I learned how to diagnose faults on hybrid battery packs safely in about 2 hours"
    found = reading(text)
    assert found.remainder == text and found.hours is None
    assert reading("Results were good, thanks").reflections == {}
