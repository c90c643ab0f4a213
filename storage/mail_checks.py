"""Queries behind the mail channel's verdicts and caps (issue 10): held claims, counts."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select
from sqlmodel import Session

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
    return session.exec(  # type: ignore[call-overload]
        select(MailHold).where(MailHold.secret_sha256 == secret_sha256).with_for_update()
    ).scalar_one_or_none()


def hold_of_claim(session: Session, claim_id: int) -> MailHold | None:
    """The hold of a claim, if it was ever held."""
    return session.exec(  # type: ignore[call-overload]
        select(MailHold).where(MailHold.claim_id == claim_id)
    ).scalar_one_or_none()


def expired_holds(session: Session, now: dt.datetime, limit: int = 500) -> list[Claim]:
    """Claims still ``unverified`` whose hold ended before ``now``, oldest first."""
    return list(
        session.exec(  # type: ignore[call-overload]
            select(Claim)
            .join(MailHold, MailHold.claim_id == Claim.id)  # type: ignore[arg-type]
            .where(
                Claim.status == "unverified",
                MailHold.used_at.is_(None),  # type: ignore[union-attr]
                MailHold.expires_at < now,
            )
            .order_by(MailHold.expires_at)
            .limit(limit)
        ).scalars()
    )


def mail_claims_since(session: Session, member_id: int, since: dt.datetime) -> int:
    """How many claims by mail the member made since ``since`` (by their ``created_at``)."""
    return int(
        session.exec(  # type: ignore[call-overload]
            select(func.count())
            .select_from(Claim)
            .where(
                Claim.member_id == member_id,
                Claim.channel == "email",
                Claim.created_at >= since,
            )
        ).scalar_one()
    )


def outbox_count_like(session: Session, pattern: str) -> int:
    """How many outbox rows have a dedup key matching the SQL LIKE ``pattern``."""
    return int(
        session.exec(  # type: ignore[call-overload]
            select(func.count())
            .select_from(OutboxMessage)
            .where(OutboxMessage.dedup_key.like(pattern))  # type: ignore[attr-defined]
        ).scalar_one()
    )
