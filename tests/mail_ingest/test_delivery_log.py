"""The writer thread that records accepted mail: in order, grouped, and failing loudly."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest

from cpd.claims.notifications import Notification
from cpd.mail_ingest.delivery_log import DeliveryRecorder, RecordingFailed


def note(number: int) -> Notification:
    return Notification(number, "email", "a@example.com", "reminder", {}, 0)


def test_every_acceptance_is_recorded_once_in_order_and_flush_waits_for_it() -> None:
    recorded: list[list[int]] = []

    def record(batch: Sequence[Notification]) -> None:
        recorded.append([n.id for n in batch])

    recorder = DeliveryRecorder(record, max_unrecorded=5)

    async def go() -> None:
        for number in range(1, 101):
            await recorder.add(note(number))
        await recorder.flush()

    asyncio.run(go())
    recorder.stop()
    assert [i for batch in recorded for i in batch] == list(range(1, 101))
    assert len(recorded) < 100  # grouped: fewer transactions than mails
    assert max(len(batch) for batch in recorded) <= 6


def test_a_recording_that_keeps_failing_stops_the_sender() -> None:
    def record(batch: Sequence[Notification]) -> None:
        raise OSError("disk full")

    recorder = DeliveryRecorder(record, tries=2)

    async def go() -> None:
        await recorder.add(note(1))
        await recorder.flush()

    with pytest.raises(RecordingFailed, match="disk full"):
        asyncio.run(go())
    recorder.stop()
