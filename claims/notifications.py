"""Notifications: the only writer of the outbox in claims/ (:func:`queue`, :func:`tell`), and
for the channels' senders what is due in it, and nudge texts.

Senders (the bot, the mail sender) never read the database: they ask this module for due
notifications, deliver them, and report back.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from cpd import rules
from cpd.claims import recipients
from cpd.claims.texts import amount, long_date
from cpd.rules.values import number
from cpd.storage import Engine, Session, models
from cpd.storage import outbox as store

MAX_ATTEMPTS = 50


@dataclass(frozen=True, slots=True)
class Notification:
    """One message to deliver."""

    id: int
    channel: str
    recipient: str
    template: str
    payload: dict[str, Any]
    attempts: int
    lease_owner: str | None = None  # PostgreSQL: the instance it is leased to


def due(
    engine: Engine,
    channel: str,
    limit: int = 50,
    held: tuple[str, ...] = (),
    after_id: int | None = None,
    owner: str | None = None,
    lease: dt.timedelta = store.DEFAULT_LEASE,
) -> list[Notification]:
    """Notifications for ``channel`` that are due now, oldest first (templates ``held``
    wait: Telegram reminders in quiet hours; only after ``after_id`` when given). On
    PostgreSQL they are leased to ``owner`` for ``lease``: no other instance gets them."""
    return [
        Notification(
            _id(m), m.channel, m.recipient, m.template, dict(m.payload), m.attempts, m.lease_owner
        )
        for m in store.due(
            engine, channel, limit, held_templates=held, after_id=after_id, owner=owner, lease=lease
        )
    ]


def delivered(engine: Engine, notification: Notification) -> None:
    """Record a delivery (of a leased notification, only while the lease is this one's)."""
    store.mark_sent(engine, notification.id, notification.lease_owner)


def delivered_all(engine: Engine, batch: Sequence[Notification]) -> None:
    """Record several deliveries in one transaction."""
    for owner in {n.lease_owner for n in batch}:
        store.mark_sent_many(engine, [n.id for n in batch if n.lease_owner == owner], owner)


def _id(message: models.OutboxMessage) -> int:
    assert message.id is not None  # rows read from the database
    return message.id


def queue(
    session: Session,
    dedup_key: str,
    channel: str,
    recipient: str,
    template: str,
    payload: dict[str, Any],
    not_before: dt.datetime | None = None,
) -> bool:
    """Queue a notification in the caller's transaction: the only writer of the outbox in
    claims/ (a repeated ``dedup_key`` adds nothing; True when it was added). ``recipient`` is
    a role (:mod:`cpd.claims.recipients`), never a chat id or a mail address."""
    if not recipients.is_role(recipient):
        raise ValueError(f"an outbox recipient must be a role, not {recipient[:40]!r}")
    return store.enqueue(session, dedup_key, channel, recipient, template, payload, not_before)


def channel_for(member: models.Member) -> str | None:
    """Where ``tell`` reaches a member: ``telegram`` when linked, else ``email``, else None."""
    if member.telegram_user_id is not None:
        return "telegram"
    return "email" if member.email else None


def tell(
    session: Session,
    member: models.Member,
    key: str,
    text: str,
    subject: str = "Your CPD record",
    template: str = "notice",
) -> bool:
    """Queue a message to a member: in Telegram when linked, else by mail. False if neither."""
    if member.telegram_user_id is not None:
        queue(
            session,
            f"{key}:telegram",
            "telegram",
            recipients.member(member),
            "message",
            {"text": text},
        )
        return True
    if member.email:
        queue(
            session,
            f"{key}:email",
            "email",
            recipients.member(member),
            template,
            {"text": text, "subject": subject},
        )
        return True
    return False


def delivered_in(session: Session, notification: Notification) -> None:
    """Record a delivery inside the caller's transaction."""
    store.mark_sent_in(session, notification.id, notification.lease_owner)


def failed(
    engine: Engine,
    notification: Notification,
    error: str,
    retry_after: float | None = None,
    permanent: bool = False,
    channel_down: bool = False,
    backoff: float = 1.0,
) -> dt.datetime:
    """Record a failed attempt; the notification is retried later unless ``permanent``
    (after ``backoff`` seconds, doubled for each earlier attempt).

    Failures of this message give up after MAX_ATTEMPTS; failures of the channel itself
    (``channel_down``: the relay or Telegram unreachable, a 429) never do: an outage delays
    messages, it does not lose them.
    """
    give_up = permanent or (not channel_down and notification.attempts + 1 >= MAX_ATTEMPTS)
    return store.mark_failed(
        engine,
        notification.id,
        error,
        notification.attempts,
        retry_after,
        give_up,
        notification.lease_owner,
        backoff,
    )


def waiting(engine: Engine, channel: str | None = None) -> int:
    """How many notifications are still waiting."""
    return store.pending_count(engine, channel)


def pace(remaining: float, deadline: dt.date, today: dt.date, unit: str) -> str:
    """ "about one every 3 weeks" / "about 2 a week" for what is left before the deadline."""
    weeks = max((deadline - today).days, 1) / 7
    if remaining <= 0:
        return ""
    per_week = remaining / weeks
    singular = amount(1, unit).split(" ", 1)[1]
    if per_week < 1:
        every = max(1, round(1 / per_week))
        return f"about one {singular} " + ("a week" if every == 1 else f"every {every} weeks")
    return f"about {math.ceil(per_week)} a week"


def nudge_text(
    scheme: rules.Scheme, evaluation: rules.Evaluation, today: dt.date, claims_this_period: int
) -> str:
    """The weekly progress message for one member."""
    deadline = evaluation.period_end
    days_left = (deadline - today).days
    if scheme.diploma is not None and evaluation.diploma is not None:
        d = evaluation.diploma
        return (
            f"CPD diploma: {d.counted} of {number(evaluation.target)} reflected "
            f"activities over {len(d.categories)} of {scheme.diploma.min_categories} "
            "categories. Keep adding activities with a reflection."
        )
    remaining = amount(evaluation.remaining, scheme.unit)
    text = (
        f"CPD progress: {amount(evaluation.total, scheme.unit)} of "
        f"{number(evaluation.target)}. {remaining} to go by {long_date(deadline)} "
        f"({days_left} days): {pace(evaluation.remaining, deadline, today, scheme.unit)}."
    )
    if claims_this_period == 0:
        text += (
            f" You have made no claim this period: it is your duty as a member to reach "
            f"the target by {long_date(deadline)}."
        )
    return text
