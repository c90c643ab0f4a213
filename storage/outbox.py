"""The outbox: notifications written with their cause, delivered later with retry and backoff.

Several instances on PostgreSQL: :func:`due` with an ``owner`` claims the rows it returns
(``UPDATE ... WHERE id IN (SELECT ... FOR UPDATE SKIP LOCKED)``) with a lease, ``lease_owner``
until ``lease_until``; two senders never get the same row, and a row whose sender died is due
again once its lease ran out. Only the lease holder marks a leased row sent or failed (a
failure also ends the lease). SQLite keeps the plain read: one instance, no lease.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Sequence
from typing import Any

from sqlalchemy import Engine, Update, bindparam, func, or_, select, update
from sqlmodel import Session, col

from cpd.storage.models import OutboxMessage, utcnow
from cpd.storage.upsert import changed_rows, insert_ignore

MAX_BACKOFF = dt.timedelta(minutes=10)
DEDUP_KEY_LENGTH = 255  # the column's length: keys are stored and looked up truncated
DEFAULT_LEASE = dt.timedelta(minutes=2)


def enqueue(
    session: Session,
    dedup_key: str,
    channel: str,
    recipient: str,
    template: str,
    payload: dict[str, Any],
    not_before: dt.datetime | None = None,
) -> bool:
    """Add a notification in the caller's transaction; a repeated dedup_key adds nothing.

    ``not_before`` holds it back until then (quiet hours). True when a row was added."""
    message = OutboxMessage(
        dedup_key=dedup_key[:DEDUP_KEY_LENGTH],
        channel=channel,
        recipient=recipient,
        template=template,
        payload=payload,
    )
    if not_before is not None:
        message.next_attempt_at = not_before
    return insert_ignore(session, message, ["dedup_key"])


def queued(session: Session, dedup_keys: list[str]) -> set[str]:
    """Which of these dedup keys already have an outbox row (any status)."""
    if not dedup_keys:
        return set()
    stored = {key[:DEDUP_KEY_LENGTH] for key in dedup_keys}
    query = select(col(OutboxMessage.dedup_key)).where(col(OutboxMessage.dedup_key).in_(stored))
    found = set(session.execute(query).scalars())
    return {key for key in dedup_keys if key[:DEDUP_KEY_LENGTH] in found}


def due(
    engine: Engine,
    channel: str,
    limit: int = 50,
    now: dt.datetime | None = None,
    held_templates: Collection[str] = (),
    after_id: int | None = None,
    owner: str | None = None,
    lease: dt.timedelta = DEFAULT_LEASE,
) -> list[OutboxMessage]:
    """Pending notifications for ``channel`` whose next attempt is due, oldest first (those
    of ``held_templates`` left waiting; only those after ``after_id`` when given: the next
    batch while one is still being sent). On PostgreSQL with an ``owner``, they are leased
    to it for ``lease`` (rows leased to another instance are left out)."""
    now = now or utcnow()
    if owner is not None and engine.dialect.name == "postgresql":
        return _lease_due(engine, channel, limit, now, held_templates, after_id, owner, lease)
    query = select(OutboxMessage).where(
        col(OutboxMessage.channel) == channel,
        col(OutboxMessage.status) == "pending",
        col(OutboxMessage.next_attempt_at) <= now,
    )
    if held_templates:
        query = query.where(col(OutboxMessage.template).not_in(list(held_templates)))
    if after_id is not None:
        query = query.where(col(OutboxMessage.id) > after_id)
    with Session(engine, expire_on_commit=False) as session:
        return list(session.execute(query.order_by(col(OutboxMessage.id)).limit(limit)).scalars())


def _lease_due(
    engine: Engine,
    channel: str,
    limit: int,
    now: dt.datetime,
    held_templates: Collection[str],
    after_id: int | None,
    owner: str,
    lease: dt.timedelta,
) -> list[OutboxMessage]:
    """Claim up to ``limit`` due rows for ``owner`` (skipping rows another transaction is
    claiming) and return them, oldest first."""
    free = or_(  # unleased, lease run out, or already ours (a batch left after a relay fault)
        col(OutboxMessage.lease_until).is_(None),
        col(OutboxMessage.lease_until) < now,
        col(OutboxMessage.lease_owner) == owner,
    )
    chosen = select(col(OutboxMessage.id)).where(
        col(OutboxMessage.channel) == channel,
        col(OutboxMessage.status) == "pending",
        col(OutboxMessage.next_attempt_at) <= now,
        free,
    )
    if held_templates:
        chosen = chosen.where(col(OutboxMessage.template).not_in(list(held_templates)))
    if after_id is not None:
        chosen = chosen.where(col(OutboxMessage.id) > after_id)
    chosen = chosen.order_by(col(OutboxMessage.id)).limit(limit).with_for_update(skip_locked=True)
    claim = (
        update(OutboxMessage)
        .where(col(OutboxMessage.id).in_(chosen.scalar_subquery()))
        .values(lease_owner=owner, lease_until=now + lease)
        .returning(OutboxMessage)
        .execution_options(synchronize_session=False)
    )
    with Session(engine, expire_on_commit=False) as session:
        rows = list(session.execute(claim).scalars())
        session.commit()
    return sorted(rows, key=lambda m: m.id or 0)


_SENT = (
    update(OutboxMessage)
    .where(
        col(OutboxMessage.id).in_(bindparam("ids", expanding=True)),
        func.coalesce(col(OutboxMessage.status), "") == "pending",
    )
    .values(status="sent", sent_at=bindparam("now"), attempts=col(OutboxMessage.attempts) + 1)
)
"""Deliveries, looked up by primary key, in one statement. Built once (building a Core
statement costs more than running it). ``coalesce(status, '')`` (status is never NULL) keeps
the planner on the key: for a bare ``status = 'pending'`` SQLite, without statistics, chose
the ``ix_outbox_due`` index and scanned every pending row (2 ms for 20 ids with 20,000
pending, against 0.3 ms by key). One statement rather than one per id: each SQLite step
hands the GIL over, and the sender's loop waits for it when the relay answers."""

