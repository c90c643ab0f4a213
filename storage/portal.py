"""What the member's portal reads that no other repository offers: a member's dispensation
requests. All SQL for it lives here."""

from __future__ import annotations

from sqlalchemy import select
from sqlmodel import Session, col

from cpd.storage.models import Dispensation


def dispensations_of(session: Session, member_id: int) -> list[Dispensation]:
    """The member's dispensation requests, latest period first."""
    return list(
        session.execute(
            select(Dispensation)
            .where(col(Dispensation.member_id) == member_id)
            .order_by(col(Dispensation.period_key).desc())
        ).scalars()
    )
