"""Recording the relay's acceptances without holding up the next mail.

The sender hands each accepted notification to :class:`DeliveryRecorder`, whose one thread
records it (``ClaimsService.delivered_all``) while the next mail is on the wire. When the
thread falls behind, or within ``GATHER_SECONDS``, whatever has queued up is recorded in one
transaction. At most
``max_unrecorded`` acceptances wait unrecorded (the sender waits beyond that), which bounds
what a crash could send twice; in steady state the queue is empty before the next ``250``.
A recording that fails ``tries`` times stops the sender (``RecordingFailed``): sending on
without recording would send the same mail again later.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence

from cpd.claims.notifications import Notification

log = logging.getLogger(__name__)

MAX_UNRECORDED = 20
TRIES = 3
GATHER_SECONDS = 0.02
"""How long the thread lets acceptances gather before it records them (a few mails at the
rates a relay takes; one commit for them instead of one each)."""


class RecordingFailed(RuntimeError):
    """Accepted mail could not be recorded as delivered."""


class DeliveryRecorder:
    """One writer thread that records deliveries in order; ``await flush()`` waits for it."""

    def __init__(
        self,
        record: Callable[[Sequence[Notification]], None],
        max_unrecorded: int = MAX_UNRECORDED,
        tries: int = TRIES,
    ) -> None:
        self.record = record
        self.max_unrecorded = max(1, max_unrecorded)
        self.tries = max(1, tries)
        self._queue: queue.SimpleQueue[Notification | None] = queue.SimpleQueue()
        self._pending = 0
        self._lock = threading.Lock()
        self._idle = threading.Event()
        self._idle.set()
        self._error: BaseException | None = None
        self._thread: threading.Thread | None = None

    def _start(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(target=self._run, name="mail-delivered", daemon=True)
            self._thread.start()

    async def add(self, notification: Notification) -> None:
        """Queue one acceptance for recording (waits while too many are unrecorded)."""
        self._raise()
        with self._lock:
            self._pending += 1
            self._idle.clear()
            over = self._pending > self.max_unrecorded
        self._start()
        self._queue.put(notification)
        if over:
            await self.flush()

    async def flush(self) -> None:
        """Wait until every acceptance handed over is recorded; raise RecordingFailed if not."""
        if not self._idle.is_set():
            await asyncio.to_thread(self._idle.wait)
        self._raise()

    def stop(self) -> None:
        """End the thread (after what is queued)."""
        if self._thread is not None and self._thread.is_alive():
            self._queue.put(None)
            self._thread.join(timeout=30)
        self._thread = None

    def _raise(self) -> None:
        if self._error is not None:
            error, self._error = self._error, None
            raise RecordingFailed(f"could not record delivered mail: {error}") from error

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            batch = [first]
            time.sleep(GATHER_SECONDS)
            while True:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    self._queue.put(None)
                    break
                batch.append(item)
            self._record(batch)
            with self._lock:
                self._pending -= len(batch)
                if self._pending == 0:
                    self._idle.set()

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
