"""What the duplicate check reads (issue 15): a member's earlier claims and their files'
hashes, in two queries whatever the number of claims."""

from __future__ import annotations

from collections.abc import Sequence

from sqlmodel import Session, col, select

from cpd.storage.models import Claim, EvidenceFile

IN_RECORD = ("pending", "accepted", "unverified")
"""Claims that are in a member's record for the duplicate check (drafts are not yet, declined
and withdrawn claims no longer)."""


def claims_in_record(session: Session, member_id: int, other_than: int) -> list[Claim]:
    """The member's claims in their record, oldest first, except ``other_than``."""
    query = (
        select(Claim)
        .where(
            col(Claim.member_id) == member_id,
            col(Claim.id) != other_than,
            col(Claim.status).in_(IN_RECORD),
        )
        .order_by(col(Claim.id))
    )
    return list(session.exec(query))


def file_hashes(session: Session, claim_ids: Sequence[int]) -> list[tuple[int, str, str | None]]:
    """(claim id, sha256, perceptual hash) of the evidence files of these claims."""
    if not claim_ids:
        return []
    query = select(
        col(EvidenceFile.claim_id), col(EvidenceFile.sha256), col(EvidenceFile.phash)
    ).where(col(EvidenceFile.claim_id).in_(list(claim_ids)))
    return [(int(c), str(s), p) for c, s, p in session.exec(query)]
