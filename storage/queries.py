"""Queries the rest of the product needs, so that no other package writes SQL."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from typing import Any

from sqlalchemy import Engine, func, select, text
from sqlmodel import Session, col

from cpd.storage.models import (
    AuditEntry,
    Claim,
    Dispensation,
    InviteToken,
    Member,
    ProcessedMessage,
    utcnow,
)
from cpd.storage.upsert import insert_ignore

PROCESSED_KEY_LENGTH = 255  # the column's length: keys are stored and looked up truncated


def member_by_number(session: Session, membership_no: str) -> Member | None:
    """The member with this membership number."""
    return session.execute(
        select(Member).where(col(Member.membership_no) == membership_no)
    ).scalar_one_or_none()


def members_by_number(session: Session, numbers: Sequence[str]) -> dict[str, Member]:
    """Members keyed by membership number, for the numbers that exist."""
    if not numbers:
        return {}
    rows = session.execute(
        select(Member).where(col(Member.membership_no).in_(list(numbers)))
    ).scalars()
    return {m.membership_no: m for m in rows}


def members_by_email(session: Session, emails: Sequence[str]) -> dict[str, Member]:
    """Members keyed by lower-cased email, for these emails (compared case-insensitively)."""
    wanted = sorted({e.lower() for e in emails})
    found: dict[str, Member] = {}
    for start in range(0, len(wanted), 500):
        rows = session.execute(
            select(Member)
            .where(func.lower(col(Member.email)).in_(wanted[start : start + 500]))
            .order_by(col(Member.id))
        ).scalars()
        for member in rows:
            found.setdefault((member.email or "").lower(), member)
    return found


def members_by_id(session: Session, ids: Sequence[int]) -> list[Member]:
    """The members with these ids."""
    if not ids:
        return []
    return list(session.execute(select(Member).where(col(Member.id).in_(list(ids)))).scalars())


def serialize(session: Session, name: str) -> None:
    """Make transactions that call this with the same ``name`` run one after the other (a
    PostgreSQL advisory lock held to the end of the transaction; on SQLite the write lock,
    taken before anything is read). Call it first in the transaction."""
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(hashtext(:name))"), {"name": name})
    elif dialect == "sqlite" and not session.in_transaction():
        session.execute(text("BEGIN IMMEDIATE"))  # take the write lock before reading


def audit_details(session: Session, action: str, **match: Any) -> list[dict[str, Any]]:
    """The details of the audit rows with this action whose details contain ``match``, oldest
    first, each with the row's ``member_id`` and ``at`` added."""
    rows = session.execute(
        select(col(AuditEntry.member_id), col(AuditEntry.at), col(AuditEntry.details))
        .where(col(AuditEntry.action) == action)
        .order_by(col(AuditEntry.id))
    ).all()
    return [
        {**details, "member_id": member_id, "at": at}
        for member_id, at, details in rows
        if all(details.get(k) == v for k, v in match.items())
    ]


def granted_dispensations(session: Session, member_id: int) -> set[int]:
    """The period keys for which the member has a granted dispensation."""
    rows = session.execute(
        select(col(Dispensation.period_key)).where(
            col(Dispensation.member_id) == member_id,
            col(Dispensation.status) == "granted",
        )
    ).scalars()
    return set(rows)


