"""The claims repository: claims, their evidence rows and their dispensations (in the caller's
session). A claim's ``source_key`` is stored truncated to its column and looked up the same."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy import update
from sqlmodel import Session, col, func, select

from cpd.storage.errors import DuplicateKey
from cpd.storage.models import Claim, Dispensation, EvidenceFile
from cpd.storage.upsert import changed_rows, insert_ignore

SOURCE_KEY_LENGTH = 255


def source_key(key: str) -> str:
    """A source key as it is stored (its column holds 255 characters)."""
    return key[:SOURCE_KEY_LENGTH]


def id_of(claim: Claim) -> int:
    """A stored claim's id (a row read from or flushed to the database has one)."""
    if claim.id is None:
        raise ValueError("the claim is not stored yet")
    return claim.id


def get(session: Session, claim_id: int) -> Claim | None:
    """The claim with this id."""
    return session.get(Claim, claim_id)


def by_source(session: Session, key: str) -> Claim | None:
    """The claim a message (its source key) created, if any."""
    return session.exec(select(Claim).where(col(Claim.source_key) == source_key(key))).first()


def insert(session: Session, claim: Claim) -> Claim:
    """Insert a new claim (``ON CONFLICT DO NOTHING`` on its source key) and return it as a row
    of the session; :class:`DuplicateKey` when a claim with that source key exists already."""
    claim.source_key = source_key(claim.source_key)
    if not insert_ignore(session, claim, ["source_key"]):
        raise DuplicateKey(claim.source_key)
    stored = by_source(session, claim.source_key)
    assert stored is not None
    return stored


def pending(session: Session) -> list[Claim]:
    """Claims waiting for a decision, oldest submission first."""
    query = (
        select(Claim)
        .where(col(Claim.status) == "pending")
        .order_by(col(Claim.submitted_at), col(Claim.id))
    )
    return list(session.exec(query))


def decide_if_pending(
    session: Session,
    claim_id: int,
    *,
    status: str,
    awarded: float | None,
    decided_by: int | None,
    reason: str | None,
    now: dt.datetime,
) -> bool:
    """Record a decision on a claim that is still pending (one statement: of two secretaries
    deciding at once exactly one wins); False when it was no longer pending."""
    statement = (
        update(Claim)
        .where(col(Claim.id) == claim_id, col(Claim.status) == "pending")
        .values(
            status=status,
            awarded_points=awarded,
            decided_by=decided_by,
            decided_at=now,
            decision_reason=reason,
            updated_at=now,
        )
    )
    changed = changed_rows(session, statement)
    return bool(changed == 1)


def evidence_of(session: Session, claim_ids: Sequence[int]) -> list[EvidenceFile]:
    """The evidence rows of these claims, in id order."""
    if not claim_ids:
        return []
    query = (
        select(EvidenceFile)
        .where(col(EvidenceFile.claim_id).in_(list(claim_ids)))
        .order_by(col(EvidenceFile.id))
    )
    return list(session.exec(query))


def evidence_counts(session: Session, claim_ids: Sequence[int]) -> dict[int, int]:
    """How many evidence files each of these claims has (one query for all of them)."""
    if not claim_ids:
        return {}
    query = (
        select(col(EvidenceFile.claim_id), func.count())
        .where(col(EvidenceFile.claim_id).in_(list(claim_ids)))
        .group_by(col(EvidenceFile.claim_id))
    )
    return {claim_id: count for claim_id, count in session.exec(query)}


def add_evidence(session: Session, evidence: EvidenceFile) -> bool:
    """Add an evidence row in the caller's transaction unless the claim already holds a file
    with this content (the unique key (claim_id, sha256)); True when it was added."""
    return insert_ignore(session, evidence, ["claim_id", "sha256"])


def dispensation(session: Session, dispensation_id: int) -> Dispensation | None:
    """The dispensation request with this id."""
    return session.get(Dispensation, dispensation_id)


def dispensation_for(
    session: Session, member_id: int, period_key: int
) -> tuple[Dispensation, bool]:
    """The member's dispensation row for a period, created (``requested``) when there was none:
    (the row, whether it was created now). The insert is ``ON CONFLICT DO NOTHING``."""
    created = insert_ignore(
        session,
        Dispensation(member_id=member_id, period_key=period_key, status="requested"),
        ["member_id", "period_key"],
    )
    query = select(Dispensation).where(
        col(Dispensation.member_id) == member_id,
        col(Dispensation.period_key) == period_key,
    )
    row = session.exec(query).one()
    return row, created
