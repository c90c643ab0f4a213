"""Schemes are data out to the buttons: a fifth scheme file, unknown to the code, with its own
reflection credits, labels and test credit. The bot offers its buttons with its numbers, and
the engine counts what they add; no code names the scheme.

The file (tests/fixtures/schemes/ipx.yaml) is put beside the four real ones for the test
and removed after, as a body's new file would be installed.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from cpd.claims.intake import Sender
from cpd.claims.scheme_facts import scheme_facts
from cpd.rules import scheme as scheme_module
from tests.bot.bench import Bench, labels, make_bench, said
from tests.bot.conftest import SECRETARY_CHAT
from tests.bot.test_conversations import claim_id, draft, run

FIFTH = Path(__file__).parents[1] / "fixtures" / "schemes" / "ipx.yaml"
MEMBERS = """membership_no,name,email,scheme,grade,joined,role
X1,Xena Practitioner,xena@example.com,ipx,member,2019-05-01,member
S1,Sam Secretary,sam@example.com,iims,,2015-01-01,secretary
"""
XENA, SAM = 301, 201


@pytest.fixture
def fifth(tmp_path: Path) -> Iterator[Bench]:
    """The fifth scheme installed beside the others, and a bench with one of its members."""
    target = scheme_module.SCHEMES_DIR / FIFTH.name
    assert not target.exists()
    shutil.copyfile(FIFTH, target)
    scheme_module.load_scheme.cache_clear()
    try:
        yield from make_bench(tmp_path, MEMBERS, {"X1": XENA, "S1": SAM})
    finally:
        target.unlink()
        scheme_module.load_scheme.cache_clear()


def test_the_fifth_scheme_is_just_a_file(fifth: Bench) -> None:
    assert "ipx" in scheme_module.scheme_ids()
    facts = scheme_facts("ipx")
    assert [(r.label, r.credit) for r in facts.reflections] == [
        ("What you now do differently", 3.0),
        ("What it changed at work", 5.0),
    ]
    assert (facts.test_label, facts.test_credit) == ("Passed an assessment", 2.0)


def test_the_bot_offers_its_buttons_and_the_engine_counts_them(fifth: Bench) -> None:
    bench = fifth

    async def body() -> None:
        card = await draft(bench, XENA, "boat show today 4 hours")
        offered = labels(card)
        assert "What you now do differently +3" in offered
        assert "What it changed at work +5" in offered
        assert "Passed an assessment +2" in offered
        assert not any("+2" in label and "Behaviour" in label for label in offered)
        base = bench.service.claim(claim_id(card))
        assert base is not None and base.proposed_points == 4
        said(await bench.press(XENA, card, "do differently"), XENA, "behaviour and approach")
        said(await bench.text(XENA, "I brief the team first"), XENA, "here is what")
        view = bench.service.claim(claim_id(card))
        assert view is not None and view.proposed_points == 4 + 3
        said(await bench.press(XENA, card, "changed at work"), XENA, "impact and results")
        said(await bench.text(XENA, "Fewer call-backs"), XENA, "here is what")
        view = bench.service.claim(claim_id(card))
        assert view is not None and view.proposed_points == 4 + 7  # reflections_max: 7
        shown = said(await bench.press(XENA, card, "Passed an assessment"), XENA, "here is")
        assert "No test" in labels(shown)
        view = bench.service.claim(claim_id(card))
        assert view is not None and view.has_test and view.proposed_points == 4 + 7 + 2
        # accepted, the member's standing counts it all
        said(await bench.press(XENA, card, "Submit"), XENA, "will be verified soon")
        secretary = said(await bench.deliver(), SECRETARY_CHAT, f"#{claim_id(card)}")
        await bench.press(SAM, secretary, "Accept", chat_id=SECRETARY_CHAT)
        _, scheme, evaluation = bench.service.progress(Sender(telegram_user_id=XENA))
        assert scheme.id == "ipx" and evaluation.earned == 13

    run(bench, body)
