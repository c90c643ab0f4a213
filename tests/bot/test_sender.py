"""The outbox sender and the file fetcher in process, against the local Bot API server: a
refused card is retried while its claim is pending, evidence follows the card once per file
(photo, else document, else a named line), and getFile failures are retried, then reported."""

from __future__ import annotations

import asyncio
import datetime as dt
import io
import json
import time
import zoneinfo
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import Engine, select
from telegram import Bot

from cpd.bot.downloads import FetchFailed, fetch_bytes
from cpd.bot.sender import deliver_one
from cpd.claims.intake import Attachment, Intake, Sender
from cpd.claims.members import create_invite, import_members, parse_members_csv
from cpd.claims.notifications import queue
from cpd.claims.recipients import member
from cpd.claims.service import ClaimsService
from cpd.storage import OutboxMessage, transaction
from cpd.storage.queries import member_by_number
from tests.support.extractor import StubExtractor
from tests.support.telegram_api import FakeTelegramServer

pytestmark = pytest.mark.filterwarnings("ignore:.*retry_after.*:DeprecationWarning")
TOKEN = "123456:TEST-token_sender"
CHAT, JANE_ID = -100777, 101
JANE = Sender(telegram_user_id=JANE_ID)
MEMBERS = """membership_no,name,email,scheme,grade,joined,role
M1,Jane Surveyor,jane@example.com,iims,member,2019-05-01,member
"""


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), "white").save(out, "PNG")
    return out.getvalue()


@pytest.fixture
def service(sqlite_engine: Engine, tmp_path: Path) -> ClaimsService:
    import_members(sqlite_engine, parse_members_csv(MEMBERS, "iims"))
    svc = ClaimsService(
        sqlite_engine,
        StubExtractor(),
        tmp_path / "evidence",
        zoneinfo.ZoneInfo("Europe/London"),
        CHAT,
    )
    token, _ = create_invite(sqlite_engine, "M1", dt.timedelta(days=1))
    svc.link_telegram(token, JANE_ID)
    return svc


def _run(test: Callable[[FakeTelegramServer, Bot], Awaitable[None]]) -> None:
    async def main() -> None:
        async with FakeTelegramServer(rate_limits=False) as server:
            server.add_group(CHAT)
            server.add_user(JANE_ID, "Jane")
            async with Bot(TOKEN, base_url=server.api_url, base_file_url=server.file_url) as bot:
                await test(server, bot)

    asyncio.run(asyncio.wait_for(main(), 60))


def _submitted(service: ClaimsService, key: str, files: tuple[Attachment, ...]) -> int:
    intake = Intake(
        "telegram", key, JANE, "boat show today 2 hours", dt.datetime.now(dt.UTC), files
    )
    claim = service.start_claim(intake).claim
    service.submit(claim.id, JANE)
    return claim.id


def _rows(service: ClaimsService, template: str) -> list[OutboxMessage]:
    with service.engine.connect() as connection:
        return list(
            connection.execute(
                select(OutboxMessage).where(OutboxMessage.template == template)
            ).all()
        )


async def _deliver(service: ClaimsService, bot: Bot, template: str) -> list[bool]:
    due = [n for n in service.due_notifications("telegram", 100) if n.template == template]
    return [await deliver_one(bot, service, n) for n in due]


