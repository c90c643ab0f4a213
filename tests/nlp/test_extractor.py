"""The shipped model: loads once, fast, answers in the CONTRACTS shape, deterministically."""

from __future__ import annotations

import datetime as dt
import json
import time
from pathlib import Path

import pytest

from cpd.nlp import KINDS, LOW_CONFIDENCE, Activity, Extractor, load_extractor
from cpd.nlp.extract import DEFAULT_MODEL_DIR

TODAY = dt.date(2026, 3, 12)  # a Thursday
CONTRACT_FIELDS = {"kind", "hours", "start_date", "end_date", "title", "provider", "has_test",
                   "co_authors", "confidence"}


def test_kinds_are_the_fifteen_of_the_schemes() -> None:
    assert len(KINDS) == 15 and len(set(KINDS)) == 15
    assert {"training", "site_visit", "other"} <= set(KINDS)


def test_model_is_shipped_small_and_loads_once(extractor: Extractor) -> None:
    size = sum(p.stat().st_size for p in DEFAULT_MODEL_DIR.rglob("*") if p.is_file())
    assert size < 15 * 1024 * 1024
    assert load_extractor() is extractor
    assert load_extractor(DEFAULT_MODEL_DIR) is extractor
    assert set(extractor.nlp.get_pipe("textcat").labels) == set(KINDS)


def test_missing_model_dir_says_so(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        load_extractor(tmp_path / "nothing-here")


def test_to_json_has_exactly_the_contract_fields(extractor: Extractor) -> None:
    a = extractor.extract("IIMS hull moisture webinar yesterday 2-4pm, passed the quiz", TODAY)
    out = a.to_json()
    assert set(out) == CONTRACT_FIELDS | {"flags"}
    json.dumps(out)
    assert out["start_date"] == out["end_date"] == "2026-03-11"
    assert out["hours"] == 2
    assert out["provider"] == "institute"
    assert out["has_test"] is True
    assert out["kind"] in KINDS
    assert 0.0 <= out["confidence"] <= 1.0


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("examined three apprentices for their practical NVQ units as assessor", "examining"),
        ("gave a talk on brake fluid testing to the local college students", "teaching"),
        ("I mentor a junior surveyor, 1 hr call tonight", "mentoring"),
        ("volunteered at the lifeboat station open day", "volunteering"),
        ("met with the Institute's standards working group", "committee"),
        ("wrote a technical note for the branch newsletter", "article"),
        ("toured the new paint plant at the dealership group's site", "site_visit"),
        ("log my attendance at the Palma Superyacht Festival, meeting builders", "exhibition"),
        ("two days at the Harrogate Classic Motor Fair talking to traders", "exhibition"),
        ("attended the Northern Records Summit, mostly panels", "conference"),
        ("presented a poster at the Leeds Pathology Congress", "teaching"),
        ("volunteered on the RNLI stand at the Bristol Harbour Festival", "volunteering"),
        ("writing up chapter 3 of my doctoral thesis, 4 hrs", "qualification"),
        ("attended a train-the-trainer course so I can deliver inductions", "training"),
        ("first aid refresher at the college, not a qualification, just attendance", "training"),
    ],
)
def test_strong_role_words_decide_the_kind(extractor: Extractor, text: str, kind: str) -> None:
    assert extractor.extract(text, TODAY).kind == kind


def test_extract_many_matches_extract_and_keeps_order(extractor: Extractor) -> None:
    items = [
        ("boat show southampton today 4hrs", TODAY),
        ("", TODAY),
        ("read the IMI bulletin, 40 mins", dt.date(2025, 1, 6)),
        ("two day course at Bosch on 2-3 March, passed the test", TODAY),
    ]
    many = extractor.extract_many(items, batch_size=2)
    one_by_one = [extractor.extract(t, d) for t, d in items]
    assert many == one_by_one
    assert many[0].start_date == TODAY and many[0].hours == 4


def test_same_input_same_output(extractor: Extractor) -> None:
    text = "Attended the IIM records retention webinar yesterday 10:00-12:30"
    first = extractor.extract(text, TODAY)
    for _ in range(3):
        assert extractor.extract(text, TODAY) == first
    assert isinstance(first, Activity)


def test_low_confidence_is_flagged(extractor: Extractor) -> None:
    a = extractor.extract("stuff", TODAY)
    assert (a.confidence < LOW_CONFIDENCE) == ("low_confidence" in a.flags)


def test_load_time_is_under_two_seconds() -> None:
    import spacy

    start = time.perf_counter()
    spacy.load(DEFAULT_MODEL_DIR)
    assert time.perf_counter() - start < 2.0


def test_hours_each_day_times_the_date_range(extractor: Extractor) -> None:
    # "6 hours each day" over 2-3 March -> 12 hours.
    a = extractor.extract("hybrid systems congress 2-3 March, 6 hours each day", TODAY)
    assert (a.start_date, a.end_date) == (dt.date(2026, 3, 2), dt.date(2026, 3, 3))
    assert a.hours == 12


def test_a_date_range_alone_gives_no_hours(extractor: Extractor) -> None:
    a = extractor.extract("records conference 2-3 March", TODAY)
    assert a.hours is None and a.start_date == dt.date(2026, 3, 2)


def test_weekend_narrowed_to_the_day_named(extractor: Extractor) -> None:
    a = extractor.extract("regatta safety boat volunteering last weekend (sunday), 5 hrs", TODAY)
    assert a.start_date == a.end_date == dt.date(2026, 3, 8)
