"""Every duration form of the issue, one table: text -> hours (None = the text gives none)."""

from __future__ import annotations

import pytest

from cpd.nlp.durations import parse_hours
from cpd.nlp.normalise import clean

CASES: list[tuple[str, float | None]] = [
    # digits and units
    ("harbour survey workshop 3 hrs", 3),
    ("brake fluid webinar, 2h", 2),
    ("did 1.5 hours on the torque settings module", 1.5),
    ("read the coolant bulletin, 1 hr", 1),
    ("spent 45 min on the quiz", 0.75),
    ("90 mins on records appraisal", 1.5),
    ("20 minutes reading", 0.33),
    ("webinar 1½ hours", 1.5),
    # words
    ("two and a half hours on the hull report", 2.5),
    ("about an hour and a quarter reading", 1.25),
    ("half an hour with my mentee", 0.5),
    ("three quarters of an hour on the forum", 0.75),
    ("an hour and a half of marking", 1.5),
    ("a couple of hours on the policy", 2),
    ("six hours of lectures", 6),
    ("fourhrs on the diploma", 4),
    # hours + minutes
    ("1h30 on the procedure", 1.5),
    ("1h 45m e-learning", 1.75),
    ("1 hour 30 in the archive", 1.5),
    ("2hrs 15mins at the stand", 2.25),
    # time ranges
    ("seminar 9-12:30", 3.5),
    ("training from 9am to 5pm", 8),
    ("workshop 10am-3pm", 5),
    ("meeting 2-4pm", 2),
    ("talk 11-1pm", 2),
    ("course 9 till 6", 9),
    ("class 8.30-10", 1.5),
    ("session 0930-1230", 3),
    ("lab visit between 10am and 1pm", 3),
    ("the afternoon session, 2-5", 3),
    ("from 2 till half 4", 2.5),
    ("from half past nine until four", 6.5),
    ("quarter to ten till noon", 2.25),
    # breaks subtracted from a time range
    ("workshop 10:00-16:00 (lunch 45 mins)", 5.25),
    ("course 9am-5pm with an hour for lunch", 7),
    ("study day 9-4.30 with a 30 min break", 7),
    ("seminar 9:00-17:00, an hour's lunch and two 15-minute coffee breaks", 6.5),
    ("course 10-4 incl. 45 mins lunch", 5.25),
    ("training 9-5, lunch 12-1", 7),
    # days
    ("a full day on the stand", 7.5),
    ("half a day at the depot", 3.75),
    ("half-day refresher", 3.75),
    ("2-day course on gearbox rebuilds", 15),
    ("three day hybrid course", 22.5),
    ("one-day workshop on disposal schedules", 7.5),
    ("a day and a half of inspections", 11.25),
    ("both full days at the congress", 15),
    ("stated hours win: 2 days, 12 hours in total", 12),
    ("two half-days at the yard", 7.5),
    # repeats
    ("three evenings of 2 hours on the article", 6),
    ("four sessions of 90 minutes", 6),
    ("two audits, 3 hrs each", 6),
    ("2 x 45 min webinars", 1.5),
    ("3 x 1hr tutorials", 3),
    ("two 2-hour slots", 4),
    ("2 hours a day for 3 days", 6),
    ("2 days, 8 hrs each day", 16),
    ("7 hours each day", 7),
    ("3 hrs on Monday and 2 hrs on Tuesday", 5),
    ("two podcast episodes of a records series, 40 mins each", 1.33),
    # totals and approximations
    ("3+ hours", 3),
    ("two hours fifteen", 2.25),
    ("roughly 5 hours altogether", 5),
    ("~2hrs", 2),
    ("approx. 3 hours", 3),
    ("2-3 hours on the report", 2.5),
    # none stated: never guess
    ("went to the boat show, no idea of times", None),
    ("a few hours on the survey", None),
    ("12-14 March at the expo", None),
    ("chapters 3-5 of the handbook", None),
    ("the 2024-2025 guidance", None),
    ("3 days ago I read the bulletin", None),
    ("scored 8/10 on the quiz", None),
    ("networking lunch with suppliers", None),
]


@pytest.mark.parametrize(("text", "hours"), CASES)
def test_hours(text: str, hours: float | None) -> None:
    got = parse_hours(clean(text)).hours
    if hours is None:
        assert got is None
    else:
        assert got == pytest.approx(hours, abs=0.01)


def test_negative_hours_are_flagged_not_returned() -> None:
    # "-3 hours" is a typing slip or nonsense: no hours, flag "negative_hours".
    r = parse_hours("engine course -3 hours")
    assert r.hours is None
    assert "negative_hours" in r.flags


def test_spaced_dash_is_not_a_minus() -> None:
    # " - 3 hours" is punctuation, not a negative number.
    assert parse_hours("hull survey webinar - 3 hours").hours == 3


def test_implausible_hours_are_kept_and_flagged() -> None:
    # "400 hours" is kept as stated, flagged "implausible_hours".
    r = parse_hours("diploma study 400 hours")
    assert r.hours == 400
    assert "implausible_hours" in r.flags


def test_each_day_waits_for_the_dates() -> None:
    # "7 hours each day" with no day count: hours per day, multiplied by the caller.
    r = parse_hours("congress, 7 hours each day")
    assert r.per_day == 7
