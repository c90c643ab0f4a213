"""Composing the next mail while the current one is on the wire.

The sender's loop spends most of each mail waiting for the relay's four replies. Composing
the next mail is scheduled (``loop.call_soon``) just before the current one is sent, so it
runs in the first of those waits, on the loop's own thread: no other thread, no GIL handed
over. A mail composed ahead is used only for the notification it was composed for, within
the same batch (``clear`` at the end of each: a mail left over would carry a stale Date).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from email.message import EmailMessage

from cpd.claims.notifications import Notification

Composed = tuple[EmailMessage | bytes, str]
"""The mail for the relay and its envelope sender."""


class AheadComposer:
    """One mail composed ahead (what ``compose`` raised is raised by ``take``)."""

    def __init__(self, compose: Callable[[Notification], Composed]) -> None:
        self.compose = compose
        self._slot: tuple[int, Composed | None, Exception | None] | None = None
        self._pending: asyncio.Handle | None = None

    def ahead(self, notification: Notification) -> None:
        """Compose ``notification`` at the loop's next idle moment."""
        self._pending = asyncio.get_running_loop().call_soon(self._compose, notification)

    def take(self, notification: Notification) -> Composed:
        """The mail for ``notification``: the one composed ahead, else composed now."""
        slot, self._slot = self._slot, None
        if slot is None or slot[0] != notification.id:
            return self.compose(notification)
        _, composed, error = slot
        if error is not None:
            raise error
        assert composed is not None
        return composed

    def clear(self) -> None:
        """Forget what was composed ahead, or is about to be (the end of a batch)."""
        if self._pending is not None:
            self._pending.cancel()
        self._slot = self._pending = None

    def _compose(self, notification: Notification) -> None:
        self._pending = None
        try:
            self._slot = (notification.id, self.compose(notification), None)
        except Exception as exc:  # raised where the mail is taken, as if composed then
            self._slot = (notification.id, None, exc)
