"""The repositories claims/ calls: inserts guarded by unique keys are ``ON CONFLICT DO NOTHING``
(nothing raised, nothing doubled) and a key stored truncated is found by its full value."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import Engine, func, select

from cpd.storage import (
    Claim,
    DuplicateKey,
    EvidenceFile,
    Member,
    OutboxMessage,
    ProcessedMessage,
    claims_repo,
    transaction,
)
from cpd.storage import members as members_repo
from cpd.storage.database import make_engine, migrate
from cpd.storage.outbox import enqueue, queued
from cpd.storage.queries import add_processed, processed_outcome
from cpd.storage.upsert import insert_ignore

LONG = "email:<" + "x" * 400 + "@example.com>"


def _member(engine: Engine) -> int:
    with transaction(engine) as session:
        member = members_repo.add(
            session,
            Member(
                membership_no="M1",
                name="Ann",
                scheme="iim",
                email="ann@example.com",
                joined=dt.date(2019, 5, 1),
            ),
        )
        assert member.id is not None
        return member.id


def _claim(member_id: int, key: str) -> Claim:
    return Claim(
        member_id=member_id,
        channel="email",
        source_key=key,
        kind="training",
        start_date=dt.date(2026, 2, 1),
    )


def test_outbox_key_is_added_once_and_found_truncated(engine: Engine) -> None:
    with transaction(engine) as session:
        assert enqueue(session, LONG, "email", "a@example.com", "reply", {"text": "1"})
        assert not enqueue(session, LONG, "email", "a@example.com", "reply", {"text": "2"})
        assert queued(session, [LONG, "other"]) == {LONG}
    with transaction(engine) as session:  # a later transaction: the database's unique key
        assert not enqueue(session, LONG, "email", "a@example.com", "reply", {"text": "3"})
        rows = session.execute(select(OutboxMessage.payload)).scalars().all()
    assert rows == [{"text": "1"}]


def test_processed_key_is_recorded_once_and_looked_up_truncated(engine: Engine) -> None:
    with transaction(engine) as session:
        add_processed(session, LONG, "email", "claimed")
        add_processed(session, LONG, "email", "repeated")  # no IntegrityError, no second row
    with transaction(engine) as session:
        add_processed(session, LONG, "email", "again")
        done = processed_outcome(session, LONG)
        count = session.execute(select(func.count()).select_from(ProcessedMessage)).scalar()
    assert done is not None and done.outcome == "claimed"
    assert count == 1


def test_claim_source_key_is_unique_and_looked_up_truncated(engine: Engine) -> None:
    member_id = _member(engine)
    with transaction(engine) as session:
        claim = claims_repo.insert(session, _claim(member_id, LONG))
        assert claim.id is not None and len(claim.source_key) == 255
    with transaction(engine) as session:
        found = claims_repo.by_source(session, LONG)
        assert found is not None and found.id == claim.id
        with pytest.raises(DuplicateKey):
            claims_repo.insert(session, _claim(member_id, LONG))


def test_dispensation_row_is_created_once(engine: Engine) -> None:
    member_id = _member(engine)
    with transaction(engine) as session:
        first, created = claims_repo.dispensation_for(session, member_id, 2026)
        assert created and first.status == "requested"
        again, created_again = claims_repo.dispensation_for(session, member_id, 2026)
        assert not created_again and again.id == first.id


def _evidence(claim_id: int, sha256: str, name: str) -> EvidenceFile:
    return EvidenceFile(
        claim_id=claim_id,
        original_name=name,
        size=3,
        sha256=sha256,
        stored_path=f"/evidence/{sha256[:2]}/{sha256}",
    )


def test_a_claims_file_is_added_once_by_its_content(engine: Engine) -> None:
    """The same content on the same claim adds no second row, also from a later transaction;
    another claim may hold the same file."""
    member_id = _member(engine)
    digest = "ab" * 32
    with transaction(engine) as session:
        first = claims_repo.insert(session, _claim(member_id, "email:<one@example.com>"))
        other = claims_repo.insert(session, _claim(member_id, "email:<two@example.com>"))
        assert first.id is not None and other.id is not None
        assert claims_repo.add_evidence(session, _evidence(first.id, digest, "IMG_1.JPG"))
        assert not claims_repo.add_evidence(session, _evidence(first.id, digest, "copy.jpg"))
    with transaction(engine) as session:
        assert not claims_repo.add_evidence(session, _evidence(first.id, digest, "again.jpg"))
        assert claims_repo.add_evidence(session, _evidence(other.id, digest, "IMG_1.JPG"))
        rows = session.execute(
            select(EvidenceFile.claim_id, EvidenceFile.original_name).order_by(EvidenceFile.id)
        ).all()
    assert [tuple(r) for r in rows] == [(first.id, "IMG_1.JPG"), (other.id, "IMG_1.JPG")]


def test_the_migration_keeps_the_oldest_of_repeated_files(db_url: str) -> None:
    """Rows a race could have doubled before the unique key existed: the upgrade keeps one
    (the oldest) per claim and content, and leaves the rest alone."""
    engine = make_engine(db_url)
    try:
        migrate(engine, "0006_web_tokens")
        member_id = _member(engine)
        with transaction(engine) as session:  # the columns of 0006 only (no ORM select)
            insert_ignore(session, _claim(member_id, "email:<race@example.com>"), ["source_key"])
        with engine.begin() as connection:
            claim_id = connection.execute(select(Claim.id)).scalar_one()
            for name, digest in (("a.jpg", "aa" * 32), ("b.jpg", "aa" * 32), ("c.pdf", "cc" * 32)):
                connection.execute(
                    EvidenceFile.__table__.insert().values(  # type: ignore[attr-defined]
                        claim_id=claim_id,
                        original_name=name,
                        content_type="image/jpeg",
                        size=3,
                        sha256=digest,
                        stored_path="/x",
                        created_at=dt.datetime(2026, 12, 1, tzinfo=dt.UTC),
                    )
                )
        migrate(engine)
        with engine.connect() as connection:
            names = connection.execute(
                select(EvidenceFile.original_name).order_by(EvidenceFile.id)
            ).scalars()
            assert list(names) == ["a.jpg", "c.pdf"]
    finally:
        engine.dispose()
