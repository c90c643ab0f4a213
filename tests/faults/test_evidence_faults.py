"""Evidence faults against `cpd run` as a subprocess: Telegram refusing the secretary's photos
(and documents), and ``getFile`` failing for a member's photo, briefly or for good. No claim is
hidden from the secretary, none is lost, no evidence file is sent twice."""

from __future__ import annotations

import time
from collections import Counter

from sqlalchemy import func, select

from cpd.storage import Claim, EvidenceFile, OutboxMessage, make_engine
from tests.bot import conftest as bot_fixtures
from tests.bot.conftest import JPEG, SECRETARY_CHAT, USERS, BotWorld
from tests.faults.conftest import Report
from tests.support.telegram_api import Call
from tests.support.waiting import wait_until

JANE, SAM = USERS["M1"], USERS["S1"]
world = bot_fixtures.world  # the bot tests' fixture: members invited, the fake Bot API


def _count(world: BotWorld, query: object) -> int:
    engine = make_engine(f"sqlite:///{world.data_dir / 'cpd.sqlite3'}")
    try:
        with engine.connect() as connection:
            return connection.execute(query).scalar_one()  # type: ignore[arg-type]
    finally:
        engine.dispose()


def _files(world: BotWorld, claim_id: int) -> int:
    return _count(
        world,
        select(func.count()).select_from(EvidenceFile).where(EvidenceFile.claim_id == claim_id),
    )


def _claim_with_photo(world: BotWorld, photo: bytes, caption: str) -> Call:
    mark = len(world.server.sent)
    world.server.send_photo(JANE, photo, caption=caption)
    return world.expect(JANE, "here is what I understood", after=mark)


def _submit(world: BotWorld, card: Call) -> None:
    mark = len(world.server.sent)
    world.server.press_button(JANE, card.message_id, world.button(card, "Submit"))
    world.expect(JANE, "will be verified soon", after=mark)


def _evidence_sends(world: BotWorld) -> Counter[str]:
    """How often each evidence caption/line reached the secretary chat (any method)."""
    return Counter(
        (c.text or "").split(" (")[0].split(" was ")[0]
        for c in world.server.messages_to(SECRETARY_CHAT)
        if (c.text or "").startswith("Evidence for claim")
    )


def test_a_refused_photo_goes_as_a_document_then_as_a_named_line(
    world: BotWorld,
    fault_report: Report,
) -> None:
    started = time.monotonic()
    server = world.server
    world.start()
    world.link("M1")
    world.link("S1")
    # The secretary chat refuses photos for good, and (for a while) the card itself.
    server.refuse("sendPhoto", chat_id=SECRETARY_CHAT)
    server.refuse("sendMessage", chat_id=SECRETARY_CHAT, description="Bad Request: chat not found")
    first = _claim_with_photo(world, JPEG, "boat show today 4 hours")
    _submit(world, first)
    wait_until(
        lambda: any(c.chat_id == SECRETARY_CHAT for c in server.rejected),
        15,
        what="the card to be tried",
    )
    # Before its card is posted, /pending (asked in private) lists the claim.
    mark = len(server.sent)
    server.send_text(SAM, "/pending")
    listing = world.expect(SAM, "wait for a decision", after=mark)
    assert "#1 Jane Surveyor" in listing.text and "card not posted yet" in listing.text
    server.clear_refusals()
    server.refuse("sendPhoto", chat_id=SECRETARY_CHAT)
    card = world.expect(SECRETARY_CHAT, "Claim #1 from Jane Surveyor", timeout=30)
    document = server.wait_for(
        lambda c: c.method == "sendDocument" and c.chat_id == SECRETARY_CHAT, timeout=20
    )
    assert "Evidence for claim #1" in document.text
    assert any(c.method == "sendPhoto" and c.chat_id == SECRETARY_CHAT for c in server.rejected)

    # Documents refused too: the evidence is named on a line of its own.
    server.refuse("sendDocument", chat_id=SECRETARY_CHAT)
    second = _claim_with_photo(world, JPEG + b"second", "boat show yesterday 3 hours")
    _submit(world, second)
    world.expect(SECRETARY_CHAT, "Claim #2 from Jane Surveyor", timeout=30)
    line = world.expect(SECRETARY_CHAT, "Evidence for claim #2", timeout=30)
    assert "was refused by Telegram" in line.text and "photo-" in line.text
    assert "evidence zip" in line.text

    accepted = 0
    for claim_id in (1, 2):
        cards = [
            c
            for c in server.messages_to(SECRETARY_CHAT)
            if (c.text or "").startswith(f"Claim #{claim_id} from")
        ]
        mark = len(server.sent)
        server.press_button(
            SAM, cards[0].message_id, world.button(cards[0], "Accept"), chat_id=SECRETARY_CHAT
        )
        world.expect(JANE, f"#{claim_id}", after=mark)
        accepted += 1
    world.wait_outbox_drained()
    assert card.message_id is not None
    dead = _count(
        world,
        select(func.count()).select_from(OutboxMessage).where(OutboxMessage.status == "dead"),
    )
    stored = _count(world, select(func.count()).select_from(Claim))
    decided = _count(
        world, select(func.count()).select_from(Claim).where(Claim.status == "accepted")
    )
    sends = _evidence_sends(world)
    repeated = sum(n - 1 for n in sends.values())
    cards_posted = {
        n
        for n in (1, 2)
        if any(
            (c.text or "").startswith(f"Claim #{n} from")
            for c in server.messages_to(SECRETARY_CHAT)
        )
    }
    lost = 2 - len(cards_posted)
    figures = fault_report(
        "400 on sendPhoto (then sendDocument)",
        sent=2,
        accepted=decided,
        stored=stored,
        lost=lost,
        repeated=repeated,
        dead=dead,
        seconds=round(time.monotonic() - started, 1),
    )
    assert (figures.stored, figures.accepted, figures.lost, figures.repeated) == (2, 2, 0, 0)
    assert dead == 0 and accepted == 2 and len(sends) == 2


