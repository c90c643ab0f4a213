"""Queries the rest of the product needs, so that no other package writes SQL."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from typing import Any

from sqlalchemy import Engine, select
from sqlmodel import Session

from cpd.storage.models import AuditEntry, Claim, Dispensation, InviteToken, Member, utcnow


def member_by_number(session: Session, membership_no: str) -> Member | None:
    """The member with this membership number."""
    return session.exec(  # type: ignore[call-overload]
        select(Member).where(Member.membership_no == membership_no)
    ).scalar_one_or_none()


def members_by_number(session: Session, numbers: Sequence[str]) -> dict[str, Member]:
    """Members keyed by membership number, for the numbers that exist."""
    if not numbers:
        return {}
    rows = session.exec(  # type: ignore[call-overload]
        select(Member).where(Member.membership_no.in_(list(numbers)))  # type: ignore[attr-defined]
    ).scalars()
    return {m.membership_no: m for m in rows}


def granted_dispensations(session: Session, member_id: int) -> set[int]:
    """The period keys for which the member has a granted dispensation."""
    rows = session.exec(  # type: ignore[call-overload]
        select(Dispensation.period_key).where(
            Dispensation.member_id == member_id, Dispensation.status == "granted"
        )
    ).scalars()
    return set(rows)


def claims_of_member(session: Session, member_id: int) -> list[Claim]:
    """All the member's claims, oldest activity first."""
    return list(
        session.exec(  # type: ignore[call-overload]
            select(Claim).where(Claim.member_id == member_id).order_by(Claim.start_date, Claim.id)
        ).scalars()
    )


def add_audit(
    session: Session,
    actor: str,
    action: str,
    *,
    member_id: int | None = None,
    claim_id: int | None = None,
    details: dict[str, Any] | None = None,
) -> AuditEntry:
    """Append one line to the audit log (in the caller's transaction)."""
    entry = AuditEntry(
        actor=actor, action=action, member_id=member_id, claim_id=claim_id, details=details or {}
    )
    session.add(entry)
    return entry


def add_invite(
    session: Session, member_id: int, token_sha256: str, expires_at: dt.datetime
) -> InviteToken:
    """Record a link token's hash for a member."""
    invite = InviteToken(token_sha256=token_sha256, member_id=member_id, expires_at=expires_at)
    session.add(invite)
    return invite


EVALUATION_COLUMNS = (
    Claim.member_id,
    Claim.id,
    Claim.kind,
    Claim.start_date,
    Claim.end_date,
    Claim.hours,
    Claim.provider,
    Claim.has_test,
    Claim.co_authors,
    Claim.title,
    Claim.category_override,
    Claim.awarded_points,
    Claim.reflections,
    Claim.status,
)


def stream_claim_rows(engine: Engine, batch_size: int = 20_000) -> Iterator[Sequence[Any]]:
    """Every claim as a plain row of EVALUATION_COLUMNS, grouped by member (ordered by member).

    Rows come through a server-side cursor in batches so that memory stays flat however many
    members there are.
    """
    query = select(*EVALUATION_COLUMNS).order_by(Claim.member_id, Claim.id)
    with engine.connect() as connection:
        result = connection.execution_options(stream_results=True, yield_per=batch_size).execute(
            query
        )
        for partition in result.partitions():
            yield from partition


def stream_members(engine: Engine, batch_size: int = 20_000) -> Iterator[Member]:
    """Every member, ordered by id, in batches."""
    with Session(engine) as session:
        result = session.exec(  # type: ignore[call-overload]
            select(Member).order_by(Member.id).execution_options(yield_per=batch_size)
        )
        yield from result.scalars()


def touch(row: Member | Claim) -> None:
    """Mark a row as updated now."""
    row.updated_at = utcnow()