def claims_of_member(session: Session, member_id: int) -> list[Claim]:
    """All the member's claims, oldest activity first."""
    return list(
        session.execute(
            select(Claim)
            .where(col(Claim.member_id) == member_id)
            .order_by(col(Claim.start_date), col(Claim.id))
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
        actor=actor,
        action=action,
        member_id=member_id,
        claim_id=claim_id,
        details=details or {},
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
    col(Claim.member_id),
    col(Claim.id),
    col(Claim.kind),
    col(Claim.start_date),
    col(Claim.end_date),
    col(Claim.hours),
    col(Claim.provider),
    col(Claim.has_test),
    col(Claim.co_authors),
    col(Claim.title),
    col(Claim.category_override),
    col(Claim.awarded_points),
    col(Claim.reflections),
    col(Claim.status),
)


MEMBER_COLUMNS = (
    col(Member.id),
    col(Member.membership_no),
    col(Member.scheme),
    col(Member.grade),
    col(Member.joined),
    col(Member.diploma_start),
)


def _id_range(column: Any, first_id: int | None, last_id: int | None) -> list[Any]:
    conditions = []
    if first_id is not None:
        conditions.append(column >= first_id)
    if last_id is not None:
        conditions.append(column <= last_id)
    return conditions


def stream_claim_rows(
    engine: Engine,
    batch_size: int = 20_000,
    first_member_id: int | None = None,
    last_member_id: int | None = None,
) -> Iterator[Sequence[Any]]:
    """Claims as plain rows of EVALUATION_COLUMNS, ordered by member then claim id.

    Rows come through a server-side cursor in batches so that memory stays flat however many
    members there are; a member id range lets several workers split the work.
    """
    query = (
        select(*EVALUATION_COLUMNS)
        .where(*_id_range(col(Claim.member_id), first_member_id, last_member_id))
        .order_by(col(Claim.member_id), col(Claim.id))
    )
    with engine.connect() as connection:
        result = connection.execution_options(stream_results=True, yield_per=batch_size).execute(
            query
        )
        for partition in result.partitions():
            yield from partition


def stream_member_rows(
    engine: Engine,
    batch_size: int = 20_000,
    first_member_id: int | None = None,
    last_member_id: int | None = None,
) -> Iterator[Sequence[Any]]:
    """Members as plain rows of MEMBER_COLUMNS, ordered by id, in batches."""
    query = (
        select(*MEMBER_COLUMNS)
        .where(*_id_range(col(Member.id), first_member_id, last_member_id))
        .order_by(col(Member.id))
    )
    with engine.connect() as connection:
        result = connection.execution_options(stream_results=True, yield_per=batch_size).execute(
            query
        )
        for partition in result.partitions():
            yield from partition


def granted_dispensations_by_member(engine: Engine) -> dict[int, set[int]]:
    """Every granted dispensation's period key, by member id."""
    found: dict[int, set[int]] = {}
    with engine.connect() as connection:
        rows = connection.execute(
            select(col(Dispensation.member_id), col(Dispensation.period_key)).where(
                col(Dispensation.status) == "granted"
            )
        )
        for member_id, period_key in rows:
            found.setdefault(member_id, set()).add(period_key)
    return found


def member_id_bounds(engine: Engine) -> tuple[int, int] | None:
    """The lowest and highest member id, or None when there are no members."""
    with engine.connect() as connection:
        low, high = connection.execute(
            select(func.min(col(Member.id)), func.max(col(Member.id)))
        ).one()
    return None if low is None or high is None else (int(low), int(high))


def touch(row: Member | Claim) -> None:
    """Mark a row as updated now."""
    row.updated_at = utcnow()


def processed_outcome(session: Session, key: str) -> ProcessedMessage | None:
    """The record of an inbound message already handled, if any."""
    return session.get(ProcessedMessage, key[:PROCESSED_KEY_LENGTH])


def add_processed(
    session: Session, key: str, channel: str, outcome: str, claim_id: int | None = None
) -> None:
    """Record an inbound message as handled (in the caller's transaction)."""
    row = ProcessedMessage(
        key=key[:PROCESSED_KEY_LENGTH],
        channel=channel,
        outcome=outcome,
        claim_id=claim_id,
    )
    insert_ignore(session, row, ["key"])


def secretary_emails(session: Session) -> list[tuple[int, str]]:
    """The members with the secretary role who have a registered address: (id, address)."""
    return [
        (member_id, address)
        for member_id, address in session.execute(
            select(col(Member.id), col(Member.email))
            .where(col(Member.role) == "secretary")
            .order_by(col(Member.id))
        ).all()
        if address
    ]


def member_audit_details(session: Session, member_id: int, action: str) -> list[dict[str, Any]]:
    """The details of one member's audit rows with this action, oldest first."""
    query = (
        select(col(AuditEntry.details))
        .where(col(AuditEntry.member_id) == member_id, col(AuditEntry.action) == action)
        .order_by(col(AuditEntry.id))
    )
    return list(session.execute(query).scalars())
