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


def _claim(world: BotWorld, user: int, text: str) -> object:
    mark = len(world.server.sent)
    world.server.send_text(user, text)
    return world.expect(user, "here is what I understood", after=mark)


def _press(
    world: BotWorld, user: int, card: object, label: str, expect: str, chat: int | None = None
) -> object:
    mark = len(world.server.sent)
    world.server.press_button(user, card.message_id, world.button(card, label), chat_id=chat)
    return world.expect(chat or user, expect, after=mark)


def _answer(world: BotWorld, user: int, text: str, expect: str) -> object:
    mark = len(world.server.sent)
    world.server.send_text(user, text)
    return world.expect(user, expect, after=mark)


def _secretary_card(world: BotWorld, mark: int, name: str) -> object:
    return world.expect(SECRETARY_CHAT, name, after=mark)


def test_iim_decline_with_a_reason(world: BotWorld) -> None:
    world.start()
    world.link("I1")
    world.link("S1")
    ivy = USERS["I1"]
    card = _claim(world, ivy, "attended the IIM records retention webinar yesterday 10:00-12:30")
    assert "Hours: 2.5 h" in card.text and "iim-2" in card.text
    mark = len(world.server.sent)
    _press(world, ivy, card, "Submit", "will be verified soon")
    secretary_card = _secretary_card(world, mark, "Ivy Records")
    _press(world, SAM, secretary_card, "Decline", "Why is it declined", chat=SECRETARY_CHAT)
    mark = len(world.server.sent)
    world.server.send_text(SAM, "No certificate of attendance", chat_id=SECRETARY_CHAT)
    declined = world.expect(ivy, "was declined", after=mark)
    assert "No certificate of attendance" in declined.text


def test_imi_asks_for_the_reflection_and_the_test_credit(world: BotWorld) -> None:
    world.start()
    world.link("T1")
    world.link("S1")
    tom = USERS["T1"]
    card = _claim(world, tom, "IMI EV high voltage course at Bosch yesterday, 3 hours")
    assert "add your reflection" in card.text
    if "What kind of activity" in card.text:  # the model was unsure: the card asks first
        mark = len(world.server.sent)
        world.server.press_button(
            tom, card.message_id, world.button(card, "Course, workshop or webinar")
        )
        card = world.server.wait_for(
            lambda c: c.method == "editMessageText" and c.chat_id == tom, after=mark
        )
        card.result = {"message_id": card.params["message_id"]}
    mark = len(world.server.sent)
    world.server.press_button(tom, card.message_id, world.button(card, "Submit"))
    world.server.wait_for(
        lambda c: (
            c.method == "answerCallbackQuery"
            and "New knowledge and skills" in c.params.get("text", "")
        ),
        after=mark,
    )
    _press(world, tom, card, "Add reflection", "What new knowledge")
    card = _answer(world, tom, "Safe isolation of HV batteries", "Proposed:")
    _press(world, tom, card, "Impact and results", "What impact")
    card = _answer(world, tom, "No more waiting for the specialist", "Proposed:")
    assert "Proposed: 7 credits" in card.text  # 3 h + 4 impact
    mark = len(world.server.sent)
    world.server.press_button(tom, card.message_id, world.button(card, "test"))
    edited = world.server.wait_for(
        lambda c: c.method == "editMessageText" and c.chat_id == tom, after=mark
    )
    assert "Proposed: 8 credits" in edited.text
    mark = len(world.server.sent)
    _press(world, tom, card, "Submit", "will be verified soon")
    secretary_card = _secretary_card(world, mark, "Tom Technician")
    mark = len(world.server.sent)
    world.server.press_button(
        SAM,
        secretary_card.message_id,
        world.button(secretary_card, "Accept"),
        chat_id=SECRETARY_CHAT,
    )
    accepted = world.expect(tom, "accepted", after=mark)
    assert "8 credits added — you need" in accepted.text


def test_ibms_category_and_reflection(world: BotWorld) -> None:
    world.start()
    world.link("B1")
    bea = USERS["B1"]
    card = _claim(world, bea, "journal club on sepsis markers today, 1 hour, read the NEJM paper")
    _press(world, bea, card, "Category", "Which category")
    categories = world.server.wait_for(
        lambda c: c.chat_id == bea and "Which category" in (c.text or "")
    )
    mark = len(world.server.sent)
    world.server.press_button(bea, categories.message_id, world.button(categories, "Self-directed"))
    edited = world.server.wait_for(
        lambda c: c.method == "editMessageText" and c.chat_id == bea, after=mark
    )
    assert "Category: self-directed" in edited.text
    _press(world, bea, card, "Add reflection", "What new knowledge")
    card = _answer(world, bea, "Procalcitonin cut-offs differ by setting", "Proposed: 1 activity")
    _press(world, bea, card, "Submit", "will be verified soon")


