"""What the bot answers to input it cannot use, and how it rides out a Telegram outage."""

from __future__ import annotations

import time

from sqlalchemy import func, select

from cpd.storage import Claim, EvidenceFile, make_engine
from tests.bot.conftest import JPEG, SECRETARY_CHAT, USERS, BotWorld

JANE, SAM = USERS["M1"], USERS["S1"]


def claims_stored(world: BotWorld) -> int:
    engine = make_engine(f"sqlite:///{world.data_dir / 'cpd.sqlite3'}")
    try:
        with engine.connect() as connection:
            return connection.execute(select(func.count()).select_from(Claim)).scalar_one()
    finally:
        engine.dispose()


def test_unlinked_users_emoji_and_bad_answers(world: BotWorld) -> None:
    world.start()
    stranger = 999
    world.server.add_user(stranger, "Stranger")
    mark = len(world.server.sent)
    world.server.send_text(stranger, "boat show today 4 hours")
    world.expect(stranger, "I don't know you yet", after=mark)
    world.server.send_text(stranger, "/start not-a-real-token")
    world.expect(stranger, "not valid", after=mark)
    assert claims_stored(world) == 0

    world.link("M1")
    mark = len(world.server.sent)
    world.server.send_text(JANE, "🚤📸👍")
    world.expect(JANE, "couldn't find an activity", after=mark)
    assert claims_stored(world) == 0

    world.server.send_text(JANE, "boat show today 4 hours")
    card = world.expect(JANE, "here is what I understood", after=mark)
    for answer, reply in (
        ("-3", "can't be negative"),
        ("400", "more than 24 hours"),
        ("lots", "as a number"),
    ):
        mark = len(world.server.sent)
        world.server.press_button(JANE, card.message_id, world.button(card, "Change hours"))
        world.expect(JANE, "How many hours", after=mark)
        world.server.send_text(JANE, answer)
        world.expect(JANE, reply, after=mark)
    mark = len(world.server.sent)
    world.server.send_text(JANE, "2.5")
    world.expect(JANE, "Hours: 2.5 h", after=mark)
    mark = len(world.server.sent)
    world.server.press_button(JANE, card.message_id, world.button(card, "Change date"))
    world.expect(JANE, "When was it", after=mark)
    world.server.send_text(JANE, "31/12/2099")
    world.expect(JANE, "in the future", after=mark)
    assert claims_stored(world) == 1


def test_a_telegram_outage_delays_messages_and_loses_none(world: BotWorld) -> None:
    world.start()
    world.link("M1")
    world.link("S1")
    mark = len(world.server.sent)
    world.server.send_text(JANE, "boat show today 2 hours")
    card = world.expect(JANE, "here is what I understood", after=mark)
    mark = len(world.server.sent)
    world.server.press_button(JANE, card.message_id, world.button(card, "Submit"))
    world.server.wait_for(lambda c: c.method == "answerCallbackQuery", after=mark)
    world.server.outage(4)
    started = time.monotonic()
    world.expect(JANE, "will be verified soon", after=mark, timeout=60)
    world.expect(SECRETARY_CHAT, "Jane Surveyor", after=mark, timeout=60)
    assert time.monotonic() - started >= 2  # delivered after the outage, not lost
    mark = len(world.server.sent)
    world.server.send_text(SAM, "/pending", chat_id=SECRETARY_CHAT)
    listing = world.expect(SECRETARY_CHAT, "wait for a decision", after=mark)
    assert "Jane Surveyor" in listing.text


def test_an_album_and_a_pdf_each_make_one_claim_and_a_bare_photo_asks_the_kind(
    world: BotWorld,
) -> None:
    world.start()
    world.link("M1")
    mark = len(world.server.sent)
    for i in range(3):  # the caption rides on one photo; any photo may be handled first
        caption = "boat show today 3 hours" if i == 0 else None
        world.server.send_photo(JANE, JPEG + bytes([i]), caption=caption, media_group_id="album-1")
    album = world.expect(JANE, "Kind: Exhibition", after=mark)
    assert "Boat show" in album.text
    mark = len(world.server.sent)
    world.server.send_document(
        JANE,
        b"%PDF-1.4 certificate",
        "certificate.pdf",
        "application/pdf",
        caption="IIMS training day yesterday 7 hours",
    )
    world.expect(JANE, "Provider: the Institute", after=mark)
    time.sleep(1)  # any question about the certificate goes first
    mark = len(world.server.sent)
    world.server.send_photo(JANE, JPEG + b"alone")
    world.expect(JANE, "Kind: Other", after=mark)
    question = world.expect(JANE, "What kind of activity", after=mark)
    mark = len(world.server.sent)
    world.server.press_button(
        JANE, question.message_id, world.button(question, "Exhibition or trade show")
    )
    edited = world.server.wait_for(
        lambda c: c.method == "editMessageText" and c.chat_id == JANE, after=mark
    )
    assert "Kind: Exhibition or trade show" in edited.text
    mark = len(world.server.sent)
    world.server.send_text(JANE, "/history")
    history = world.expect(JANE, "Your latest claims", after=mark)
    assert history.text.count("#") == 3
    world.wait_outbox_drained()
    engine = make_engine(f"sqlite:///{world.data_dir / 'cpd.sqlite3'}")
    with engine.connect() as connection:
        files = connection.execute(
            select(func.count()).select_from(EvidenceFile).where(EvidenceFile.claim_id == 1)
        ).scalar_one()
    engine.dispose()
    assert files == 3
