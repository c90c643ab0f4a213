"""Bounce state of members' mail addresses, and the product's own secrets (all their SQL).

A row of ``mail_bounce`` holds what delivery status notifications said about one member's
address; it counts only while that address is still the member's (``col(Member.email)``).
"""

from __future__ import annotations

import datetime as dt
import secrets

from sqlalchemy import Engine, delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col

from cpd.storage.database import transaction
from cpd.storage.models import AppSecret, MailBounce, Member

HARD_BOUNCES_TO_STOP = 2
"""Hard bounces after which an address counts as bouncing (no more mail goes to it)."""


def record(
    session: Session,
    member: Member,
    address: str,
    status: str,
    hard: bool,
    at: dt.datetime,
) -> MailBounce:
    """Count one bounce of ``address`` for ``member`` (in the caller's transaction).

    A row left from another address starts again from nothing."""
    address = address.lower()
    assert member.id is not None
    row = session.get(MailBounce, member.id)
    if row is None or row.address != address:
        if row is not None:
            session.delete(row)
            session.flush()
        row = MailBounce(member_id=member.id, address=address)
        session.add(row)
    if hard:
        row.hard_bounces += 1
    else:
        row.soft_bounces += 1
    row.last_status = status[:32]
    row.last_bounce_at = at
    row.bouncing = row.bouncing or row.hard_bounces >= HARD_BOUNCES_TO_STOP
    session.flush()
    return row


def clear(session: Session, member_id: int) -> None:
    """Forget the bounce state of a member (their address changed)."""
    session.execute(delete(MailBounce).where(col(MailBounce.member_id) == member_id))


def state(session: Session, member: Member) -> MailBounce | None:
    """The bounce state of the member's current address, or None."""
    row = session.get(MailBounce, member.id)
    if row is None or not member.email or row.address != member.email.lower():
        return None
    return row


def bouncing_addresses(engine: Engine) -> set[str]:
    """Addresses (lower-case) that bounce and are still some member's address."""
    query = (
        select(col(MailBounce.address))
        .join(Member, col(Member.id) == col(MailBounce.member_id))
        .where(
            col(MailBounce.bouncing).is_(True),
            func.lower(col(Member.email)) == col(MailBounce.address),
        )
    )
    with engine.connect() as connection:
        return {row[0] for row in connection.execute(query)}


def bouncing_members(engine: Engine) -> list[tuple[Member, MailBounce]]:
    """Members whose current address bounces, by membership number."""
    query = (
        select(Member, MailBounce)
        .join(MailBounce, col(MailBounce.member_id) == col(Member.id))
        .where(
            col(MailBounce.bouncing).is_(True),
            func.lower(col(Member.email)) == col(MailBounce.address),
        )
        .order_by(col(Member.membership_no))
    )
    with Session(engine, expire_on_commit=False) as session:
        return [(member, bounce) for member, bounce in session.execute(query).all()]


def secret(engine: Engine, name: str) -> str:
    """The secret called ``name``, made (256 random bits, hex) the first time it is asked for.

    Two processes asking at once agree: the loser of the insert reads the winner's."""
    with Session(engine) as session:
        row = session.get(AppSecret, name)
        if row is not None:
            return row.value
    try:
        with transaction(engine) as session:
            session.add(AppSecret(name=name, value=secrets.token_hex(32)))
    except IntegrityError:
        pass
    with Session(engine) as session:
        row = session.get(AppSecret, name)
        assert row is not None
        return row.value
