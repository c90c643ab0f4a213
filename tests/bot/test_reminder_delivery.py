"""A member linked in Telegram gets their reminder there, through the Telegram sender and the
local Bot API server, and nothing by mail."""

from __future__ import annotations

import asyncio
import datetime as dt
import zoneinfo
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from telegram import Bot

from cpd.bot.sender import deliver_one
from cpd.claims.members import create_invite, import_members, parse_members_csv
from cpd.claims.service import ClaimsService
from cpd.storage import OutboxMessage
from tests.support.extractor import StubExtractor
from tests.support.telegram_api import FakeTelegramServer

pytestmark = pytest.mark.filterwarnings("ignore:.*retry_after.*:DeprecationWarning")
TOKEN = "123456:TEST-token_reminders"
JANE_ID = 101
LONDON = zoneinfo.ZoneInfo("Europe/London")
MORNING = dt.datetime(2026, 11, 23, 10, 0, tzinfo=LONDON)
MEMBERS = """membership_no,name,email,scheme,grade,joined,role
M1,Jane Surveyor,jane@example.com,iims,member,2019-05-01,member
"""


def test_a_linked_member_hears_in_telegram_only(sqlite_engine: Engine, tmp_path: Path) -> None:
    import_members(sqlite_engine, parse_members_csv(MEMBERS, "iims"))
    service = ClaimsService(sqlite_engine, StubExtractor(), tmp_path, LONDON, clock=lambda: MORNING)
    token, _ = create_invite(sqlite_engine, "M1", dt.timedelta(days=1))
    service.link_telegram(token, JANE_ID)
    report = service.send_reminders(("telegram", "email", "daily"))
    assert [(p.membership_no, p.channel, p.kind) for p in report.planned] == [
        ("M1", "telegram", "progress")
    ]

    async def main() -> None:
        async with FakeTelegramServer(rate_limits=False) as server:
            server.add_user(JANE_ID, "Jane")
            async with Bot(TOKEN, base_url=server.api_url, base_file_url=server.file_url) as bot:
                due = service.due_notifications("telegram")
                assert [await deliver_one(bot, service, n) for n in due] == [True]
                (sent,) = server.messages_to(JANE_ID)
                assert sent.text.startswith("CPD progress: 0 points of 10. 10 points to go")
                assert "To be on pace you would have" in sent.text

    asyncio.run(asyncio.wait_for(main(), 60))
    with sqlite_engine.connect() as connection:
        rows = connection.execute(select(OutboxMessage.channel, OutboxMessage.status)).all()
    assert [tuple(r) for r in rows] == [("telegram", "sent")]