def test_getfile_failures_are_retried_then_the_claim_is_kept_and_the_member_told(
    world: BotWorld,
    fault_report: Report,
) -> None:
    started = time.monotonic()
    server = world.server
    world.start()
    world.link("M1")
    world.link("S1")
    # Transient: two 502s on getFile and one on the download; the photo arrives.
    server.fail_next("getFile", times=2, status=502)
    server.fail_next("download", times=1, status=502)
    first = _claim_with_photo(world, JPEG, "boat show today 4 hours")
    assert _files(world, 1) == 1
    assert not any("couldn't fetch" in (c.text or "") for c in server.messages_to(JANE))
    assert sum(c.method == "getFile" for c in server.rejected) == 2
    _submit(world, first)

    # Persistent: getFile keeps failing; the claim is kept without the photo, and Jane told.
    server.fail_next("getFile", times=1000, status=502)
    mark = len(server.sent)
    server.send_photo(JANE, JPEG + b"again", caption="boat show yesterday 3 hours")
    draft = world.expect(JANE, "here is what I understood", after=mark, timeout=30)
    note = world.expect(JANE, "couldn't fetch your photo", after=mark, timeout=30)
    assert "claim #2 is saved without it" in note.text and "as a reply" in note.text
    assert _files(world, 2) == 0
    _submit(world, draft)

    # Telegram is back: the photo sent again as a reply to the note is added to claim #2.
    server.fail_next("getFile", times=0)
    mark = len(server.sent)
    server.send_photo(JANE, JPEG + b"again", reply_to=note.message_id)
    world.expect(JANE, "to claim #2", after=mark, timeout=30)
    assert _files(world, 2) == 1
    world.expect(SECRETARY_CHAT, "Claim #2 from Jane Surveyor", timeout=30)
    world.wait_outbox_drained()
    photos = Counter(
        (c.text or "")
        for c in server.messages_to(SECRETARY_CHAT)
        if c.method == "sendPhoto" and (c.text or "").startswith("Evidence for claim")
    )
    cards = {
        n
        for n in (1, 2)
        if any(
            (c.text or "").startswith(f"Claim #{n} from")
            for c in server.messages_to(SECRETARY_CHAT)
        )
    }
    stored = _count(world, select(func.count()).select_from(Claim))
    figures = fault_report(
        "502 on getFile (2 times, then persistent)",
        sent=2,
        accepted=0,
        stored=stored,
        lost=2 - len(cards),
        repeated=sum(n - 1 for n in photos.values()),
        files_attached=_files(world, 1) + _files(world, 2),
        evidence_photos_to_secretary=sum(photos.values()),
        seconds=round(time.monotonic() - started, 1),
    )
    assert (figures.stored, figures.lost, figures.repeated) == (2, 0, 0)
    assert sum(photos.values()) == 2  # claim 1's photo, and claim 2's added one
