"""``POST /telegram``: the secret checked, junk refused, an update stored before its 200, the
same update twice stored once; no route at all without a webhook."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine, text

from cpd.claims.inbox import TelegramInbox
from cpd.web.app import create_app
from cpd.web.config import WebConfig
from tests.web.conftest import Clock, ServerThread, make_service

SECRET = "s3cret_Token-1"
HEADER = "X-Telegram-Bot-Api-Secret-Token"


@pytest.fixture
def hook(engine: Engine, tmp_path: Path) -> Iterator[tuple[httpx.Client, TelegramInbox]]:
    service = make_service(engine, tmp_path / "evidence", Clock())
    config = WebConfig(
        host="127.0.0.1",
        port=0,
        base_url="http://127.0.0.1",
        secret_key="k" * 48,
        telegram_webhook_secret=SECRET,
    )
    server = ServerThread(create_app(service, config))
    client = httpx.Client(base_url=server.url, timeout=20)
    try:
        yield client, TelegramInbox(engine)
    finally:
        client.close()
        server.close()


def _update(update_id: int) -> dict[str, object]:
    return {
        "update_id": update_id,
        "message": {
            "message_id": 1,
            "date": 1764000000,
            "chat": {"id": 101, "type": "private"},
            "from": {"id": 101, "is_bot": False, "first_name": "Jane"},
            "text": "Webinar, 2 hours",
        },
    }


def test_without_the_secret_nothing_is_stored(
    hook: tuple[httpx.Client, TelegramInbox],
) -> None:
    client, inbox = hook
    assert client.post("/telegram", json=_update(7)).status_code == 403
    wrong = client.post("/telegram", json=_update(7), headers={HEADER: SECRET + "x"})
    assert wrong.status_code == 403
    assert inbox.counts() == (0, 0)


def test_junk_is_refused_with_400(hook: tuple[httpx.Client, TelegramInbox]) -> None:
    client, inbox = hook
    for body in (b"not json", b"[1, 2]", b'{"message": {}}', b'{"update_id": "7"}'):
        answer = client.post("/telegram", content=body, headers={HEADER: SECRET})
        assert answer.status_code == 400, body
    assert inbox.counts() == (0, 0)


def test_an_update_is_stored_before_its_200_and_once(
    hook: tuple[httpx.Client, TelegramInbox], engine: Engine
) -> None:
    client, inbox = hook
    with engine.begin() as connection:  # the inbox cannot be written: no 200
        connection.execute(text("ALTER TABLE telegram_inbox RENAME TO telegram_inbox_away"))
    try:
        answer = client.post("/telegram", json=_update(7), headers={HEADER: SECRET})
        assert answer.status_code == 503
    finally:
        with engine.begin() as connection:
            connection.execute(text("ALTER TABLE telegram_inbox_away RENAME TO telegram_inbox"))
    for _ in range(2):  # Telegram sends it again; a second instance gets it too
        answer = client.post("/telegram", json=_update(7), headers={HEADER: SECRET})
        assert answer.status_code == 200 and answer.json() == {"ok": True}
    [row] = inbox.unhandled()
    assert row.update_id == 7 and row.payload["message"]["text"] == "Webinar, 2 hours"


def test_there_is_no_webhook_route_without_a_webhook(engine: Engine, tmp_path: Path) -> None:
    service = make_service(engine, tmp_path / "evidence", Clock())
    config = WebConfig(host="127.0.0.1", port=0, base_url="http://x", secret_key="k" * 48)
    server = ServerThread(create_app(service, config))
    try:
        with httpx.Client(base_url=server.url) as client:
            answer = client.post("/telegram", json=_update(8), headers={HEADER: ""})
            assert answer.status_code in (404, 405)
    finally:
        server.close()
    assert TelegramInbox(engine).counts() == (0, 0)