def test_a_refused_card_is_retried_and_its_evidence_follows_once_per_file(
    service: ClaimsService,
) -> None:
    claim_id = _submitted(
        service,
        "k1",
        (
            Attachment(_png(), "image/png", "cert.png"),
            Attachment(b"%PDF", "application/pdf", "a.pdf"),
        ),
    )

    async def test(server: FakeTelegramServer, bot: Bot) -> None:
        server.refuse("sendMessage", chat_id=CHAT, description="Bad Request: chat not found")
        (card,) = [
            n for n in service.due_notifications("telegram") if n.template == "secretary_card"
        ]
        assert await deliver_one(bot, service, card) is False
        (row,) = _rows(service, "secretary_card")
        assert (row.status, row.attempts) == ("pending", 1)  # not dead: its claim is pending
        assert service.claims_without_card([claim_id]) == {claim_id}
        server.clear_refusals()
        server.refuse("sendPhoto", chat_id=CHAT)
        assert await deliver_one(bot, service, card) is True
        assert service.claims_without_card([claim_id]) == set()
        assert await _deliver(service, bot, "card_evidence") == [True, True]
        assert await _deliver(service, bot, "card_evidence") == []  # delivered once each
        sent = [(c.method, c.text) for c in server.messages_to(CHAT)]
        assert sent == [
            ("sendMessage", sent[0][1]),
            ("sendDocument", f"Evidence for claim #{claim_id}: cert.png"),
            ("sendDocument", f"Evidence for claim #{claim_id}: a.pdf"),
        ]
        card_id = server.messages_to(CHAT)[0].message_id
        assert all(
            c.params["reply_parameters"]["message_id"] == card_id
            for c in server.messages_to(CHAT)[1:]
        )
        assert [c.method for c in server.rejected] == ["sendMessage", "sendPhoto"]
        # Later files of the claim: documents refused too, the file is named on a line.
        server.refuse("sendDocument", chat_id=CHAT)
        view, kept = service.attach_to_claim(
            claim_id, JANE, Attachment(b"x" * 3000, "image/jpeg", "late.jpg")
        )
        assert kept and view.evidence_count == 3
        assert await _deliver(service, bot, "card_evidence") == [True]
        line = server.messages_to(CHAT)[-1]
        assert line.method == "sendMessage" and "late.jpg (3 KB) was refused" in line.text
        assert not [r for r in _rows(service, "card_evidence") if r.status != "sent"]

    _run(test)


def test_a_card_refused_after_its_claim_was_withdrawn_is_given_up(
    service: ClaimsService,
) -> None:
    claim_id = _submitted(service, "k2", ())
    service.withdraw(claim_id, JANE)

    async def test(server: FakeTelegramServer, bot: Bot) -> None:
        server.refuse("sendMessage", chat_id=CHAT)
        assert await _deliver(service, bot, "secretary_card") == [False]
        (row,) = _rows(service, "secretary_card")
        assert row.status == "dead"

    _run(test)


def test_getfile_is_retried_a_few_times_then_reported(service: ClaimsService) -> None:
    async def test(server: FakeTelegramServer, bot: Bot) -> None:
        server.send_photo(JANE_ID, b"\xff\xd8 photo bytes")
        (file_id,) = server.files
        server.fail_next("getFile", times=2, status=502)
        server.fail_next("download", times=1, status=502)
        assert await fetch_bytes(bot, file_id, first_delay=0.05) == b"\xff\xd8 photo bytes"
        server.fail_next("getFile", times=100, status=502)
        started = time.monotonic()
        with pytest.raises(FetchFailed):
            await fetch_bytes(bot, file_id, first_delay=0.05)
        assert time.monotonic() - started < 3
        assert sum(c.method == "getFile" for c in server.rejected) == 2 + 4  # bounded: 4 tries
        server.fail_next("getFile", times=0)
        with pytest.raises(FetchFailed):  # a refusal is not retried
            await fetch_bytes(bot, "no-such-file", first_delay=5)

    _run(test)


def test_an_impact_follow_up_comes_with_its_button(service: ClaimsService) -> None:
    with transaction(service.engine) as session:
        jane = member_by_number(session, "M1")
        assert jane is not None
        payload = {"text": "Seen its impact?", "claim_id": 42, "button": "Add impact and results"}
        queue(session, "followup:claim:42", "telegram", member(jane), "impact_followup", payload)

    async def test(server: FakeTelegramServer, bot: Bot) -> None:
        assert await _deliver(service, bot, "impact_followup") == [True]
        (sent,) = server.messages_to(JANE_ID)
        markup = sent.params["reply_markup"]
        markup = json.loads(markup) if isinstance(markup, str) else markup
        (row,) = markup["inline_keyboard"]
        assert [(b["text"], b["callback_data"]) for b in row] == [
            ("Add impact and results", "d:42:impact")
        ]

    _run(test)
