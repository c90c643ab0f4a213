"""The OCR worker's queries: evidence files not read yet, and what a reading found.

A file is waiting while its ``ocr_status`` is NULL and its claim is still open (a draft,
pending, or held unverified): the claim's fields can still be filled from it. Files of claims
decided before OCR existed are not read. A reading is stored once: ``record`` writes only a
row still waiting (a second worker's reading of the same row changes nothing).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import update
from sqlmodel import Session, col, select

from cpd.storage.models import Claim, EvidenceFile

OPEN_STATUSES = ("draft", "pending", "unverified")
MAX_OCR_TEXT = 20_000
MAX_NOTE = 300


def waiting(session: Session, limit: int = 20) -> list[EvidenceFile]:
    """Evidence files of open claims not read yet, oldest first."""
    query = (
        select(EvidenceFile)
        .join(Claim, col(Claim.id) == col(EvidenceFile.claim_id))
        .where(col(EvidenceFile.ocr_status).is_(None), col(Claim.status).in_(OPEN_STATUSES))
        .order_by(col(EvidenceFile.id))
        .limit(limit)
    )
    return list(session.exec(query).all())


def record(
    session: Session,
    evidence_id: int,
    status: str,
    text: str,
    engine: str,
    confidence: float | None,
    note: str,
    at: dt.datetime,
) -> bool:
    """Store what reading a file found, once (False when it was stored already). The text is
    kept without NUL characters (PostgreSQL refuses them) and bounded."""
    result = session.execute(
        update(EvidenceFile)
        .where(col(EvidenceFile.id) == evidence_id, col(EvidenceFile.ocr_status).is_(None))
        .values(
            ocr_status=status[:16],
            ocr_text=text.replace("\x00", "")[:MAX_OCR_TEXT] or None,
            ocr_engine=engine[:60] or None,
            ocr_confidence=confidence,
            ocr_note=note.replace("\x00", "")[:MAX_NOTE] or None,
            ocr_at=at,
        )
        .execution_options(synchronize_session=False)
    )
    return bool(getattr(result, "rowcount", 0))


def texts_of(session: Session, claim_id: int) -> list[str]:
    """The OCR texts of a claim's files, in the order they came."""
    query = (
        select(EvidenceFile.ocr_text)
        .where(col(EvidenceFile.claim_id) == claim_id, col(EvidenceFile.ocr_text).is_not(None))
        .order_by(col(EvidenceFile.id))
    )
    return [text for text in session.exec(query).all() if text]
