"""Scheme workflows through the bot: dispensation with a secretary's tap, exports."""

from __future__ import annotations

from tests.bot.conftest import SECRETARY_CHAT, USERS, BotWorld

JANE, SAM = USERS["M1"], USERS["S1"]


def test_dispensation_export_and_evidence(world: BotWorld) -> None:
    world.start()
    world.link("M1")
    world.link("S1")
    mark = len(world.server.sent)
    world.server.send_text(JANE, "/dispensation retired in June, surveying part time")
    world.expect(JANE, "was sent to the membership secretary", after=mark)
    card = world.expect(SECRETARY_CHAT, "Dispensation request from Jane Surveyor", after=mark)
    mark = len(world.server.sent)
    world.server.press_button(
        SAM, card.message_id, world.button(card, "Grant"), chat_id=SECRETARY_CHAT
    )
    world.expect(JANE, "was granted", after=mark)
    mark = len(world.server.sent)
    world.server.send_text(JANE, "/progress")
    world.expect(JANE, "dispensation", after=mark)

    mark = len(world.server.sent)
    world.server.send_text(JANE, "/export")
    document = world.server.wait_for(
        lambda c: c.method == "sendDocument" and c.chat_id == JANE, timeout=30, after=mark
    )
    (upload,) = document.files.values()
    assert upload.data.startswith(b"%PDF")
    mark = len(world.server.sent)
    world.server.send_text(JANE, "/evidence")
    archive = world.server.wait_for(
        lambda c: c.method == "sendDocument" and c.chat_id == JANE, timeout=30, after=mark
    )
    assert next(iter(archive.files.values())).data[:2] == b"PK"
