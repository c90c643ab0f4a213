"""Each conversation at handler level: real updates (``Update.de_json`` of what the fake Bot
API delivers) through the real application, its answers read back from the fake server.

A restart is the application dropped without a clean stop and a new one built on the same
database and conversations file; the answer after it must still land on the right claim.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable

from cpd.bot.callbacks import KIND, LEGACY_KIND_ORDER, encode
from tests.bot.bench import Bench, bench, button, labels, said
from tests.bot.conftest import SECRETARY_CHAT, USERS
from tests.support.telegram_api import Call

__all__ = ["bench"]  # the fixture
JANE, IVY, TOM, SAM = USERS["M1"], USERS["I1"], USERS["T1"], USERS["S1"]


def run(bench: Bench, body: Callable[[], Awaitable[None]]) -> None:
    """Run ``body`` with an application open; shut everything down after."""

    async def go() -> None:
        await bench.open()
        try:
            await body()
        finally:
            await bench.close()

    asyncio.run(go())


def claim_id(card: Call) -> int:
    """The claim a card is about (``#12``)."""
    found = re.search(r"#(\d+)", card.text or "")
    assert found, card.text
    return int(found.group(1))


async def draft(bench: Bench, user: int, text: str) -> Call:
    """``user`` claims ``text``; the draft's card."""
    return said(await bench.text(user, text), user, "here is what I understood")


async def pending_card(bench: Bench, user: int, text: str) -> Call:
    """``user`` claims ``text`` and submits it; the secretary's card."""
    card = await draft(bench, user, text)
    said(await bench.press(user, card, "Submit"), user, "will be verified soon")
    return said(await bench.deliver(), SECRETARY_CHAT, f"#{claim_id(card)}")


def test_decline_asks_why_and_the_reason_after_a_restart_lands_on_its_claim(
    bench: Bench,
) -> None:
    async def body() -> None:
        card = await pending_card(bench, IVY, "attended a records webinar yesterday 2 hours")
        other = await pending_card(bench, JANE, "boat show today 4 hours")
        asked = await bench.press(SAM, card, "Decline", chat_id=SECRETARY_CHAT)
        said(asked, SECRETARY_CHAT, f"Claim #{claim_id(card)}: Why is it declined")
        await bench.crash()
        await bench.open()
        await bench.text(SAM, "No certificate of attendance", chat_id=SECRETARY_CHAT)
        told = said(await bench.deliver(), IVY, "was declined")
        assert "No certificate of attendance" in (told.text or "")
        declined, untouched = (
            bench.service.claim(claim_id(card)),
            bench.service.claim(claim_id(other)),
        )
        assert declined is not None and declined.status == "declined"
        assert declined.decision_reason == "No certificate of attendance"
        assert untouched is not None and untouched.status == "pending"
        # the conversation is over: the next message in the chat decides nothing
        assert await bench.text(SAM, "and another thing", chat_id=SECRETARY_CHAT) == []

    run(bench, body)


def test_without_persistence_the_reason_after_a_restart_is_lost(bench: Bench) -> None:
    """The restart test can fail: the same steps with the conversations file removed."""

    async def body() -> None:
        card = await pending_card(bench, IVY, "attended a records webinar yesterday 2 hours")
        await bench.press(SAM, card, "Decline", chat_id=SECRETARY_CHAT)
        await bench.crash()
        bench.conversations_file.unlink()
        await bench.open()
        assert await bench.text(SAM, "No certificate", chat_id=SECRETARY_CHAT) == []
        view = bench.service.claim(claim_id(card))
        assert view is not None and view.status == "pending"

    run(bench, body)


def test_other_points_refuses_a_bad_number_and_takes_a_good_one(bench: Bench) -> None:
    async def body() -> None:
        card = await pending_card(bench, JANE, "boat show today 4 hours")
        asked = await bench.press(SAM, card, "Other points", chat_id=SECRETARY_CHAT)
        said(asked, SECRETARY_CHAT, "How many points")
        refused = await bench.text(SAM, "nan", chat_id=SECRETARY_CHAT)
        said(refused, SECRETARY_CHAT, "number of points from 0 to 100")
        said(await bench.text(SAM, "2.5", chat_id=SECRETARY_CHAT), SECRETARY_CHAT, "accepted")
        view = bench.service.claim(claim_id(card))
        assert view is not None and (view.status, view.awarded_points) == ("accepted", 2.5)

    run(bench, body)


def test_a_press_by_a_member_starts_no_conversation(bench: Bench) -> None:
    async def body() -> None:
        card = await pending_card(bench, JANE, "boat show today 4 hours")
        await bench.press(JANE, card, "Decline", chat_id=SECRETARY_CHAT)
        assert await bench.text(JANE, "because", chat_id=SECRETARY_CHAT) == []
        view = bench.service.claim(claim_id(card))
        assert view is not None and view.status == "pending"

    run(bench, body)


def test_change_hours_asks_again_after_a_bad_answer_and_survives_a_restart(
    bench: Bench,
) -> None:
    async def body() -> None:
        card = await draft(bench, JANE, "boat show today 4 hours")
        said(await bench.press(JANE, card, "Change hours"), JANE, "How many hours")
        said(await bench.text(JANE, "lots"), JANE, "as a number")
        await bench.crash()
        await bench.open()
        shown = said(await bench.text(JANE, "2.5"), JANE, "here is what I understood")
        assert "Hours: 2.5 h" in (shown.text or "")
        # answered: the next text is a new claim, not an answer
        said(await bench.text(JANE, "boat show today 3 hours"), JANE, "here is what I")
        view = bench.service.claim(claim_id(card))
        assert view is not None and view.hours == 2.5

    run(bench, body)


def test_change_date_and_then_another_question_instead(bench: Bench) -> None:
    async def body() -> None:
        card = await draft(bench, JANE, "boat show today 4 hours")
        said(await bench.press(JANE, card, "Change date"), JANE, "When was it")
        said(await bench.press(JANE, card, "Change hours"), JANE, "How many hours")
        said(await bench.text(JANE, "1h30"), JANE, "here is what I understood")
        view = bench.service.claim(claim_id(card))
        assert view is not None and view.hours == 1.5
        said(await bench.press(JANE, card, "Change date"), JANE, "When was it")
        said(await bench.text(JANE, "32/13"), JANE, "not a date")
        said(await bench.text(JANE, "yesterday"), JANE, "here is what I understood")
        view = bench.service.claim(claim_id(card))
        assert view is not None and view.start_date == bench.service.today().fromordinal(
            bench.service.today().toordinal() - 1
        )

    run(bench, body)


def test_imi_reflections_come_with_the_schemes_credits(bench: Bench) -> None:
    async def body() -> None:
        card = await draft(bench, TOM, "EV high voltage course yesterday 3 hours")
        assert {
            "Add reflection (new knowledge)",
            "Behaviour and approach +2",
            "Impact and results +4",
            "There was a test +1",
        } <= set(labels(card))
        said(await bench.press(TOM, card, "new knowledge"), TOM, "What new knowledge")
        said(await bench.text(TOM, "How to isolate an EV battery"), TOM, "here is what")
        before = bench.service.claim(claim_id(card))
        said(await bench.press(TOM, card, "Behaviour"), TOM, "behaviour and approach")
        said(await bench.text(TOM, "I now check isolation twice"), TOM, "here is what")
        after = bench.service.claim(claim_id(card))
        assert before is not None and after is not None
        assert after.reflections["behaviour"] == "I now check isolation twice"
        assert (after.proposed_points or 0) == (before.proposed_points or 0) + 2

    run(bench, body)


def test_dispensation_without_a_reason_asks_for_it(bench: Bench) -> None:
    async def body() -> None:
        said(await bench.text(JANE, "/dispensation"), JANE, "Why do you ask")
        sent = await bench.text(JANE, "retired in June, surveying part time")
        said(sent, JANE, "was sent to the membership secretary")
        said(await bench.deliver(), SECRETARY_CHAT, "retired in June")

    run(bench, body)


def test_kind_buttons_carry_kind_ids_and_old_positions_still_work(bench: Bench) -> None:
    async def body() -> None:
        card = await draft(bench, JANE, "boat show today 4 hours")
        kinds = said(await bench.press(JANE, card, "Change kind"), JANE, "What kind")
        assert button(kinds, "Reading") == encode(KIND, claim_id(card), "reading")
        assert kinds.message_id is not None
        legacy = encode(KIND, claim_id(card), str(LEGACY_KIND_ORDER.index("conference")))
        update = bench.server.press_button(JANE, kinds.message_id, legacy, strict=False)
        said(await bench.feed(update), JANE, "here is what I understood")
        view = bench.service.claim(claim_id(card))
        assert view is not None and view.kind == "conference"

    run(bench, body)


def test_ibms_category_question_and_diploma_text_come_from_the_scheme(bench: Bench) -> None:
    bea = USERS["B1"]

    async def body() -> None:
        card = await draft(bench, bea, "journal club article reading today 1 hours")
        assert {"Add reflection", "Category"} <= set(labels(card))
        asked = said(await bench.press(bea, card, "Category"), bea, "Which category fits best?")
        assert "Self-directed learning" in labels(asked)
        shown = said(await bench.text(bea, "/diploma"), bea, "Diploma since")
        assert "0 of 24 reflected activities" in (shown.text or "")
        assert "not ready yet" in (shown.text or "")

    run(bench, body)
