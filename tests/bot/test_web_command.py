"""``/web`` at handler level: real updates (``Update.de_json``) through the real application;
a linked member gets a single-use sign-in link that signs in once, an unlinked chat only a
clear message, and a bot whose web desk is off says so."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from cpd.bot.application import build_application
from cpd.bot.config import BotConfig
from cpd.bot.web_link import NO_WEB, PRIVATE_ONLY
from cpd.claims.texts import NOT_LINKED
from cpd.claims.web_access import LinkRefused
from tests.bot.bench import Bench, make_bench
from tests.bot.conftest import SECRETARY_CHAT, TOKEN, USERS

WEB = "https://cpd.example.org"
LINK = re.compile(re.escape(WEB) + r"/signin/([A-Za-z0-9_-]{20,})")


@pytest.fixture
def bench(tmp_path: Path) -> Iterator[Bench]:
    yield from make_bench(tmp_path)


def ask(bench: Bench, user: int, web_url: str | None, chat_id: int | None = None) -> list[str]:
    """``user`` sends /web to a bot whose desk is at ``web_url``; the texts it answered."""

    async def go() -> list[str]:
        config = BotConfig(
            TOKEN, bench.server.api_url, bench.server.file_url, SECRETARY_CHAT, web_url=web_url
        )
        app = build_application(bench.service, config)
        await app.initialize()
        bench.app = app
        try:
            calls = await bench.text(user, "/web", chat_id=chat_id)
        finally:
            await app.shutdown()
        return [c.text or "" for c in calls if c.chat_id == (chat_id or user)]

    return asyncio.run(go())


def test_a_linked_member_gets_a_link_that_signs_in_once(bench: Bench) -> None:
    [text] = ask(bench, USERS["M1"], WEB + "/")
    found = LINK.search(text)
    assert found, text
    assert "15 minutes" in text
    user = bench.service.web_sign_in(found.group(1))
    assert user.membership_no == "M1" and not user.is_secretary
    with pytest.raises(LinkRefused, match="used already"):
        bench.service.web_sign_in(found.group(1))


def test_a_secretary_gets_their_own_link(bench: Bench) -> None:
    [text] = ask(bench, USERS["S1"], WEB)
    found = LINK.search(text)
    assert found, text
    assert bench.service.web_sign_in(found.group(1)).is_secretary


def test_an_unlinked_chat_gets_no_link_but_a_clear_message(bench: Bench) -> None:
    bench.server.add_user(999, "Stranger")
    assert ask(bench, 999, WEB) == [NOT_LINKED]


def test_in_a_group_or_with_the_desk_off_no_link(bench: Bench) -> None:
    assert ask(bench, USERS["S1"], WEB, chat_id=SECRETARY_CHAT) == [PRIVATE_ONLY]
    assert ask(bench, USERS["M1"], None) == [NO_WEB]
