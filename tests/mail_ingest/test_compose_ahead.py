"""The next mail is composed while the current one is on the wire (``compose_ahead``)."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterator

import pytest

from cpd.claims.notifications import Notification
from cpd.claims.service import ClaimsService
from cpd.mail_ingest.compose_ahead import AheadComposer, Composed
from tests.mail_ingest.support_servers import RelaySink
from tests.mail_ingest.test_reminder_delivery import deliver, queue_many, rows, sender


@pytest.fixture
def relay() -> Iterator[RelaySink]:
    with RelaySink.running() as sink:
        yield sink


def note(number: int) -> Notification:
    return Notification(number, "email", f"m{number}@example.com", "reminder", {}, 0)


def test_each_reminder_is_composed_once_and_the_ones_composed_ahead_go_to_their_own_rows(
    service: ClaimsService, relay: RelaySink
) -> None:
    queue_many(service, 7)
    mail_sender = sender(service, relay, batch_size=3)
    composed: Counter[int] = Counter()
    ahead = 0
    compose, compose_ahead = mail_sender.composer.compose, mail_sender.composer._compose

    def counted(notification: Notification) -> Composed:
        composed[notification.id] += 1
        return compose(notification)

    def counted_ahead(notification: Notification) -> None:
        nonlocal ahead
        ahead += 1
        compose_ahead(notification)

    mail_sender.composer.compose = counted
    mail_sender.composer._compose = counted_ahead  # type: ignore[method-assign]
    assert deliver(mail_sender) == 7
    assert sorted(composed.values()) == [1] * 7
    assert ahead == 4  # all but the first of each batch of 3 (3 + 3 + 1)
    by_recipient = {r.recipient: r.id for r in rows(service)}
    assert len(relay.delivered) == 7 and all(r.status == "sent" for r in rows(service))
    for mail in relay.delivered:
        [recipient] = mail.rcpt_tos
        assert mail.message["To"] == recipient
        assert f"cpd-reminder.{by_recipient[recipient]}." in mail.message["Message-ID"]


def test_what_was_composed_ahead_is_forgotten_at_the_end_of_a_batch() -> None:
    made: list[int] = []

    def compose(notification: Notification) -> Composed:
        made.append(notification.id)
        if notification.id == 3:
            raise ValueError("not a mail address")
        return b"mail", "cpd@example.org"

    composer = AheadComposer(compose)

    async def go() -> None:
        composer.ahead(note(1))
        composer.clear()  # before the loop got to it: never composed
        await asyncio.sleep(0)
        assert made == []
        composer.ahead(note(2))
        await asyncio.sleep(0)
        assert made == [2]
        composer.clear()
        assert composer.take(note(2)) == (b"mail", "cpd@example.org")  # composed again
        assert made == [2, 2]
        composer.ahead(note(3))
        await asyncio.sleep(0)
        with pytest.raises(ValueError, match="not a mail address"):
            composer.take(note(3))  # raised where the mail is taken
        composer.ahead(note(4))
        await asyncio.sleep(0)
        assert composer.take(note(5)) == (b"mail", "cpd@example.org")  # not 4's mail
        assert made == [2, 2, 3, 4, 5]

    asyncio.run(go())
