"""A claim by mail that could not be verified is confirmed with a Telegram button (end to end).

`cpd run` with the bot on the fake Bot API and the SMTP listener verifying senders against
a local DNS server that publishes nothing for example.com: Jane's mail gives ``none``, the
claim is held, and because she is linked she gets a message with a Confirm button
(``u:<claim_id>:ok``). Tapping it sends the claim to the secretaries' chat.
"""

from __future__ import annotations

import smtplib
import sqlite3
import time

from tests.bot.conftest import SECRETARY_CHAT, USERS, BotWorld
from tests.mail_ingest.support_servers import free_port
from tests.support.dns_server import LocalDNS

JANE = USERS["M1"]
MAIL = (
    b"From: Jane Surveyor <jane@example.com>\r\nTo: claims@example.com\r\n"
    b"Subject: CPD\r\nMessage-ID: <held-1@example.com>\r\n\r\n"
    b"Course on hull surveys yesterday, 3 hours\r\n"
)


def _status(world: BotWorld) -> list[str]:
    with sqlite3.connect(world.data_dir / "cpd.sqlite3") as db:
        return [row[0] for row in db.execute("SELECT status FROM claim ORDER BY id")]


def test_a_held_claim_is_confirmed_with_the_telegram_button(
    world: BotWorld, local_dns: LocalDNS
) -> None:
    port = free_port()
    host, dns_port = local_dns.address
    world.env.update(
        {
            "CPD_SMTP_LISTEN": f"127.0.0.1:{port}",
            "CPD_MAIL_AUTH": "verify",
            "CPD_DNS_SERVERS": f"{host}:{dns_port}",
        }
    )
    world.start()
    world.link("M1")
    mark = len(world.server.sent)
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as client:
        client.sendmail("jane@example.com", ["claims@example.com"], MAIL)
    ask = world.expect(JANE, "could not be verified", after=mark, timeout=30)
    deadline = time.monotonic() + 10
    while _status(world) != ["unverified"] and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _status(world) == ["unverified"]
    data = world.button(ask, "Confirm")
    assert data.startswith("u:") and data.endswith(":ok")
    mark = len(world.server.sent)
    world.server.press_button(JANE, ask.message_id, data)
    world.expect(SECRETARY_CHAT, "Mail sender: not verifiable (none) for example.com", after=mark)
    assert _status(world) == ["pending"]
    world.stop()
