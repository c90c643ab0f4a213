"""Checks on the NLP training corpus: hand-written records plus the template generator."""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from pathlib import Path

import pytest

from cpd.nlp.training.corpus_gen import (
    KINDS,
    full_corpus,
    generate,
    load_handwritten,
    resolve_dom,
    resolve_last_weekday,
    resolve_weekday,
)

REPO = Path(__file__).parents[2]
HANDWRITTEN = REPO / "nlp" / "corpus" / "handwritten.jsonl"
DEV_SET = Path(__file__).parents[3] / "shared" / "dev-set" / "claims-dev.jsonl"

FIELDS = {
    "id",
    "text",
    "today",
    "kind",
    "hours",
    "start_date",
    "end_date",
    "has_test",
    "provider",
    "co_authors",
    "title",
}


def _load(path: Path) -> list[dict]:
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def _norm(text: str) -> str:
    return " ".join(text.lower().split())


@pytest.fixture(scope="module")
def handwritten() -> list[dict]:
    return _load(HANDWRITTEN)


@pytest.fixture(scope="module")
def generated() -> list[dict]:
    return generate()


@pytest.fixture(scope="module")
def corpus(handwritten: list[dict], generated: list[dict]) -> list[dict]:
    return handwritten + generated


def _iso(value: str) -> dt.date:
    assert isinstance(value, str)
    return dt.date.fromisoformat(value)


def test_schema_and_values(corpus: list[dict]) -> None:
    kinds = set(KINDS)
    assert len(kinds) == 15
    for rec in corpus:
        rid = rec.get("id")
        assert set(rec) == FIELDS, rid
        assert isinstance(rec["text"], str) and rec["text"].strip(), rid
        assert isinstance(rec["title"], str) and rec["title"].strip(), rid
        assert rec["kind"] in kinds, rid
        today = _iso(rec["today"])
        assert dt.date(2025, 1, 1) <= today <= dt.date(2026, 12, 31), rid
        hours = rec["hours"]
        assert hours is None or (
            isinstance(hours, int | float) and not isinstance(hours, bool) and hours > 0
        ), rid
        start, end = rec["start_date"], rec["end_date"]
        assert (start is None) == (end is None), rid
        if start is not None:
            assert _iso(start) <= _iso(end) <= today, rid
        assert rec["provider"] in ("institute", "external", None), rid
        assert isinstance(rec["has_test"], bool), rid
        co = rec["co_authors"]
        assert co is None or (isinstance(co, int) and not isinstance(co, bool) and co >= 1), rid
        if co is not None:
            assert rec["kind"] in ("article", "book"), rid
        if rec["kind"] == "examining":
            assert rec["has_test"] is False, rid


def test_ids_unique(corpus: list[dict]) -> None:
    ids = [r["id"] for r in corpus]
    assert len(ids) == len(set(ids))


def test_texts_unique(corpus: list[dict]) -> None:
    texts = Counter(_norm(r["text"]) for r in corpus)
    assert [t for t, c in texts.items() if c > 1] == []


def test_sizes(handwritten: list[dict], corpus: list[dict]) -> None:
    assert len(handwritten) >= 600
    hw = Counter(r["kind"] for r in handwritten)
    assert all(hw[k] >= 35 for k in KINDS), hw
    counts = Counter(r["kind"] for r in corpus)
    assert all(counts[k] >= 100 for k in KINDS), counts
    assert len(corpus) >= 1500


def test_generator_deterministic() -> None:
    assert generate(seed=7, n=300) == generate(seed=7, n=300)
    assert generate(seed=7, n=300) != generate(seed=8, n=300)
    assert len(generate(seed=3, n=45)) == 45


def test_date_helpers() -> None:
    wed = dt.date(2026, 11, 25)  # a Wednesday
    assert resolve_weekday(wed, 1) == dt.date(2026, 11, 24)  # "on Tuesday"
    assert resolve_weekday(wed, 2) == wed  # "on Wednesday" said on a Wednesday
    assert resolve_weekday(wed, 4) == dt.date(2026, 11, 20)  # "on Friday" = last week's
    assert resolve_last_weekday(wed, 1) == dt.date(2026, 11, 17)  # "last Tuesday"
    assert resolve_last_weekday(wed, 6) == dt.date(2026, 11, 22)  # "last Sunday"
    assert resolve_dom(wed, 3) == dt.date(2026, 11, 3)
    assert resolve_dom(wed, 30) == dt.date(2026, 10, 30)
    assert resolve_dom(dt.date(2026, 3, 2), 30) == dt.date(2026, 1, 30)


def test_no_dev_set_text(corpus: list[dict]) -> None:
    if not DEV_SET.exists():
        pytest.skip("dev set not present")
    dev = {_norm(r["text"]) for r in _load(DEV_SET)}
    leaked = [r["id"] for r in corpus if _norm(r["text"]) in dev]
    assert leaked == []


def test_full_corpus_helper(handwritten: list[dict]) -> None:
    assert load_handwritten() == handwritten
    full = full_corpus()
    assert full[: len(handwritten)] == handwritten
    assert len(full) >= 1500
