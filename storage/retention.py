"""Retention: the SQL that purges old processed-message keys, delivered outbox rows and
abandoned drafts, in small batches so that no transaction holds many locks for long.

The audit log is never purged (its triggers refuse it anyway). Because every draft has audit
rows that name it (``claim.drafted``), an expired draft cannot be deleted without breaking the
log's foreign key: it is *expired* instead. Its row stays as a tombstone (status ``withdrawn``,
reason ``expired draft``), its words, extraction and reflections are blanked, its evidence rows
are deleted, and a ``claim.expired`` audit row says so. Its ``source_key`` stays, so a
re-delivered old mail or update cannot bring the draft back.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from sqlalchemy import ColumnElement, Engine, and_, delete, exists, func, select, update
from sqlalchemy.orm import InstrumentedAttribute
from sqlmodel import col

from cpd.storage import mail_threads
from cpd.storage.database import transaction
from cpd.storage.models import (
    AuditEntry,
    Claim,
    EvidenceFile,
    OutboxMessage,
    ProcessedMessage,
    utcnow,
)
from cpd.storage.queries import add_audit
from cpd.storage.upsert import changed_rows

EXPIRED_REASON = "expired draft"


@dataclass(frozen=True, slots=True)
class ExpiredDraft:
    """A draft that was expired, and the evidence files it no longer holds."""

    claim_id: int
    member_id: int
    files: tuple[tuple[str, str], ...]  # (sha256, stored_path) of its evidence rows


def _old_processed(before: dt.datetime) -> ColumnElement[bool]:
    return col(ProcessedMessage.processed_at) < before


def _old_delivered(before: dt.datetime) -> ColumnElement[bool]:
    return and_(col(OutboxMessage.status) == "sent", col(OutboxMessage.sent_at) < before)


def _expired_draft(before: dt.datetime) -> ColumnElement[bool]:
    """Drafts created before ``before`` with no audit activity (a change, a file) since."""
    recent = exists().where(col(AuditEntry.claim_id) == col(Claim.id), col(AuditEntry.at) >= before)
    return and_(col(Claim.status) == "draft", col(Claim.created_at) < before, ~recent)


def _count(engine: Engine, model: type[Any], condition: ColumnElement[bool]) -> int:
    with engine.connect() as connection:
        query = select(func.count()).select_from(model).where(condition)
        return int(connection.execute(query).scalar_one())


def count_processed_keys(engine: Engine, before: dt.datetime) -> int:
    """How many processed-message keys are older than ``before``."""
    return _count(engine, ProcessedMessage, _old_processed(before))


def count_delivered_outbox(engine: Engine, before: dt.datetime) -> int:
    """How many outbox rows were delivered before ``before``."""
    return _count(engine, OutboxMessage, _old_delivered(before))


def count_expired_drafts(engine: Engine, before: dt.datetime) -> int:
    """How many drafts have been untouched since before ``before``."""
    return _count(engine, Claim, _expired_draft(before))


def _delete_in_batches(
    engine: Engine,
    key: InstrumentedAttribute[Any],
    condition: ColumnElement[bool],
    batch: int,
) -> int:
    """Delete the rows of ``key``'s table that meet ``condition``, ``batch`` per transaction
    (the condition is checked again in the DELETE, so a row changed meanwhile stays)."""
    table = key.class_
    total = 0
    while True:
        with engine.begin() as connection:
            keys = list(connection.execute(select(key).where(condition).limit(batch)).scalars())
            if keys:
                connection.execute(delete(table).where(key.in_(keys), condition))
        total += len(keys)
        if len(keys) < batch:
            return total


def purge_processed_keys(engine: Engine, before: dt.datetime, batch: int = 1000) -> int:
    """Delete processed-message keys older than ``before``, ``batch`` rows per transaction."""
    key = cast("InstrumentedAttribute[Any]", col(ProcessedMessage.key))
    return _delete_in_batches(engine, key, _old_processed(before), batch)


def purge_delivered_outbox(engine: Engine, before: dt.datetime, batch: int = 1000) -> int:
    """Delete outbox rows delivered before ``before`` (pending and dead rows stay)."""
    key = cast("InstrumentedAttribute[Any]", col(OutboxMessage.id))
    return _delete_in_batches(engine, key, _old_delivered(before), batch)


def expire_drafts(
    engine: Engine, before: dt.datetime, actor: str = "retention", batch: int = 200
) -> list[ExpiredDraft]:
    """Expire drafts untouched since ``before`` (see the module docstring), one batch per
    transaction; a draft submitted or changed meanwhile is left alone."""
    expired: list[ExpiredDraft] = []
    while True:
        with transaction(engine) as session:
            claims = list(
                session.execute(
                    select(col(Claim.id), col(Claim.member_id), col(Claim.created_at))
                    .where(_expired_draft(before))
                    .order_by(col(Claim.id))
                    .limit(batch)
                    .with_for_update(skip_locked=True)
                ).all()
            )
            ids = [c.id for c in claims]
            files: dict[int, list[tuple[str, str]]] = {i: [] for i in ids}
            if ids:
                for claim_id, sha256, path in session.execute(
                    select(
                        col(EvidenceFile.claim_id),
                        col(EvidenceFile.sha256),
                        col(EvidenceFile.stored_path),
                    ).where(col(EvidenceFile.claim_id).in_(ids))
                ).all():
                    files[claim_id].append((sha256, path))
                session.execute(delete(EvidenceFile).where(col(EvidenceFile.claim_id).in_(ids)))
                mail_threads.forget(session, ids)
                changed_rows(
                    session,
                    update(Claim)
                    .where(col(Claim.id).in_(ids), col(Claim.status) == "draft")
                    .values(
                        status="withdrawn",
                        decision_reason=EXPIRED_REASON,
                        raw_text="",
                        extracted={},
                        reflections={},
                        updated_at=utcnow(),
                    ),
                )
                for claim_id, member_id, created_at in claims:
                    add_audit(
                        session,
                        actor,
                        "claim.expired",
                        member_id=member_id,
                        claim_id=claim_id,
                        details={
                            "reason": EXPIRED_REASON,
                            "created_at": created_at.isoformat(),
                            "evidence_removed": len(files[claim_id]),
                        },
                    )
            expired.extend(ExpiredDraft(i, m, tuple(files[i])) for i, m, _ in claims)
        if len(ids) < batch:
            return expired


def unreferenced(engine: Engine, sha256s: Iterable[str]) -> set[str]:
    """Of these evidence digests, those that no evidence row refers to any more."""
    wanted = set(sha256s)
    if not wanted:
        return set()
    with engine.connect() as connection:
        used = set(
            connection.execute(
                select(col(EvidenceFile.sha256))
                .where(col(EvidenceFile.sha256).in_(sorted(wanted)))
                .distinct()
            ).scalars()
        )
    return wanted - used


def remove_unreferenced_files(
    engine: Engine, files: Iterable[tuple[str, str]], min_age: dt.timedelta
) -> int:
    """Delete the evidence files among ``files`` (sha256, path) that no claim refers to.

    Files are shared: one sha256 is stored once for every claim that sent the same bytes, so a
    file goes only when no evidence row names its digest. Intake re-stores (and so touches) a
    file before it writes its row; a file touched within ``min_age`` is kept and its digest is
    checked again just before the unlink, which narrows a race with intake to that instant.
    Returns how many files were removed.
    """
    by_digest = dict(files)
    removed = 0
    limit = dt.datetime.now().timestamp() - min_age.total_seconds()
    for sha256 in sorted(unreferenced(engine, by_digest)):
        path = Path(by_digest[sha256])
        try:
            if path.stat().st_mtime > limit:
                continue
            if sha256 in unreferenced(engine, [sha256]):
                path.unlink()
                removed += 1
        except FileNotFoundError:
            continue
    return removed
