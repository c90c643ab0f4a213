"""What the web channel needs from the database: sign-in tokens, claim listings, a claim's
audit rows and a liveness probe. All SQL for it lives here."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy import Engine, select, text, update
from sqlmodel import Session, col

from cpd.storage.models import AuditEntry, Claim, EvidenceFile, WebToken
from cpd.storage.upsert import changed_rows


def add_web_token(
    session: Session, member_id: int, token_sha256: str, expires_at: dt.datetime
) -> WebToken:
    """Record a sign-in link's hash for a member (in the caller's transaction)."""
    row = WebToken(token_sha256=token_sha256, member_id=member_id, expires_at=expires_at)
    session.add(row)
    return row


def use_web_token(session: Session, token_sha256: str, now: dt.datetime) -> int | None:
    """Mark the unused, unexpired token as used and return its member id; None when there is
    no such token, or it was used or has expired. One conditional UPDATE, so two visits of one
    link at once sign in once."""
    changed = changed_rows(
        session,
        update(WebToken)
        .where(
            col(WebToken.token_sha256) == token_sha256,
            col(WebToken.used_at).is_(None),
            col(WebToken.expires_at) > now,
        )
        .values(used_at=now),
    )
    if changed != 1:
        return None
    row = session.execute(
        select(col(WebToken.member_id)).where(col(WebToken.token_sha256) == token_sha256)
    ).first()
    return None if row is None else int(row[0])


def web_token(session: Session, token_sha256: str) -> WebToken | None:
    """The token row with this hash, used or not."""
    return (
        session.execute(select(WebToken).where(col(WebToken.token_sha256) == token_sha256))
        .scalars()
        .first()
    )


def list_claims(
    session: Session,
    member_id: int | None = None,
    status: str | None = None,
    limit: int = 200,
    offset: int = 0,
    auto: bool = False,
    duplicates: bool = False,
) -> list[Claim]:
    """Claims, newest first, optionally of one member and in one status, only those with an
    ``auto_accept`` audit row (``auto``), only those with ``duplicate_of`` (``duplicates``)."""
    query = select(Claim)
    if auto:
        accepted = select(col(AuditEntry.claim_id)).where(col(AuditEntry.action) == "auto_accept")
        query = query.where(col(Claim.id).in_(accepted))
    if duplicates:
        query = query.where(col(Claim.duplicate_of).is_not(None))
    if member_id is not None:
        query = query.where(col(Claim.member_id) == member_id)
    if status is not None:
        query = query.where(col(Claim.status) == status)
    query = query.order_by(col(Claim.id).desc()).limit(limit).offset(offset)
    return list(session.execute(query).scalars())


def evidence_of(session: Session, claim_ids: Sequence[int]) -> dict[int, list[EvidenceFile]]:
    """The evidence files of the given claims, by claim id."""
    found: dict[int, list[EvidenceFile]] = {claim_id: [] for claim_id in claim_ids}
    if not claim_ids:
        return found
    rows = session.execute(
        select(EvidenceFile)
        .where(col(EvidenceFile.claim_id).in_(list(claim_ids)))
        .order_by(col(EvidenceFile.id))
    ).scalars()
    for row in rows:
        found[row.claim_id].append(row)
    return found


def audit_of_claim(session: Session, claim_id: int) -> list[AuditEntry]:
    """The claim's audit rows, oldest first."""
    return list(
        session.execute(
            select(AuditEntry)
            .where(col(AuditEntry.claim_id) == claim_id)
            .order_by(col(AuditEntry.id))
        ).scalars()
    )


def ping(engine: Engine) -> None:
    """One round trip to the database (raises when it does not answer)."""
    with engine.connect() as connection:
        connection.execute(text("SELECT 1"))
