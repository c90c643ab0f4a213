"""A restart of `cpd run` in the middle of a conversation keeps it: SIGKILL between the
secretary's "Decline" tap and the reason (and between a member's "Change hours" and the
answer), a new `cpd run`, and the answer still lands on the right claim.

The kill comes only once the inbox has recorded the tap as handled, so the tap is not
handled again after the restart: what carries the question across is the conversations file
written before that record.
"""

from __future__ import annotations

import re
import signal
import time
import zoneinfo

from cpd.claims.inbox import TelegramInbox
from cpd.claims.intake import ClaimView
from cpd.claims.service import ClaimsService
from cpd.storage import make_engine
from tests.bot.conftest import SECRETARY_CHAT, USERS, BotWorld
from tests.support.extractor import StubExtractor
from tests.support.telegram_api import Call

SAM, IVY, JANE = USERS["S1"], USERS["I1"], USERS["M1"]


def _all_handled(world: BotWorld, timeout: float = 20) -> None:
    """Wait until the inbox holds no unhandled update."""
    engine = make_engine(f"sqlite:///{world.data_dir / 'cpd.sqlite3'}")
    inbox = TelegramInbox(engine)
    deadline = time.monotonic() + timeout
    try:
        while inbox.counts()[0]:
            if time.monotonic() > deadline:
                raise AssertionError("updates were left unhandled")
            time.sleep(0.05)
    finally:
        engine.dispose()


def _claim(world: BotWorld, number: str) -> ClaimView:
    engine = make_engine(f"sqlite:///{world.data_dir / 'cpd.sqlite3'}")
    try:
        service = ClaimsService(
            engine, StubExtractor(), world.data_dir / "evidence", zoneinfo.ZoneInfo("UTC")
        )
        view = service.claim(int(number))
    finally:
        engine.dispose()
    assert view is not None
    return view


def _press(world: BotWorld, user: int, card: Call, label: str, chat: int | None = None) -> int:
    assert card.message_id is not None
    mark = len(world.server.sent)
    world.server.press_button(user, card.message_id, world.button(card, label), chat_id=chat)
    return mark


def _submitted(world: BotWorld, user: int, text: str) -> tuple[str, Call]:
    mark = len(world.server.sent)
    world.server.send_text(user, text)
    card = world.expect(user, "here is what I understood", after=mark)
    number = re.search(r"#(\d+)", card.text or "")
    assert number is not None
    mark = _press(world, user, card, "Submit")
    world.expect(user, "will be verified soon", after=mark)
    return number.group(1), world.expect(SECRETARY_CHAT, f"#{number.group(1)}", after=mark)


def test_sigkill_between_decline_and_the_reason(world: BotWorld) -> None:
    started = time.monotonic()
    world.start()
    for number in ("I1", "M1", "S1"):
        world.link(number)
    ivy_claim, ivy_card = _submitted(world, IVY, "attended a records webinar yesterday 2 hours")
    jane_claim, _ = _submitted(world, JANE, "boat show today 4 hours")
    mark = _press(world, SAM, ivy_card, "Decline", chat=SECRETARY_CHAT)
    world.expect(SECRETARY_CHAT, f"Claim #{ivy_claim}: Why is it declined", after=mark)
    _all_handled(world)
    assert world.stop(signal.SIGKILL) == -signal.SIGKILL
    world.start()
    mark = len(world.server.sent)
    world.server.send_text(SAM, "No certificate of attendance", chat_id=SECRETARY_CHAT)
    told = world.expect(IVY, "was declined", after=mark)
    assert "No certificate of attendance" in (told.text or "")
    declined, other = _claim(world, ivy_claim), _claim(world, jane_claim)
    assert (declined.status, declined.decision_reason) == (
        "declined",
        "No certificate of attendance",
    )
    assert other.status == "pending"
    print(f"restart between Decline and the reason: {time.monotonic() - started:.1f} s")


def test_sigkill_between_change_hours_and_the_answer(world: BotWorld) -> None:
    world.start()
    world.link("M1")
    mark = len(world.server.sent)
    world.server.send_text(JANE, "boat show today 4 hours")
    card = world.expect(JANE, "here is what I understood", after=mark)
    mark = _press(world, JANE, card, "Change hours")
    world.expect(JANE, "How many hours", after=mark)
    _all_handled(world)
    world.stop(signal.SIGKILL)
    world.start()
    mark = len(world.server.sent)
    world.server.send_text(JANE, "2.5")
    shown = world.expect(JANE, "here is what I understood", after=mark)
    assert "Hours: 2.5 h" in (shown.text or "")
