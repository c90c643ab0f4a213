"""The follow-up ledger and what the follow-up run reads (issue 15): open drafts, accepted
claims by decision day or activity day, with their members (one query each)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import update
from sqlmodel import Session, col, select

from cpd.storage.models import Claim, FollowUp, Member
from cpd.storage.upsert import changed_rows, insert_ignore


def record(
    session: Session,
    subject: str,
    kind: str,
    due_on: dt.date,
    member_id: int,
    claim_id: int | None = None,
) -> bool:
    """Write a follow-up to the ledger in the caller's transaction (``ON CONFLICT DO
    NOTHING``); True when it is new (then its message is to be queued)."""
    row = FollowUp(
        subject=subject, kind=kind, due_on=due_on, member_id=member_id, claim_id=claim_id
    )
    return insert_ignore(session, row, ["subject", "kind", "due_on"])


def was_sent(session: Session, subject: str, kind: str) -> bool:
    """Whether a follow-up of this kind was ever recorded for the subject."""
    query = select(FollowUp.id).where(col(FollowUp.subject) == subject, col(FollowUp.kind) == kind)
    return session.exec(query).first() is not None


def drafts_made_before(session: Session, before: dt.datetime) -> list[tuple[Claim, Member]]:
    """Drafts made before ``before``, with their members, oldest first."""
    query = (
        select(Claim, Member)
        .join(Member, col(Member.id) == col(Claim.member_id))
        .where(col(Claim.status) == "draft", col(Claim.created_at) < before)
        .order_by(col(Claim.id))
    )
    return [(c, m) for c, m in session.exec(query)]


def expire_draft(session: Session, claim_id: int, now: dt.datetime, reason: str) -> bool:
    """Withdraw a claim that is still a draft, with ``reason`` (one statement: as held claims
    by mail expire); True when it was."""
    statement = (
        update(Claim)
        .where(col(Claim.id) == claim_id, col(Claim.status) == "draft")
        .values(status="withdrawn", decision_reason=reason, decided_at=now, updated_at=now)
    )
    return changed_rows(session, statement) == 1


def _accepted(
    session: Session, schemes: Sequence[str], *where: Any, order: Sequence[Any]
) -> list[tuple[Claim, Member]]:
    """Accepted claims (with their members) of members of ``schemes`` meeting ``where``."""
    if not schemes:
        return []
    query = (
        select(Claim, Member)
        .join(Member, col(Member.id) == col(Claim.member_id))
        .where(col(Claim.status) == "accepted", col(Member.scheme).in_(list(schemes)), *where)
        .order_by(*order)
    )
    return [(c, m) for c, m in session.exec(query)]


def accepted_decided_between(
    session: Session, schemes: Sequence[str], start: dt.datetime, end: dt.datetime
) -> list[tuple[Claim, Member]]:
    """Accepted claims of members of ``schemes`` decided in [start, end)."""
    decided = col(Claim.decided_at)
    return _accepted(session, schemes, decided >= start, decided < end, order=[col(Claim.id)])


def accepted_dated_between(
    session: Session, schemes: Sequence[str], first: dt.date, last: dt.date
) -> list[tuple[Claim, Member]]:
    """Accepted claims of members of ``schemes`` whose activity started in [first, last]."""
    started = col(Claim.start_date)
    order = [col(Member.id), started, col(Claim.id)]
    return _accepted(session, schemes, started >= first, started <= last, order=order)
