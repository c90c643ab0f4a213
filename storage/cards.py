"""Queries about the secretary's claim cards: which pending claims have no card yet, and the
evidence files a card shows."""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import select
from sqlmodel import Session

from cpd.storage.models import Claim, EvidenceFile


def evidence_ids(session: Session, claim_id: int) -> list[int]:
    """The ids of a claim's evidence files, oldest first."""
    return list(
        session.execute(
            select(EvidenceFile.id)
            .where(EvidenceFile.claim_id == claim_id)  # type: ignore[arg-type]
            .order_by(EvidenceFile.id)  # type: ignore[arg-type]
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
            select(Claim.id).where(
                Claim.id.in_(list(claim_ids)),  # type: ignore[union-attr]
                Claim.card_message_id.is_(None),  # type: ignore[union-attr]
            )
        ).scalars()
    )
