"""`cpd run` as a subprocess against the local Bot API server: members claim, the secretary
decides, balances update."""

from __future__ import annotations

import signal

from tests.bot.conftest import JPEG, SECRETARY_CHAT, USERS, BotWorld

JANE, SAM = USERS["M1"], USERS["S1"]


def test_iims_claim_with_photo_correct_hours_submit_accept(world: BotWorld) -> None:
    world.start()
    world.link("M1")
    world.link("S1")
    server = world.server
    mark = len(server.sent)
    server.send_photo(JANE, JPEG, caption="boat show southampton today 4hrs")
    card = world.expect(JANE, "here is what I understood", after=mark)
    assert "Hours: 4 h" in card.text and "Proposed: 1 point" in card.text

    mark = len(server.sent)
    server.press_button(JANE, card.message_id, world.button(card, "Change hours"))
    world.expect(JANE, "How many hours", after=mark)
    mark = len(server.sent)
    server.send_text(JANE, "3")
    card = world.expect(JANE, "Hours: 3 h", after=mark)

    mark = len(server.sent)
    server.press_button(JANE, card.message_id, world.button(card, "Submit"))
    world.expect(JANE, "will be verified soon", after=mark)
    server.wait_for(
        lambda c: c.chat_id == SECRETARY_CHAT and c.method == "sendPhoto", timeout=20, after=mark
    )
    secretary_card = world.expect(SECRETARY_CHAT, "Jane Surveyor", after=mark)

    mark = len(server.sent)
    server.press_button(
        SAM,
        secretary_card.message_id,
        world.button(secretary_card, "Accept"),
        chat_id=SECRETARY_CHAT,
    )
    decision = world.expect(JANE, "accepted", after=mark)
    assert "1 point added — you need 9 more by 31 December" in decision.text
    edit = server.wait_for(
        lambda c: c.method == "editMessageText" and c.chat_id == SECRETARY_CHAT,
        timeout=20,
        after=mark,
    )
    assert "Accepted by Sam Secretary" in edit.text and not edit.reply_markup

    mark = len(server.sent)
    server.send_text(JANE, "/progress")
    world.expect(JANE, "1 point of 10", after=mark)
    server.wait_for(lambda c: c.chat_id == JANE and c.method == "sendPhoto", after=mark)
    assert world.stop(signal.SIGTERM) == 0