def test_withdraw_a_pending_claim(world: BotWorld) -> None:
    world.start()
    world.link("M1")
    card = _claim(world, JANE, "boat show today 2 hours")
    _press(world, JANE, card, "Submit", "will be verified soon")
    mark = len(world.server.sent)
    world.server.send_text(JANE, "/withdraw")
    menu = world.expect(JANE, "Which claim", after=mark)
    mark = len(world.server.sent)
    world.server.press_button(JANE, menu.message_id, world.button(menu, "Withdraw #"))
    edit = world.server.wait_for(
        lambda c: c.method == "editMessageText" and c.chat_id == JANE, after=mark
    )
    assert "withdrawn" in edit.text
    mark = len(world.server.sent)
    world.server.send_text(JANE, "/history")
    assert "withdrawn" in world.expect(JANE, "Your latest claims", after=mark).text


def test_a_forged_callback_by_a_member_decides_nothing(world: BotWorld) -> None:
    world.start()
    world.link("M1")
    world.link("I1")
    card = _claim(world, JANE, "boat show today 2 hours")
    mark = len(world.server.sent)
    _press(world, JANE, card, "Submit", "will be verified soon")
    secretary_card = _secretary_card(world, mark, "Jane Surveyor")
    for forger in (JANE, USERS["I1"]):
        mark = len(world.server.sent)
        world.server.press_button(
            forger,
            secretary_card.message_id,
            world.button(secretary_card, "Accept"),
            chat_id=SECRETARY_CHAT,
        )
        world.server.wait_for(
            lambda c: (
                c.method == "answerCallbackQuery"
                and "Only the membership secretary" in c.params.get("text", "")
            ),
            after=mark,
        )
    # a member pressing another member's draft buttons is refused too
    ivy_card = _claim(world, USERS["I1"], "read the IIM journal today 1 hour")
    mark = len(world.server.sent)
    world.server.press_button(
        JANE,
        ivy_card.message_id,
        world.button(ivy_card, "Submit"),
        strict=False,
        chat_id=USERS["I1"],
    )
    world.server.wait_for(
        lambda c: (
            c.method == "answerCallbackQuery" and "no claim" in c.params.get("text", "").lower()
        ),
        after=mark,
    )
    mark = len(world.server.sent)
    world.server.send_text(JANE, "/history")
    assert "pending" in world.expect(JANE, "Your latest claims", after=mark).text


def test_the_same_update_delivered_twice_is_answered_once(world: BotWorld) -> None:
    world.start()
    world.link("M1")
    mark = len(world.server.sent)
    update_id = world.server.send_text(JANE, "boat show today 2 hours")
    world.expect(JANE, "here is what I understood", after=mark)
    world.server.inject_raw(world.server.update(update_id))
    world.server.send_text(JANE, "/history")
    history = world.expect(JANE, "Your latest claims", after=mark)
    assert history.text.count("#") == 1
    cards = [c for c in world.server.sent[mark:] if "here is what I understood" in (c.text or "")]
    assert len(cards) == 1


def test_killed_between_submission_and_decision_loses_and_repeats_nothing(world: BotWorld) -> None:
    world.start()
    world.link("M1")
    world.link("S1")
    card = _claim(world, JANE, "boat show today 2 hours")
    mark = len(world.server.sent)
    _press(world, JANE, card, "Submit", "will be verified soon")
    secretary_card = _secretary_card(world, mark, "Jane Surveyor")
    world.wait_outbox_drained()
    world.stop(signal.SIGKILL)
    world.start()
    mark = len(world.server.sent)
    world.server.press_button(
        SAM,
        secretary_card.message_id,
        world.button(secretary_card, "Accept"),
        chat_id=SECRETARY_CHAT,
    )
    world.expect(JANE, "accepted", after=mark)
    receipts = [
        c
        for c in world.server.sent
        if "will be verified soon" in (c.text or "") and c.method == "sendMessage"
    ]
    cards = [
        c for c in world.server.sent if c.chat_id == SECRETARY_CHAT and c.method == "sendMessage"
    ]
    assert len(receipts) == 1 and len(cards) == 1
    world.stop(signal.SIGTERM)
