"""Several instances on one PostgreSQL: the conversations live in the database, so the instance
that takes over dispatching continues them; one instance dispatches at a time."""

from __future__ import annotations

import asyncio
import zoneinfo
from collections.abc import Iterator
from pathlib import Path

import pytest

from cpd.bot.config import BotConfig
from cpd.bot.db_persistence import DatabasePersistence
from cpd.bot.wiring import dispatch_turns
from cpd.claims.inbox import TelegramInbox
from cpd.claims.service import ClaimsService
from cpd.storage import make_engine
from tests.bot.bench import Bench, make_bench, said
from tests.bot.conftest import SECRETARY_CHAT, TOKEN, USERS
from tests.bot.test_conversations import claim_id, pending_card, run
from tests.conftest import _fresh_postgres_database
from tests.support.extractor import StubExtractor
from tests.support.waiting import wait_until_async

IVY, JANE, SAM = USERS["I1"], USERS["M1"], USERS["S1"]


@pytest.fixture
def shared(tmp_path: Path, postgres_cluster: str) -> Iterator[Bench]:
    """The bench on a PostgreSQL database, its conversations in that database."""
    for bench in make_bench(tmp_path, url=_fresh_postgres_database(postgres_cluster)):
        bench.persistence = DatabasePersistence
        yield bench


def _other_instance(bench: Bench) -> ClaimsService:
    engine = make_engine(bench.engine.url.render_as_string(hide_password=False))
    return ClaimsService(
        engine,
        StubExtractor(),
        bench.data_dir / "evidence",
        zoneinfo.ZoneInfo("Europe/London"),
        SECRETARY_CHAT,
    )


def test_a_decline_begun_on_one_instance_ends_on_another(shared: Bench) -> None:
    async def body() -> None:
        card = await pending_card(shared, IVY, "attended a records webinar yesterday 2 hours")
        asked = await shared.press(SAM, card, "Decline", chat_id=SECRETARY_CHAT)
        said(asked, SECRETARY_CHAT, f"Claim #{claim_id(card)}: Why is it declined")
        await shared.crash()
        first = shared.service
        shared.service = _other_instance(shared)  # its own engine, nothing in memory
        try:
            await shared.open()
            await shared.text(SAM, "No certificate of attendance", chat_id=SECRETARY_CHAT)
            told = said(await shared.deliver(), IVY, "was declined")
            assert "No certificate of attendance" in (told.text or "")
            # the conversation ended, in the database too: nothing more is decided
            await shared.crash()
            await shared.open()
            assert await shared.text(SAM, "and another thing", chat_id=SECRETARY_CHAT) == []
        finally:
            shared.service.engine.dispose()
            shared.service = first

    run(shared, body)


def test_one_instance_dispatches_and_another_takes_over_when_it_stops(shared: Bench) -> None:
    config = BotConfig(TOKEN, shared.server.api_url, shared.server.file_url, SECRETARY_CHAT)
    config = BotConfig(**{**config.__dict__, "webhook_url": "http://127.0.0.1/telegram"})
    other = _other_instance(shared)
    inbox = TelegramInbox(shared.engine)

    async def body() -> None:
        turns = [dispatch_turns(s, config, 1.0) for s in (shared.service, other)]
        assert turns[0] is not None and turns[1] is not None
        for t in turns:
            t.retry = 0.2
        stops = [asyncio.Event(), asyncio.Event()]
        first = asyncio.create_task(turns[0].run(stops[0]))
        await wait_until_async(lambda: turns[0].turns == 1, what="the first instance's turn")
        second = asyncio.create_task(turns[1].run(stops[1]))
        update = shared.server.send_text(JANE, "/help")
        inbox.store([shared.server.update(update)])
        await wait_until_async(lambda: inbox.counts() == (0, 1), what="the /help handled")
        assert turns[1].turns == 0
        stops[0].set()
        await first
        await wait_until_async(lambda: turns[1].turns == 1, 10, what="the second's turn")
        inbox.store([shared.server.update(shared.server.send_text(JANE, "/help"))])
        await wait_until_async(lambda: inbox.counts() == (0, 2), what="the second /help")
        stops[1].set()
        await second

    try:
        asyncio.run(body())
    finally:
        other.engine.dispose()
    helps = [c for c in shared.server.messages_to(JANE) if c.method == "sendMessage"]
    assert len(helps) == 2
