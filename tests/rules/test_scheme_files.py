"""Scheme files: the four shipped ones load; a malformed one names the file and the field;
a fifth body is a new file and needs no engine change."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from cpd.rules import Claim, Member, Reflections, SchemeError, evaluate, load_scheme, scheme_ids
from cpd.rules.scheme import load_scheme_file

FIFTH = """
id: ciwem
name: Chartered Institution of Water and Environmental Management
short_name: CIWEM
unit: points
period: {kind: calendar_year}
target: 30
carry_forward: {max: 5}
exempt_grades: [student]
reflection_required: new_knowledge
extras: {test: 2}
categories:
  - {id: courses, name: Courses, kinds: [training, conference], rate: {per_hour: 1}, cap: 20}
  - {id: papers, name: Papers, kinds: [article], rate: {fixed: 6}}
"""


def test_the_four_schemes_load() -> None:
    assert scheme_ids() == ["ibms", "iim", "iims", "imi"]
    assert load_scheme("iims").carry_forward.max == 3
    assert load_scheme("imi").period.years == 3
    assert load_scheme("ibms").diploma.min_categories == 3
    assert [c.cap for c in load_scheme("iim").categories] == [10, 20, 10, 10, None, 10, 10, 5, 5]


def test_unknown_scheme_lists_the_known_ones() -> None:
    with pytest.raises(SchemeError, match="unknown scheme 'xyz'; known schemes: ibms, iim"):
        load_scheme("xyz")


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (("target: 30", "target: -1"), "field target"),
        (("kinds: [article]", "kinds: [articles]"), "field categories.1.kinds"),
        (("rate: {fixed: 6}", "rate: {fixed: 6, per_hour: 1}"), "field categories.1.rate"),
        (("period: {kind: calendar_year}", "period: {kind: fortnight}"), "field period"),
        (("unit: points", "unit: points\ncolour: blue"), "field colour"),
        (("id: ciwem", "id: other"), "field id"),
        (("id: papers", "id: courses"), "category ids repeat"),
    ],
)
def test_a_malformed_file_names_the_file_and_the_field(
    tmp_path: Path, change: tuple[str, str], field: str
) -> None:
    path = tmp_path / "ciwem.yaml"
    path.write_text(FIFTH.replace(*change))
    with pytest.raises(SchemeError) as raised:
        load_scheme_file(path)
    message = str(raised.value)
    assert str(path) in message and field in message and "\n" not in message


def test_a_file_that_is_not_yaml(tmp_path: Path) -> None:
    path = tmp_path / "ciwem.yaml"
    path.write_text("id: [unclosed")
    with pytest.raises(SchemeError, match="ciwem.yaml"):
        load_scheme_file(path)


def test_a_fifth_body_is_a_new_file(tmp_path: Path) -> None:
    (tmp_path / "ciwem.yaml").write_text(FIFTH)
    scheme = load_scheme("ciwem", tmp_path)
    member = Member(joined=dt.date(2020, 1, 1), grade="member")
    learnt = Reflections(new_knowledge="learnt")
    claims = [
        Claim("a", "training", dt.date(2025, 3, 1), hours=25, reflections=learnt),
        Claim("b", "article", dt.date(2025, 6, 1), has_test=True, reflections=learnt),
        Claim("c", "training", dt.date(2026, 2, 1), hours=4, has_test=True, reflections=learnt),
        Claim("d", "reading", dt.date(2026, 2, 2), hours=4, reflections=learnt),
        Claim("e", "article", dt.date(2026, 2, 3)),
    ]
    result = evaluate(scheme, member, claims, dt.date(2026, 11, 23))
    # 2025: courses capped at 20, paper 6 + 2 test = 28: short of 30, nothing carried.
    assert result.carried_in == 0
    assert [r.points for r in result.claims] == [0, 0, 6, 0, 0]
    assert "no category" in result.result("d").note
    assert "missing" in result.result("e").note
    assert (result.target, result.total, result.remaining) == (30, 6, 24)
