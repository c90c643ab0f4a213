"""Mail threading data of claims: the Message-ID local parts minted for mails about a claim
(``claim_mail_id``) and the member's mail a claim came from (``claim_mail_origin``).

Kept apart from the claim's NLP result (``Claim.extracted``) and for the claim's life.
"""

from __future__ import annotations

from sqlalchemy import delete, func, select
from sqlmodel import Session, col

from cpd.storage.models import ClaimMailId, ClaimMailOrigin
from cpd.storage.upsert import insert_ignore


def add_local_part(session: Session, claim_id: int, local_part: str, keep: int) -> bool:
    """Record a minted local part for ``claim_id`` (the newest ``keep`` are kept); False when
    it was recorded already."""
    added = insert_ignore(
        session, ClaimMailId(claim_id=claim_id, local_part=local_part), ["local_part"]
    )
    count = session.execute(
        select(func.count()).where(col(ClaimMailId.claim_id) == claim_id)
    ).scalar_one()
    if count > keep:
        newest = (
            select(col(ClaimMailId.id))
            .where(col(ClaimMailId.claim_id) == claim_id)
            .order_by(col(ClaimMailId.id).desc())
            .limit(keep)
        )
        session.execute(
            delete(ClaimMailId).where(
                col(ClaimMailId.claim_id) == claim_id,
                col(ClaimMailId.id).not_in(newest.scalar_subquery()),
            )
        )
    return added


def is_local_part_of(session: Session, claim_id: int, local_part: str) -> bool:
    """Whether ``local_part`` was minted for ``claim_id``."""
    found = session.execute(
        select(col(ClaimMailId.claim_id)).where(col(ClaimMailId.local_part) == local_part)
    ).scalar_one_or_none()
    return found == claim_id


def set_origin(
    session: Session, claim_id: int, message_id: str | None, references: str | None
) -> None:
    """Record the member's mail ``claim_id`` came from (once: the first record stays)."""
    origin = ClaimMailOrigin(claim_id=claim_id, message_id=message_id, thread_references=references)
    insert_ignore(session, origin, ["claim_id"])


def origin(session: Session, claim_id: int) -> tuple[str | None, str | None] | None:
    """The Message-ID and References of the member's mail ``claim_id`` came from, or None."""
    row = session.get(ClaimMailOrigin, claim_id)
    return None if row is None else (row.message_id, row.thread_references)


def forget(session: Session, claim_ids: list[int]) -> None:
    """Remove the threading data of these claims (expired drafts)."""
    if claim_ids:
        session.execute(delete(ClaimMailId).where(col(ClaimMailId.claim_id).in_(claim_ids)))
        session.execute(delete(ClaimMailOrigin).where(col(ClaimMailOrigin.claim_id).in_(claim_ids)))
