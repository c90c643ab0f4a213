"""Batches after batches with a slow recorder: the next batch is read past the mails still
being recorded, so none is sent twice, and everything is recorded when the run ends."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator, Sequence

import pytest

from cpd.claims.notifications import Notification
from cpd.claims.service import ClaimsService
from tests.mail_ingest.support_servers import RelaySink
from tests.mail_ingest.test_reminder_delivery import deliver, queue_many, rows, sender


@pytest.fixture
def relay() -> Iterator[RelaySink]:
    with RelaySink.running() as sink:
        yield sink


def test_full_batches_do_not_wait_for_the_recorder_yet_nothing_is_sent_twice(
    service: ClaimsService, relay: RelaySink
) -> None:
    queue_many(service, 25)
    mail_sender = sender(service, relay, batch_size=4)
    record = mail_sender.recorder.record
    unrecorded_at_batch_ends: list[int] = []
    deliver_due = mail_sender.deliver_due

    def slow(batch: Sequence[Notification]) -> None:
        time.sleep(0.05)
        record(batch)

    async def counted() -> int:
        sent = await deliver_due()
        unrecorded_at_batch_ends.append(mail_sender.recorder.unrecorded)
        return sent

    mail_sender.recorder.record = slow
    mail_sender.deliver_due = counted  # type: ignore[method-assign]
    assert deliver(mail_sender) == 25
    recipients = Counter(tuple(d.rcpt_tos) for d in relay.delivered)
    assert len(recipients) == 25 and set(recipients.values()) == {1}
    assert all(r.status == "sent" and r.attempts == 1 for r in rows(service))
    assert unrecorded_at_batch_ends[-1] == 0  # the last batch waited for its recording
    assert max(unrecorded_at_batch_ends) > 0  # the full ones did not
