"""Queries behind the mail channel's verdicts and caps (issue 10): held claims, counts."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select
from sqlmodel import Session, col

from cpd.storage.models import Claim, MailHold, OutboxMessage


def add_hold(
    session: Session, claim_id: int, secret_sha256: str | None, expires_at: dt.datetime
) -> MailHold:
    """Record a held claim (in the caller's transaction)."""
    hold = MailHold(claim_id=claim_id, secret_sha256=secret_sha256, expires_at=expires_at)
    session.add(hold)
    session.flush()
    return hold


def hold_by_secret(session: Session, secret_sha256: str) -> MailHold | None:
    """The hold whose secret has this digest, locked for update where the database can."""
    return session.execute(
        select(MailHold).where(col(MailHold.secret_sha256) == secret_sha256).with_for_update()
    ).scalar_one_or_none()


def hold_of_claim(session: Session, claim_id: int) -> MailHold | None:
    """The hold of a claim, if it was ever held."""
    return session.execute(
        select(MailHold).where(col(MailHold.claim_id) == claim_id)
    ).scalar_one_or_none()


def expired_holds(session: Session, now: dt.datetime, limit: int = 500) -> list[Claim]:
    """Claims still ``unverified`` whose hold ended before ``now``, oldest first."""
    return list(
        session.execute(
            select(Claim)
            .join(MailHold, col(MailHold.claim_id) == col(Claim.id))
            .where(
                col(Claim.status) == "unverified",
                col(MailHold.used_at).is_(None),
                col(MailHold.expires_at) < now,
            )
            .order_by(col(MailHold.expires_at))
            .limit(limit)
        ).scalars()
    )


def mail_claims_since(session: Session, member_id: int, since: dt.datetime) -> int:
    """How many claims by mail the member made since ``since`` (by their ``created_at``)."""
    return int(
        session.execute(
            select(func.count())
            .select_from(Claim)
            .where(
                col(Claim.member_id) == member_id,
                col(Claim.channel) == "email",
                col(Claim.created_at) >= since,
            )
        ).scalar_one()
    )


def outbox_count_like(session: Session, pattern: str) -> int:
    """How many outbox rows have a dedup key matching the SQL LIKE ``pattern``."""
    return int(
        session.execute(
            select(func.count())
            .select_from(OutboxMessage)
            .where(col(OutboxMessage.dedup_key).like(pattern))
        ).scalar_one()
    )
