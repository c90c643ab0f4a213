"""What the web channel's operations need from the database: counted asks for a mailed
sign-in link, the aggregate counts ``/metrics`` reports, and a secret adopted from a file.
All SQL for it lives here; every count is a ``GROUP BY``, never rows loaded."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Engine, delete, func, select
from sqlmodel import Session, col

from cpd.storage.models import AppSecret, Claim, OutboxMessage, ProcessedMessage, WebSigninAttempt
from cpd.storage.upsert import insert_ignore


def count_attempts(
    session: Session, keys: Sequence[str], now: dt.datetime, window: dt.timedelta
) -> dict[str, int]:
    """Record one attempt under each key (in the caller's transaction), forget attempts older
    than ``window``, and return how many each key has inside it, this one included.

    Inserting before counting means two asks at once both see both: a limit is never passed
    by racing it."""
    since = now - window
    session.execute(delete(WebSigninAttempt).where(col(WebSigninAttempt.at) < since))
    for key in keys:
        session.add(WebSigninAttempt(key=key, at=now))
    session.flush()
    rows = session.execute(
        select(col(WebSigninAttempt.key), func.count())
        .where(col(WebSigninAttempt.key).in_(list(keys)), col(WebSigninAttempt.at) >= since)
        .group_by(col(WebSigninAttempt.key))
    ).all()
    counted = {str(key): int(n) for key, n in rows}
    return {key: counted.get(key, 0) for key in keys}


def adopt_secret(engine: Engine, name: str, value: str) -> str:
    """The secret called ``name``: ``value`` when none is stored yet (kept from now on), else
    the stored one (two processes adopting at once agree on the first)."""
    with Session(engine) as session, session.begin():
        insert_ignore(session, AppSecret(name=name, value=value), ["name"])
    with Session(engine) as session:
        row = session.get(AppSecret, name)
        assert row is not None
        return row.value


@dataclass(frozen=True, slots=True)
class OutboxCounts:
    """The outbox of one channel: messages by status, how many wait with a failed attempt
    behind them, and when the oldest waiting one was queued."""

    channel: str
    by_status: dict[str, int]
    retrying: int
    oldest_pending: dt.datetime | None


def claim_counts(engine: Engine) -> list[tuple[str, str, int]]:
    """``(status, channel, count)`` for every pair that has claims."""
    query = (
        select(col(Claim.status), col(Claim.channel), func.count())
        .group_by(col(Claim.status), col(Claim.channel))
        .order_by(col(Claim.status), col(Claim.channel))
    )
    with engine.connect() as connection:
        return [(str(s), str(c), int(n)) for s, c, n in connection.execute(query).all()]


def outbox_counts(engine: Engine) -> list[OutboxCounts]:
    """Per channel: messages by status, the retrying ones, and the oldest pending one's age."""
    pending = col(OutboxMessage.status) == "pending"
    by_status = select(
        col(OutboxMessage.channel), col(OutboxMessage.status), func.count()
    ).group_by(col(OutboxMessage.channel), col(OutboxMessage.status))
    waiting = (
        select(
            col(OutboxMessage.channel),
            func.min(col(OutboxMessage.created_at)),
            func.count().filter(col(OutboxMessage.attempts) > 0),
        )
        .where(pending)
        .group_by(col(OutboxMessage.channel))
    )
    found: dict[str, dict[str, int]] = {}
    oldest: dict[str, tuple[dt.datetime | None, int]] = {}
    with engine.connect() as connection:
        for channel, status, n in connection.execute(by_status).all():
            found.setdefault(str(channel), {})[str(status)] = int(n)
        for channel, earliest, failing in connection.execute(waiting).all():
            oldest[str(channel)] = (_aware(earliest), int(failing or 0))
    result = []
    for channel, statuses in sorted(found.items()):
        first, retrying = oldest.get(channel, (None, 0))
        result.append(OutboxCounts(channel, statuses, retrying, first))
    return result


def processed_counts(engine: Engine, channel: str) -> list[tuple[str, int]]:
    """``(outcome, count)`` of the messages of ``channel`` handled so far (kept as long as the
    retention keeps processed keys)."""
    query = (
        select(col(ProcessedMessage.outcome), func.count())
        .where(col(ProcessedMessage.channel) == channel)
        .group_by(col(ProcessedMessage.outcome))
        .order_by(col(ProcessedMessage.outcome))
    )
    with engine.connect() as connection:
        return [(str(o), int(n)) for o, n in connection.execute(query).all()]


def _aware(moment: dt.datetime | None) -> dt.datetime | None:
    if moment is None:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=dt.UTC)
