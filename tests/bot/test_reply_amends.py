"""`cpd run` against the local Bot API server: a Telegram reply to the bot's message about a
claim amends that claim (a draft: corrected hours and the reflection; a pending claim: an
impact reflection, shown on the secretary's card under its buttons)."""

from __future__ import annotations

from cpd import rules
from cpd.rules.values import number
from tests.bot.conftest import SECRETARY_CHAT, USERS, BotWorld

TOM = USERS["T1"]


def _rate() -> float:
    category = rules.load_scheme("imi").category_for("training", None)
    assert category is not None and category.rate.per_hour is not None
    return category.rate.per_hour


def test_replying_to_the_draft_and_to_the_submitted_card_amends_the_claim(
    world: BotWorld,
) -> None:
    server = world.server
    world.start()
    world.link("T1")
    world.link("S1")
    mark = len(server.sent)
    server.send_text(TOM, "EV safety training course yesterday, 4 hours")
    card = world.expect(TOM, "here is what I understood", after=mark)
    assert "Proposed: 0 credits" in card.text

    mark = len(server.sent)
    server.send_text(
        TOM,
        "Sorry, it took 5 hours\nWhat I learned: safe isolation of HV batteries",
        reply_to=card.message_id,
    )
    world.expect(TOM, "Claim #1 updated", after=mark)
    draft = world.expect(TOM, "here is what I understood", after=mark)
    assert "Hours: 5 h" in draft.text
    assert f"Proposed: {number(5 * _rate())} credits" in draft.text

    mark = len(server.sent)
    server.press_button(TOM, draft.message_id, world.button(draft, "Submit"))
    secretary_card = world.expect(SECRETARY_CHAT, "Tom Technician", after=mark)
    world.wait_outbox_drained()

    mark = len(server.sent)
    server.send_text(
        TOM,
        "Impact and results: no more waiting for the specialist",
        reply_to=draft.message_id,
    )
    answer = world.expect(TOM, "Claim #1 updated", after=mark)
    impact = rules.load_scheme("imi").extras.reflections["impact"]
    total = number(5 * _rate() + impact)
    assert f"proposed now {total} credits" in answer.text
    edit = server.wait_for(
        lambda c: c.method == "editMessageText" and c.chat_id == SECRETARY_CHAT,
        timeout=20,
        after=mark,
    )
    assert edit.params["message_id"] == secretary_card.message_id
    assert f"Proposed: {total} credits" in edit.text
    assert "no more waiting" in edit.text and world.button(edit, "Accept")