_SENT_BY = _SENT.where(col(OutboxMessage.lease_owner) == bindparam("owner"))
"""The same for rows leased to ``owner`` (PostgreSQL): a sender whose lease ran out and was
taken over records nothing."""


def _sent(message_id: int, owner: str | None) -> Update:
    statement = (
        update(OutboxMessage)
        .where(col(OutboxMessage.id) == message_id, col(OutboxMessage.status) == "pending")
        .values(status="sent", sent_at=utcnow(), attempts=col(OutboxMessage.attempts) + 1)
    )
    if owner is not None:
        statement = statement.where(col(OutboxMessage.lease_owner) == owner)
    return statement


def mark_sent(engine: Engine, message_id: int, owner: str | None = None) -> None:
    """Record a delivery (only a pending row changes, so a second call does nothing; a row
    leased with ``owner`` only by that owner)."""
    mark_sent_many(engine, [message_id], owner)


def mark_sent_many(engine: Engine, message_ids: Sequence[int], owner: str | None = None) -> None:
    """Record several deliveries in one transaction (each only if still pending, and leased
    to ``owner`` when one is given)."""
    if not message_ids:
        return
    with engine.begin() as connection:
        if owner is None:
            connection.execute(_SENT, {"ids": list(message_ids), "now": utcnow()})
        else:
            connection.execute(
                _SENT_BY, {"ids": list(message_ids), "now": utcnow(), "owner": owner}
            )


def mark_sent_in(session: Session, message_id: int, owner: str | None = None) -> None:
    """Record a delivery inside the caller's transaction."""
    session.execute(_sent(message_id, owner))


def mark_failed(
    engine: Engine,
    message_id: int,
    error: str,
    attempts: int,
    retry_after: float | None = None,
    give_up: bool = False,
    owner: str | None = None,
    backoff: float = 1.0,
) -> dt.datetime:
    """Record a failed attempt and when to try again: ``retry_after`` when the channel said,
    else ``backoff`` seconds doubled for each earlier attempt (capped at ten minutes); a row
    leased to ``owner`` only by that owner, and its lease ends."""
    delay = (
        dt.timedelta(seconds=retry_after)
        if retry_after
        else min(MAX_BACKOFF, dt.timedelta(seconds=backoff * 2 ** min(attempts, 10)))
    )
    next_at = utcnow() + delay
    statement = (
        update(OutboxMessage)
        .where(
            col(OutboxMessage.id) == message_id,
            col(OutboxMessage.status) == "pending",
        )
        .values(
            attempts=col(OutboxMessage.attempts) + 1,
            last_error=error[:500],
            next_attempt_at=next_at,
            status="dead" if give_up else "pending",
            lease_until=None,
        )
    )
    if owner is not None:
        statement = statement.where(col(OutboxMessage.lease_owner) == owner)
    with engine.begin() as connection:
        connection.execute(statement)
    return next_at


def pending_count(engine: Engine, channel: str | None = None) -> int:
    """How many notifications wait for delivery."""
    query = select(col(OutboxMessage.id)).where(col(OutboxMessage.status) == "pending")
    if channel:
        query = query.where(col(OutboxMessage.channel) == channel)
    with engine.connect() as connection:
        return len(connection.execute(query).all())


def replace_pending_payload(session: Session, dedup_key: str, payload: dict[str, Any]) -> bool:
    """Give a notification that is still waiting for delivery a new payload (in the caller's
    transaction); False when there is none waiting under ``dedup_key``."""
    changed = changed_rows(
        session,
        update(OutboxMessage)
        .where(
            col(OutboxMessage.dedup_key) == dedup_key[:DEDUP_KEY_LENGTH],
            col(OutboxMessage.status) == "pending",
        )
        .values(payload=payload),
    )
    return bool(changed)
