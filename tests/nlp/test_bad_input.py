"""Bad input never raises: each case says what the member's message gets back."""

from __future__ import annotations

import datetime as dt
import time

from cpd.nlp import LOW_CONFIDENCE, Extractor

TODAY = dt.date(2026, 3, 12)  # a Thursday


def test_empty_text(extractor: Extractor) -> None:
    # "" -> kind "other", nothing else, confidence 0, flags no_text + low_confidence.
    a = extractor.extract("", TODAY)
    assert a.kind == "other" and a.confidence == 0.0
    assert (a.hours, a.start_date, a.provider, a.title) == (None, None, None, None)
    assert "no_text" in a.flags and "low_confidence" in a.flags


def test_whitespace_only(extractor: Extractor) -> None:
    # "   \n\t" -> same as empty.
    assert "no_text" in extractor.extract("   \n\t", TODAY).flags


def test_emoji_only(extractor: Extractor) -> None:
    # "📸🎉👍" -> no letters: same as empty.
    a = extractor.extract("📸🎉👍", TODAY)
    assert "no_text" in a.flags and a.confidence == 0.0


def test_100_kb_of_text_is_cut_and_fast(extractor: Extractor) -> None:
    # 100 KB -> read only the first MAX_CHARS, flagged "truncated", in well under a second.
    text = "IIMS hull survey course yesterday, 3 hours. " + ("blah " * 20_000)
    start = time.perf_counter()
    a = extractor.extract(text, TODAY)
    assert time.perf_counter() - start < 1.0
    assert "truncated" in a.flags
    assert a.hours == 3 and a.provider == "institute"


def test_100_kb_without_spaces(extractor: Extractor) -> None:
    # One 100 KB "word" -> cut, no crash.
    a = extractor.extract("x" * 100_000, TODAY)
    assert "truncated" in a.flags


def test_non_english_text(extractor: Extractor) -> None:
    # German -> still extracted where the rules can, but flagged "not_english" and below the
    # confidence threshold so the member is asked to pick the kind.
    a = extractor.extract("Ich habe gestern an einer Schulung über Hochvoltsysteme teilgenommen",
                          TODAY)
    assert "not_english" in a.flags
    assert a.confidence < LOW_CONFIDENCE


def test_non_latin_text(extractor: Extractor) -> None:
    # Greek -> flagged "not_english".
    a = extractor.extract("Παρακολούθησα ένα σεμινάριο χθες", TODAY)
    assert "not_english" in a.flags


def test_negative_hours(extractor: Extractor) -> None:
    # "-3 hours" -> hours null, flag "negative_hours".
    a = extractor.extract("gearbox course -3 hours", TODAY)
    assert a.hours is None and "negative_hours" in a.flags


def test_implausible_hours(extractor: Extractor) -> None:
    # "400 hours" -> kept as 400, flag "implausible_hours".
    a = extractor.extract("diploma study 400 hours", TODAY)
    assert a.hours == 400 and "implausible_hours" in a.flags


def test_more_hours_than_the_day_has(extractor: Extractor) -> None:
    # "30 hours yesterday" -> kept, flagged "implausible_hours".
    a = extractor.extract("records course, 30 hours yesterday", TODAY)
    assert a.hours == 30 and "implausible_hours" in a.flags


def test_future_date(extractor: Extractor) -> None:
    # "tomorrow" -> no date, flag "future_date".
    a = extractor.extract("booked on the IMI brakes course tomorrow", TODAY)
    assert a.start_date is None and a.end_date is None
    assert "future_date" in a.flags


def test_future_explicit_date(extractor: Extractor) -> None:
    # a date after the message -> no date, flag "future_date".
    a = extractor.extract("conference on 20/03/2026, 6 hours", TODAY)
    assert a.start_date is None and "future_date" in a.flags


def test_non_string_input_is_treated_as_empty(extractor: Extractor) -> None:
    # None (a caller's slip) -> same as empty, no exception.
    a = extractor.extract(None, TODAY)  # type: ignore[arg-type]
    assert "no_text" in a.flags


def test_a_datetime_as_today_is_taken_as_its_date(extractor: Extractor) -> None:
    # today given as a datetime -> its date is used.
    a = extractor.extract("webinar yesterday", dt.datetime(2026, 3, 12, 23, 59))
    assert a.start_date == dt.date(2026, 3, 11)
