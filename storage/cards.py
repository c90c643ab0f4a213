"""Queries about the secretary's claim cards: which pending claims have no card yet, and the
evidence files a card shows."""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import select
from sqlmodel import Session, col

from cpd.storage.models import Claim, EvidenceFile


def evidence_ids(session: Session, claim_id: int) -> list[int]:
    """The ids of a claim's evidence files, oldest first."""
    return list(
        session.execute(
            select(col(EvidenceFile.id))
            .where(col(EvidenceFile.claim_id) == claim_id)
            .order_by(col(EvidenceFile.id))
        ).scalars()
    )


def evidence_file(session: Session, evidence_id: int) -> EvidenceFile | None:
    """One evidence file by id."""
    return session.get(EvidenceFile, evidence_id)


def without_card(session: Session, claim_ids: Collection[int]) -> set[int]:
    """Which of ``claim_ids`` have no posted card."""
    if not claim_ids:
        return set()
    return set(
        session.execute(
            select(col(Claim.id)).where(
                col(Claim.id).in_(list(claim_ids)),
                col(Claim.card_message_id).is_(None),
            )
        ).scalars()
    )
