"""Every date form of the issue, one table, resolved against a Thursday (2026-03-12)."""

from __future__ import annotations

import datetime as dt

import pytest

from cpd.nlp.dates import parse_dates
from cpd.nlp.normalise import clean

THU = dt.date(2026, 3, 12)  # Thursday
MON = dt.date(2026, 3, 9)   # Monday
D = dt.date

CASES: list[tuple[str, dt.date, dt.date | None, dt.date | None]] = [
    ("brake course today", THU, THU, THU),
    ("tonight's committee call", THU, THU, THU),
    ("this morning: reading", THU, THU, THU),
    ("webinar yesterday", THU, D(2026, 3, 11), D(2026, 3, 11)),
    ("yday at the depot", THU, D(2026, 3, 11), D(2026, 3, 11)),
    ("read the bulletin last night", THU, D(2026, 3, 11), D(2026, 3, 11)),
    ("the day before yesterday", THU, D(2026, 3, 10), D(2026, 3, 10)),
    ("3 days ago", THU, D(2026, 3, 9), D(2026, 3, 9)),
    # weekdays: earlier in the current (Monday-based) week ...
    ("seminar on Tuesday", THU, D(2026, 3, 10), D(2026, 3, 10)),
    ("mentoring call on tues", THU, D(2026, 3, 10), D(2026, 3, 10)),
    ("panel Wednesday 2-4pm", THU, D(2026, 3, 11), D(2026, 3, 11)),
    ("this Monday", THU, D(2026, 3, 9), D(2026, 3, 9)),
    # ... or the latest one before the message when it has not come yet this week
    ("boat show on Saturday", THU, D(2026, 3, 7), D(2026, 3, 7)),
    ("reading on Sunday", MON, D(2026, 3, 8), D(2026, 3, 8)),
    ("journal paper, 40 mins, sat", THU, D(2026, 3, 7), D(2026, 3, 7)),
    # last <weekday>: previous calendar week
    ("last Tuesday", THU, D(2026, 3, 3), D(2026, 3, 3)),
    ("last fri", THU, D(2026, 3, 6), D(2026, 3, 6)),
    ("last Monday", MON, D(2026, 3, 2), D(2026, 3, 2)),
    ("a fortnight ago", THU, D(2026, 2, 26), D(2026, 2, 26)),
    ("just finished the module", THU, THU, THU),
    # weekday with the day of the month: the day of the month decides
    ("on Mon 2nd March", THU, D(2026, 3, 2), D(2026, 3, 2)),
    ("Tuesday 3rd", THU, D(2026, 3, 3), D(2026, 3, 3)),
    # weekday ranges
    ("course Monday to Wednesday", THU, D(2026, 3, 9), D(2026, 3, 11)),
    ("project work mon and tue", THU, D(2026, 3, 9), D(2026, 3, 10)),
    # day of month
    ("on the 3rd", THU, D(2026, 3, 3), D(2026, 3, 3)),
    ("on the 20th", THU, D(2026, 2, 20), D(2026, 2, 20)),
    ("the 12th", THU, THU, THU),
    # UK numeric
    ("on 05/03", THU, D(2026, 3, 5), D(2026, 3, 5)),
    ("on 12/11", THU, D(2025, 11, 12), D(2025, 11, 12)),
    ("on 4/2/2026", THU, D(2026, 2, 4), D(2026, 2, 4)),
    ("on 07.02", THU, D(2026, 2, 7), D(2026, 2, 7)),
    ("2026-01-15", THU, D(2026, 1, 15), D(2026, 1, 15)),
    # month names
    ("3rd March", THU, D(2026, 3, 3), D(2026, 3, 3)),
    ("March 3", THU, D(2026, 3, 3), D(2026, 3, 3)),
    ("on the 5th of February", THU, D(2026, 2, 5), D(2026, 2, 5)),
    ("14 Nov", THU, D(2025, 11, 14), D(2025, 11, 14)),
    ("Sept 30th 2025", THU, D(2025, 9, 30), D(2025, 9, 30)),
    # date ranges
    ("2-4 March", THU, D(2026, 3, 2), D(2026, 3, 4)),
    ("12-14 December", THU, D(2025, 12, 12), D(2025, 12, 14)),
    ("expo 10-11 February", THU, D(2026, 2, 10), D(2026, 2, 11)),
    ("course 2nd-4th Feb", THU, D(2026, 2, 2), D(2026, 2, 4)),
    ("congress 27th & 28th Jan", THU, D(2026, 1, 27), D(2026, 1, 28)),
    ("October 6-8", THU, D(2025, 10, 6), D(2025, 10, 8)),
    ("30 Jan - 2 Feb", THU, D(2026, 1, 30), D(2026, 2, 2)),
    # weekends
    ("last weekend", THU, D(2026, 3, 7), D(2026, 3, 8)),
    ("over the weekend", MON, D(2026, 3, 7), D(2026, 3, 8)),
    ("last weekend (sunday only)", THU, D(2026, 3, 8), D(2026, 3, 8)),
    # nothing that names a day
    ("this week", THU, None, None),
    ("last week", THU, None, None),
    ("sat in with the IT team", THU, None, None),
    ("every Thursday evening", THU, None, None),
    ("got 9/10 on the quiz", THU, None, None),
    ("Sailing Today magazine article", THU, None, None),
]


@pytest.mark.parametrize(("text", "today", "start", "end"), CASES)
def test_dates(text: str, today: dt.date, start: dt.date | None, end: dt.date | None) -> None:
    r = parse_dates(clean(text), today)
    assert (r.start, r.end) == (start, end)


@pytest.mark.parametrize(
    "text", ["course tomorrow", "conference next Tuesday", "on 20/03/2026", "this Saturday"]
)
def test_future_dates_are_flagged_not_returned(text: str) -> None:
    # A stated future date gives no date and the flag "future_date".
    r = parse_dates(clean(text), THU)
    assert (r.start, r.end) == (None, None)
    assert "future_date" in r.flags


def test_a_range_running_past_the_message_is_cut_at_the_message_date() -> None:
    # "10-14 March" sent on the 12th: the part so far, flagged.
    r = parse_dates("course 10-14 March", THU)
    assert (r.start, r.end) == (D(2026, 3, 10), THU)
    assert "future_date" in r.flags


@pytest.mark.parametrize(
    ("text", "start"),
    [
        ("read it today? no, yesterday", D(2026, 3, 11)),
        ("webinar on Monday - sorry, Tuesday", D(2026, 3, 10)),
        ("seminar today, no breaks, 3 hrs", THU),
        ("expo monday. no hours sorry", MON),
        ("course tuesday? no wait it was sometime last month", None),
    ],
)
def test_a_correction_wins_over_what_came_before(text: str, start: dt.date | None) -> None:
    assert parse_dates(clean(text), THU).start == start
