"""Training is reproducible: the same seed and records give the same weights and scores."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from cpd.nlp import load_extractor
from cpd.nlp.kinds import KINDS
from cpd.nlp.training import split, train

# A tiny synthetic corpus in my own words (a couple of lines per kind).
WORDS = {
    "training": ["attended a brakes course", "did an online webinar on tyres"],
    "conference": ["went to the annual conference", "records summit keynote"],
    "exhibition": ["walked the trade show stands", "visited the boat show"],
    "reading": ["read a journal paper", "reading the bulletin"],
    "article": ["wrote an article for the magazine", "published a paper"],
    "book": ["writing my book chapter", "edited the textbook"],
    "teaching": ["delivered a lecture to students", "gave a talk to apprentices"],
    "examining": ["marked exam scripts as examiner", "invigilated the exam"],
    "work_project": ["wrote the retention policy at work", "client project report"],
    "mentoring": ["call with my mentee", "coaching session with my mentor"],
    "committee": ["committee meeting minutes", "working group on standards"],
    "volunteering": ["volunteered at the charity", "unpaid help at the food bank"],
    "qualification": ["studying for my degree", "diploma coursework"],
    "site_visit": ["site visit to the factory", "shadowing in the lab"],
    "other": ["watched a podcast", "personal project at home"],
}
RECORDS = [
    {"id": f"t{k}{i}", "text": text, "kind": k}
    for k in KINDS
    for i, text in enumerate(WORDS[k] * 3)
]


def test_split_is_seeded_and_stratified() -> None:
    a = split(RECORDS, seed=1)
    b = split(RECORDS, seed=1)
    assert a == b
    held_kinds = {r["kind"] for r in a[1]}
    assert held_kinds == set(KINDS)


def test_same_seed_same_model(tmp_path: Path) -> None:
    s1 = train(tmp_path / "m1", seed=3, epochs=3, records=RECORDS)
    s2 = train(tmp_path / "m2", seed=3, epochs=3, records=RECORDS)
    assert s1 == s2
    w1 = (tmp_path / "m1" / "textcat" / "model").read_bytes()
    w2 = (tmp_path / "m2" / "textcat" / "model").read_bytes()
    assert w1 == w2
    assert {"kind_accuracy", "kind_macro_f", "n_train", "n_held_out"} <= set(s1)
    ex = load_extractor(tmp_path / "m1")
    assert ex.extract("visited the boat show", dt.date(2026, 1, 5)).kind in KINDS
