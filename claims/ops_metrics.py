"""What ``/metrics`` reports, as plain values: read from the database at scrape time (so every
instance on one database reports the same truth), plus the few counts that only live in a
process (mail refused at SMTP time, before anything is stored).

Channels count here (:func:`smtp_refused`); the web channel turns a :class:`Snapshot` into
Prometheus metrics.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections import Counter
from dataclasses import dataclass

from cpd.storage import Engine
from cpd.storage.web_ops import OutboxCounts, claim_counts, outbox_counts, processed_counts

MAIL_CHANNEL = "email"
REFUSED_MAIL = frozenset(
    {"refused", "impersonation", "unknown_sender", "not_a_member", "unsubscribe_invalid"}
)
"""Stored outcomes of an inbound mail that was turned away (a failed sender check, a stranger,
a forged unsubscribe); every other outcome (a claim filed or held, a reply, a bounce, a mute)
counts as accepted."""

_lock = threading.Lock()
_smtp_refused: Counter[str] = Counter()


def smtp_refused(reason: str) -> None:
    """Count one mail refused at SMTP time in this process (``reason``: a short word)."""
    with _lock:
        _smtp_refused[reason] += 1


def smtp_refusals() -> dict[str, int]:
    """Mail refused at SMTP time by this process, by reason, since it started."""
    with _lock:
        return dict(_smtp_refused)


@dataclass(frozen=True, slots=True)
class Snapshot:
    """The database's counts at one moment."""

    at: dt.datetime
    claims: list[tuple[str, str, int]]
    outbox: list[OutboxCounts]
    inbound_mail: list[tuple[str, int]]
    smtp_refused: dict[str, int]

    def mail_result(self, outcome: str) -> str:
        """``accepted`` or ``refused`` for an inbound mail's stored outcome."""
        return "refused" if outcome in REFUSED_MAIL else "accepted"


def snapshot(engine: Engine, now: dt.datetime) -> Snapshot:
    """Counts by ``GROUP BY`` queries (no rows loaded): claims by status and channel, the
    outbox by channel, inbound mail by outcome."""
    return Snapshot(
        at=now,
        claims=claim_counts(engine),
        outbox=outbox_counts(engine),
        inbound_mail=processed_counts(engine, MAIL_CHANNEL),
        smtp_refused=smtp_refusals(),
    )
