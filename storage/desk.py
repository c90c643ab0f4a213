"""What the secretary's desk reads: the pending queue with its filters, the audit log and the
register's member rows, each page in one or two queries (a row count and the page). All SQL
for the desk lives here."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, or_, select
from sqlmodel import Session, col

from cpd.storage.models import AuditEntry, Claim, Member

QUEUE_SORTS = ("oldest", "newest", "member", "points")


@dataclass(frozen=True, slots=True)
class QueueFilter:
    """Which pending claims the queue shows: by the member's scheme, the claim's kind and
    channel, submitted before ``submitted_before`` (the age filter), and a member search (a
    membership number or part of a name)."""

    scheme: str | None = None
    kind: str | None = None
    channel: str | None = None
    submitted_before: dt.datetime | None = None
    search: str | None = None


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped.lower()}%"


def _queue_conditions(wanted: QueueFilter) -> list[Any]:
    conditions: list[Any] = [col(Claim.status) == "pending"]
    if wanted.scheme:
        conditions.append(col(Member.scheme) == wanted.scheme)
    if wanted.kind:
        conditions.append(col(Claim.kind) == wanted.kind)
    if wanted.channel:
        conditions.append(col(Claim.channel) == wanted.channel)
    if wanted.submitted_before is not None:
        submitted = func.coalesce(col(Claim.submitted_at), col(Claim.created_at))
        conditions.append(submitted <= wanted.submitted_before)
    if wanted.search:
        pattern = _like(wanted.search.strip())
        conditions.append(
            or_(
                func.lower(col(Member.membership_no)) == wanted.search.strip().lower(),
                func.lower(col(Member.name)).like(pattern, escape="\\"),
                func.lower(col(Member.membership_no)).like(pattern, escape="\\"),
            )
        )
    return conditions


def pending_page(
    session: Session, wanted: QueueFilter, sort: str = "oldest", limit: int = 50, offset: int = 0
) -> tuple[list[Claim], int]:
    """One page of pending claims matching ``wanted`` (oldest submission first by default),
    and how many match in all: two queries."""
    conditions = _queue_conditions(wanted)
    total = session.execute(
        select(func.count())
        .select_from(Claim)
        .join(Member, col(Member.id) == col(Claim.member_id))
        .where(*conditions)
    ).scalar_one()
    submitted = func.coalesce(col(Claim.submitted_at), col(Claim.created_at))
    orders: dict[str, list[Any]] = {
        "oldest": [submitted, col(Claim.id)],
        "newest": [submitted.desc(), col(Claim.id).desc()],
        "member": [col(Member.name), col(Member.membership_no), submitted, col(Claim.id)],
        "points": [col(Claim.proposed_points).desc(), submitted, col(Claim.id)],
    }
    order = orders.get(sort, orders["oldest"])
    rows = session.execute(
        select(Claim)
        .join(Member, col(Member.id) == col(Claim.member_id))
        .where(*conditions)
        .order_by(*order)
        .limit(limit)
        .offset(offset)
    ).scalars()
    return list(rows), int(total)


def audit_page(
    session: Session,
    member_id: int | None = None,
    action: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[AuditEntry], int]:
    """One page of the audit log, newest first, optionally of one member and one action, and
    how many rows match in all."""
    conditions: list[Any] = []
    if member_id is not None:
        conditions.append(col(AuditEntry.member_id) == member_id)
    if action:
        conditions.append(col(AuditEntry.action) == action)
    total = session.execute(
        select(func.count()).select_from(AuditEntry).where(*conditions)
    ).scalar_one()
    rows = session.execute(
        select(AuditEntry)
        .where(*conditions)
        .order_by(col(AuditEntry.id).desc())
        .limit(limit)
        .offset(offset)
    ).scalars()
    return list(rows), int(total)


def audit_actions(session: Session) -> list[str]:
    """The distinct actions in the audit log, sorted (the filter's choices)."""
    return sorted(session.execute(select(col(AuditEntry.action)).distinct()).scalars())


def member_names(session: Session, ids: list[int]) -> dict[int, tuple[str, str]]:
    """(membership_no, name) of the members with these ids."""
    if not ids:
        return {}
    rows = session.execute(
        select(col(Member.id), col(Member.membership_no), col(Member.name)).where(
            col(Member.id).in_(sorted(set(ids)))
        )
    ).all()
    return {int(i): (str(no), str(name)) for i, no, name in rows}


def register_members(session: Session) -> list[Member]:
    """Every member, in membership number order (the register, one query)."""
    return list(session.execute(select(Member).order_by(col(Member.membership_no))).scalars())


def member_schemes(session: Session) -> list[str]:
    """The schemes members are on, most members first."""
    rows = session.execute(
        select(col(Member.scheme), func.count())
        .group_by(col(Member.scheme))
        .order_by(func.count().desc(), col(Member.scheme))
    ).all()
    return [str(scheme) for scheme, _ in rows]
