"""Retention on SQLite and PostgreSQL: old keys, delivered outbox rows and expired drafts go in
batches; pending mail, recent rows, submitted claims, shared evidence and the audit log stay."""

from __future__ import annotations

import datetime as dt
import os
import time
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select
from sqlmodel import Session

from cpd.claims.retention import RetentionPolicy, purge
from cpd.storage import (
    AuditEntry,
    Claim,
    EvidenceFile,
    Member,
    OutboxMessage,
    ProcessedMessage,
    store_bytes,
    transaction,
)
from cpd.storage.evidence import remove_incoming_leftovers
from cpd.storage.queries import add_audit

NOW = dt.datetime(2026, 12, 1, 3, 0, tzinfo=dt.UTC)
OLD = NOW - dt.timedelta(days=120)
RECENT = NOW - dt.timedelta(days=5)


def count(engine: Engine, model: type, *where: object) -> int:
    with Session(engine) as session:
        return session.execute(select(func.count()).select_from(model).where(*where)).scalar_one()


def add_claim(
    session: Session, member: Member, key: str, status: str, created: dt.datetime
) -> Claim:
    claim = Claim(
        member_id=member.id,
        channel="email",
        source_key=key,
        raw_text=f"words of {key}",
        kind="training",
        start_date=created.date(),
        status=status,
        created_at=created,
        updated_at=created,
        reflections={"new_knowledge": "x"},
    )
    session.add(claim)
    session.flush()
    session.add(AuditEntry(actor="t", action="claim.drafted", claim_id=claim.id, at=created))
    return claim


def add_file(session: Session, claim: Claim, evidence_dir: Path, data: bytes) -> Path:
    stored = store_bytes(evidence_dir, data)
    old = OLD.timestamp()
    os.utime(stored.path, (old, old))
    session.add(
        EvidenceFile(
            claim_id=claim.id, size=stored.size, sha256=stored.sha256, stored_path=str(stored.path)
        )
    )
    return stored.path


@pytest.fixture
def world(engine: Engine, tmp_path: Path) -> dict[str, object]:
    evidence = tmp_path / "evidence"
    with transaction(engine) as session:
        member = Member(membership_no="M1", name="Jane", scheme="iims", joined=dt.date(2019, 1, 1))
        session.add(member)
        session.flush()
        old_draft = add_claim(session, member, "old-draft", "draft", OLD)
        only_file = add_file(session, old_draft, evidence, b"only the old draft has this")
        shared_file = add_file(session, old_draft, evidence, b"shared by two claims")
        kept = add_claim(session, member, "accepted", "accepted", OLD)
        add_file(session, kept, evidence, b"shared by two claims")
        add_claim(session, member, "new-draft", "draft", RECENT)
        touched = add_claim(session, member, "touched-draft", "draft", OLD)
        add_audit(session, "t", "claim.changed", claim_id=touched.id)  # changed just now
        add_claim(session, member, "old-pending", "pending", OLD)
        for i in range(7):
            session.add(ProcessedMessage(key=f"old{i}", channel="email", processed_at=OLD))
        session.add(ProcessedMessage(key="new", channel="email", processed_at=RECENT))
        for i in range(5):
            session.add(
                OutboxMessage(
                    dedup_key=f"sent{i}",
                    channel="email",
                    recipient="a@b.c",
                    template="t",
                    status="sent",
                    sent_at=OLD,
                    created_at=OLD,
                )
            )
        session.add(
            OutboxMessage(
                dedup_key="pending",
                channel="email",
                recipient="a@b.c",
                template="t",
                created_at=OLD,
                next_attempt_at=OLD,
            )
        )
        session.add(
            OutboxMessage(
                dedup_key="dead",
                channel="email",
                recipient="a@b.c",
                template="t",
                status="dead",
                created_at=OLD,
            )
        )
        session.add(
            OutboxMessage(
                dedup_key="sent-recently",
                channel="email",
                recipient="a@b.c",
                template="t",
                status="sent",
                sent_at=RECENT,
            )
        )
    return {"evidence": evidence, "only": only_file, "shared": shared_file}


def test_a_dry_run_counts_and_deletes_nothing(engine: Engine, world: dict) -> None:
    report = purge(engine, world["evidence"], RetentionPolicy(batch=3), NOW, dry_run=True)
    assert (report.processed_keys, report.delivered_outbox, report.drafts) == (7, 5, 1)
    assert count(engine, ProcessedMessage) == 8 and count(engine, OutboxMessage) == 8
    assert count(engine, Claim, Claim.status == "draft") == 3


def test_purge_in_batches_keeps_what_is_young_pending_or_shared(
    engine: Engine, world: dict
) -> None:
    audit_rows = count(engine, AuditEntry)
    report = purge(engine, world["evidence"], RetentionPolicy(batch=3), NOW)
    assert (report.processed_keys, report.delivered_outbox, report.drafts) == (7, 5, 1)
    assert report.evidence_files == 1
    with Session(engine) as session:
        keys = set(session.execute(select(ProcessedMessage.key)).scalars())
        outbox = set(session.execute(select(OutboxMessage.dedup_key)).scalars())
        claims = {c.source_key: c for c in session.execute(select(Claim)).scalars()}
        files = list(session.execute(select(EvidenceFile.claim_id)).scalars())
        expired = session.execute(
            select(AuditEntry).where(AuditEntry.action == "claim.expired")
        ).scalar_one()
    assert keys == {"new"}
    assert outbox == {"pending", "dead", "sent-recently"}
    gone = claims["old-draft"]
    assert (gone.status, gone.decision_reason, gone.raw_text, gone.reflections) == (
        "withdrawn",
        "expired draft",
        "",
        {},
    )
    assert {k: c.status for k, c in claims.items() if k != "old-draft"} == {
        "accepted": "accepted",
        "new-draft": "draft",
        "touched-draft": "draft",
        "old-pending": "pending",
    }
    assert files == [claims["accepted"].id]  # the draft's evidence rows went
    assert not world["only"].exists()  # no other claim used it
    assert world["shared"].exists()  # the accepted claim still does
    assert expired.claim_id == gone.id and expired.details["evidence_removed"] == 2
    assert count(engine, AuditEntry) == audit_rows + 1  # audit rows are never deleted
    again = purge(engine, world["evidence"], RetentionPolicy(batch=3), NOW)
    assert (again.processed_keys, again.delivered_outbox, again.drafts) == (0, 0, 0)


def test_a_file_stored_again_by_a_new_claim_during_the_purge_is_kept(
    engine: Engine, world: dict
) -> None:
    store_bytes(world["evidence"], b"only the old draft has this")  # a new intake touches it
    report = purge(engine, world["evidence"], RetentionPolicy(), NOW)
    assert report.drafts == 1 and report.evidence_files == 0 and world["only"].exists()


def test_incoming_leftovers_of_a_crash_are_removed_and_fresh_ones_kept(tmp_path: Path) -> None:
    evidence = tmp_path / "evidence"
    kept = store_bytes(evidence, b"a real evidence file").path
    leftover = kept.parent / ".incoming-abc123"
    leftover.write_bytes(b"half a file")
    top = evidence / ".incoming-top"
    top.write_bytes(b"x")
    fresh = kept.parent / ".incoming-writing-now"
    fresh.write_bytes(b"being written")
    old = time.time() - 3600
    for path in (leftover, top):
        os.utime(path, (old, old))
    assert remove_incoming_leftovers(evidence) == 2
    assert kept.exists() and fresh.exists() and not leftover.exists() and not top.exists()
    assert remove_incoming_leftovers(tmp_path / "nowhere") == 0
