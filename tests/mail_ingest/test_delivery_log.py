"""The writer thread that records accepted mail: in order, grouped, and failing loudly."""

from __future__ import annotations

import asyncio
import threading
import time
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


def test_fewer_than_the_bound_are_ever_unrecorded_when_add_returns() -> None:
    """The crash guarantee: a slow recording holds the sender back rather than letting
    acceptances pile up (a SIGKILL while the next mail is sent resends at most the bound)."""
    recorded: list[int] = []

    def record(batch: Sequence[Notification]) -> None:
        time.sleep(0.01)  # far slower than the sender
        recorded.extend(n.id for n in batch)

    recorder = DeliveryRecorder(record, max_unrecorded=6)
    seen: list[int] = []

    async def go() -> None:
        for number in range(1, 61):
            await recorder.add(note(number))
            seen.append(number - len(recorded))  # accepted so far minus recorded so far
        await recorder.flush()

    asyncio.run(go())
    recorder.stop()
    assert recorded == list(range(1, 61))
    assert max(seen) <= 5 and max(seen) >= 3  # the bound held, and was reached (it waited)


def test_a_full_group_is_recorded_without_a_flush_and_a_flush_hands_over_the_rest() -> None:
    recorded: list[list[int]] = []
    done = threading.Event()

    def record(batch: Sequence[Notification]) -> None:
        recorded.append([n.id for n in batch])
        done.set()

    recorder = DeliveryRecorder(record, max_unrecorded=20)
    assert recorder.group == 10

    async def go() -> None:
        for number in range(1, 13):
            await recorder.add(note(number))
        assert done.wait(5), "a full group was not recorded"
        assert recorder.unrecorded == 2  # 11 and 12 are held for the next group
        await recorder.flush()
        assert recorder.unrecorded == 0

    asyncio.run(go())
    recorder.stop()
    assert recorded == [list(range(1, 11)), [11, 12]]
