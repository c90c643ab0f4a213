"""The body's own events (``cpd events import``), for auto-approval: added once per (scheme,
day, title), looked up by scheme and day."""

from __future__ import annotations

import datetime as dt

from sqlmodel import Session, col, select

from cpd.storage.models import BodyEvent
from cpd.storage.upsert import insert_ignore


def add(session: Session, event: BodyEvent) -> bool:
    """Add an event unless the scheme has one with this day and title; True when added."""
    return insert_ignore(session, event, ["scheme", "day", "title"])


def on_day(session: Session, scheme: str, day: dt.date) -> list[BodyEvent]:
    """The scheme's events on ``day``, in id order."""
    query = (
        select(BodyEvent)
        .where(col(BodyEvent.scheme) == scheme, col(BodyEvent.day) == day)
        .order_by(col(BodyEvent.id))
    )
    return list(session.exec(query))
