"""Recording the relay's acceptances without holding up the next mail.

The sender hands each accepted notification to :class:`DeliveryRecorder`. Acceptances are
held on the event loop in groups of ``group`` (half of ``max_unrecorded`` by default); a full
group goes to the recorder's one thread, which records it (``ClaimsService.delivered_all``,
one transaction; groups that queued up meanwhile go in the same one) while the next mails are
on the wire. Handing over per group rather than per mail wakes the thread once per group: each
wake-up takes the GIL from the loop, and the loop needs it back each time the relay answers.

Crash guarantee: when :meth:`DeliveryRecorder.add` returns, fewer than ``max_unrecorded``
acceptances are unrecorded (held or in the thread); the sender waits for the thread
otherwise. So a SIGKILL while the next mail is on the wire leaves at most ``max_unrecorded``
accepted mails unrecorded, which the next run sends again. ``flush()`` (end of a batch,
before a pause of the pacer) hands over what is held and waits until everything is recorded.
A recording that fails ``tries`` times stops the sender (``RecordingFailed``): sending on
without recording would send the same mail again later.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence

from cpd.claims.notifications import Notification

log = logging.getLogger(__name__)

MAX_UNRECORDED = 20
"""Most accepted mails a crash can leave unrecorded (sent again after a restart)."""
TRIES = 3


class RecordingFailed(RuntimeError):
    """Accepted mail could not be recorded as delivered."""


class DeliveryRecorder:
    """One writer thread that records deliveries in order; ``await flush()`` waits for it."""

    def __init__(
        self,
        record: Callable[[Sequence[Notification]], None],
        max_unrecorded: int = MAX_UNRECORDED,
        tries: int = TRIES,
        group: int | None = None,
    ) -> None:
        self.record = record
        self.max_unrecorded = max(1, max_unrecorded)
        self.tries = max(1, tries)
        self.group = max(1, min(group or self.max_unrecorded // 2, self.max_unrecorded))
        self._held: list[Notification] = []
        self._queue: queue.SimpleQueue[list[Notification] | None] = queue.SimpleQueue()
        self._handed = 0
        """Handed to the thread and not yet recorded (under ``_lock``)."""
        self._lock = threading.Lock()
        self._waiter: tuple[asyncio.AbstractEventLoop, asyncio.Future[None]] | None = None
        self._error: BaseException | None = None
        self._thread: threading.Thread | None = None
        self.transactions = 0
        """Recordings made so far (one transaction each)."""

    @property
    def unrecorded(self) -> int:
        """Acceptances not yet recorded (held here or in the thread)."""
        with self._lock:
            return self._handed + len(self._held)

    async def add(self, notification: Notification) -> None:
        """Note one acceptance (a full group goes to the thread); waits while
        ``max_unrecorded`` acceptances are unrecorded."""
        self._raise()
        self._held.append(notification)
        if len(self._held) >= self.group:
            self.hand_over()
        await self._wait(self.max_unrecorded - 1)

    def hand_over(self) -> None:
        """Give the held acceptances to the thread now (before an idle moment)."""
        if not self._held:
            return
        batch, self._held = self._held, []
        with self._lock:
            self._handed += len(batch)
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(target=self._run, name="mail-delivered", daemon=True)
            self._thread.start()
        self._queue.put(batch)

    async def flush(self) -> None:
        """Wait until every acceptance handed over is recorded; raise RecordingFailed if not."""
        self.hand_over()
        await self._wait(0)

    def stop(self) -> None:
        """End the thread (after what is queued)."""
        if self._thread is not None and self._thread.is_alive():
            self._queue.put(None)
            self._thread.join(timeout=30)
        self._thread = None

    async def _wait(self, most: int) -> None:
        """Return once at most ``most`` acceptances are unrecorded."""
        while True:
            self._raise()
            with self._lock:
                if self._handed + len(self._held) <= most:
                    return
                loop = asyncio.get_running_loop()
                waiter: asyncio.Future[None] = loop.create_future()
                self._waiter = (loop, waiter)
            await waiter

    def _raise(self) -> None:
        if self._error is not None:
            error, self._error = self._error, None
            raise RecordingFailed(f"could not record delivered mail: {error}") from error

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            batch = list(first)
            while True:  # groups that queued up while the last one was recorded: one commit
                try:
                    more = self._queue.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    self._queue.put(None)
                    break
                batch.extend(more)
            self._record(batch)
            self.transactions += 1
            with self._lock:
                self._handed -= len(batch)
                waiter, self._waiter = self._waiter, None
            if waiter is not None:
                loop, future = waiter
                with contextlib.suppress(RuntimeError):  # a closed loop: nobody waits any more
                    loop.call_soon_threadsafe(_wake, future)

    def _record(self, batch: list[Notification]) -> None:
        for attempt in range(1, self.tries + 1):
            try:
                self.record(batch)
                return
            except Exception as exc:
                if attempt == self.tries:
                    log.error("could not record %d delivered mail(s): %s", len(batch), exc)
                    self._error = exc
                    return
                log.warning("could not record %d delivered mail(s); retrying", len(batch))
                time.sleep(0.2 * attempt)


def _wake(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)
