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


def test_secretary_standings_and_the_one_tap_declaration(world: BotWorld) -> None:
    import datetime as dt

    from cpd.claims.workflows import Workflows
    from cpd.run import build_service
    from cpd.settings import load_settings

    world.start()
    world.link("I1")
    world.link("S1")
    ivy = USERS["I1"]
    settings = load_settings(data_dir=world.data_dir)
    flows = Workflows(build_service(settings))
    assert flows.queue_declaration_prompts(dt.date.today().year) == 1
    prompt = world.expect(ivy, "CPD declaration for", timeout=30)
    mark = len(world.server.sent)
    world.server.press_button(ivy, prompt.message_id, world.button(prompt, "I confirm"))
    edit = world.server.wait_for(
        lambda c: c.method == "editMessageText" and c.chat_id == ivy, after=mark
    )
    assert "declaration for" in edit.text and "recorded" in edit.text
    mark = len(world.server.sent)
    world.server.send_text(SAM, "/undeclared", chat_id=SECRETARY_CHAT)
    world.expect(SECRETARY_CHAT, "Everyone has made their declaration", after=mark)
    world.server.send_text(SAM, "/standings", chat_id=SECRETARY_CHAT)
    document = world.server.wait_for(
        lambda c: c.method == "sendDocument" and c.chat_id == SECRETARY_CHAT, after=mark
    )
    assert next(iter(document.files.values())).data.startswith(b"membership_no,scheme")
    mark = len(world.server.sent)
    world.server.send_text(ivy, "/standings")
    world.expect(ivy, "Only the membership secretary", after=mark)


def test_ibms_diploma_submitted_and_validated_in_the_bot(world: BotWorld) -> None:
    import datetime as dt

    from cpd.storage import make_engine
    from tests.support.seeds import add_reflected_activities

    engine = make_engine(f"sqlite:///{world.data_dir / 'cpd.sqlite3'}")
    add_reflected_activities(engine, "B1", dt.date.today() - dt.timedelta(days=53))
    engine.dispose()
    world.start()
    world.link("B1")
    world.link("S1")
    bea_chat = USERS["B1"]
    mark = len(world.server.sent)
    world.server.send_text(bea_chat, "/diploma")
    world.expect(bea_chat, "It is ready: send /submit", after=mark)
    world.server.send_text(bea_chat, "/submit")
    world.expect(bea_chat, "sent for validation", after=mark)
    card = world.expect(SECRETARY_CHAT, "CPD diploma submitted by Bea Scientist", after=mark)
    mark = len(world.server.sent)
    world.server.press_button(
        SAM, card.message_id, world.button(card, "Validate"), chat_id=SECRETARY_CHAT
    )
    world.expect(bea_chat, "validated and issued", after=mark)
    world.server.send_text(bea_chat, "/diploma")
    assert "0 of 24" in world.expect(bea_chat, "Diploma since", after=mark).text
