"""The storage suite: every test runs on SQLite and on a throwaway PostgreSQL 15 cluster."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlmodel import Session, select

from cpd.storage import (
    AuditEntry,
    Claim,
    EvidenceFile,
    Member,
    OutboxMessage,
    ProcessedMessage,
    make_engine,
    migrate,
    safe_display_name,
    store_bytes,
    table_names,
    transaction,
)
from cpd.storage.database import downgrade
from cpd.storage.queries import add_audit, claims_of_member, stream_claim_rows

TABLES = {
    "member",
    "dispensation",
    "invite_token",
    "claim",
    "evidence_file",
    "audit_log",
    "outbox",
    "processed_message",
    "telegram_inbox",
}


def _member(session: Session, number: str = "M1", **extra: object) -> Member:
    member = Member(
        membership_no=number,
        name="Jane Surveyor",
        email=f"{number}@example.com",
        scheme="iims",
        joined=dt.date(2019, 5, 1),
        **extra,
    )
    session.add(member)
    session.flush()
    return member


def _claim(member: Member, key: str, day: dt.date = dt.date(2026, 3, 1), **extra: object) -> Claim:
    return Claim(
        member_id=member.id,
        channel="telegram",
        source_key=key,
        kind="exhibition",
        start_date=day,
        title="Boat show",
        **extra,
    )


def test_migration_creates_every_table_and_is_idempotent(db_url: str) -> None:
    engine = make_engine(db_url)
    migrate(engine)
    migrate(engine)
    assert table_names(engine) >= TABLES
    downgrade(engine, "base")
    assert not TABLES & table_names(engine)
    migrate(engine)
    assert table_names(engine) >= TABLES
    engine.dispose()


def test_sqlite_runs_in_wal_mode_with_foreign_keys(sqlite_engine: Engine) -> None:
    with sqlite_engine.connect() as connection:
        assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1


def test_member_round_trip_with_a_large_telegram_id(engine: Engine) -> None:
    with transaction(engine) as session:
        _member(session, telegram_user_id=7_123_456_789)
    with Session(engine) as session:
        member = session.exec(select(Member)).one()
        assert member.telegram_user_id == 7_123_456_789
        assert member.joined == dt.date(2019, 5, 1)
        assert member.nudges_muted is False


def test_source_key_is_unique(engine: Engine) -> None:
    with transaction(engine) as session:
        member = _member(session)
        session.add(_claim(member, "telegram:update:1"))
    with pytest.raises(IntegrityError), transaction(engine) as session:
        session.add(_claim(member, "telegram:update:1"))
    with Session(engine) as session:
        assert len(session.exec(select(Claim)).all()) == 1


def test_claim_json_fields_round_trip(engine: Engine) -> None:
    with transaction(engine) as session:
        member = _member(session)
        session.add(
            _claim(
                member,
                "k1",
                hours=2.5,
                extracted={"kind": "exhibition", "hours": 2.5},
                reflections={"new_knowledge": "Learnt about hull coatings 🚤"},
            )
        )
    with Session(engine) as session:
        claim = session.exec(select(Claim)).one()
        assert claim.extracted == {"kind": "exhibition", "hours": 2.5}
        assert claim.reflections["new_knowledge"].endswith("🚤")


def test_a_claim_needs_an_existing_member(engine: Engine) -> None:
    with pytest.raises(IntegrityError), transaction(engine) as session:
        session.add(
            Claim(
                member_id=999,
                channel="email",
                source_key="x",
                kind="reading",
                start_date=dt.date(2026, 1, 1),
            )
        )


def test_audit_log_is_append_only(engine: Engine) -> None:
    with transaction(engine) as session:
        member = _member(session)
        add_audit(
            session, "secretary:M2", "claim.accepted", member_id=member.id, details={"points": 5}
        )
    for statement in ("UPDATE audit_log SET actor = 'someone else'", "DELETE FROM audit_log"):
        with pytest.raises(DBAPIError, match="append-only"), engine.begin() as connection:
            connection.execute(text(statement))
    with Session(engine) as session:
        entry = session.exec(select(AuditEntry)).one()
        assert (entry.actor, entry.details) == ("secretary:M2", {"points": 5})


def test_outbox_and_processed_keys_refuse_duplicates(engine: Engine) -> None:
    with transaction(engine) as session:
        session.add(
            OutboxMessage(
                dedup_key="claim:1:accepted",
                channel="telegram",
                recipient="42",
                template="accepted",
            )
        )
        session.add(ProcessedMessage(key="imap:7:12", channel="email"))
    with pytest.raises(IntegrityError), transaction(engine) as session:
        session.add(
            OutboxMessage(
                dedup_key="claim:1:accepted",
                channel="telegram",
                recipient="42",
                template="accepted",
            )
        )
    with pytest.raises(IntegrityError), transaction(engine) as session:
        session.add(ProcessedMessage(key="imap:7:12", channel="email"))


def test_claims_of_member_and_streaming_come_in_order(engine: Engine) -> None:
    with transaction(engine) as session:
        first, second = _member(session, "M1"), _member(session, "M2")
        for i, day in enumerate([dt.date(2026, 5, 1), dt.date(2026, 1, 1), dt.date(2026, 3, 1)]):
            session.add(_claim(first, f"a{i}", day))
            session.add(_claim(second, f"b{i}", day))
    with Session(engine) as session:
        dates = [c.start_date.month for c in claims_of_member(session, first.id)]
        assert dates == [1, 3, 5]
    rows = list(stream_claim_rows(engine, batch_size=2))
    assert [r[0] for r in rows] == [first.id] * 3 + [second.id] * 3


def test_evidence_is_stored_by_hash_never_by_the_senders_name(
    engine: Engine, tmp_path: Path
) -> None:
    evidence_dir = tmp_path / "evidence"
    stored = store_bytes(evidence_dir, b"\xff\xd8 a photo from the boat show")
    again = store_bytes(evidence_dir, b"\xff\xd8 a photo from the boat show")
    assert stored == again
    assert stored.path.parent.parent == evidence_dir
    assert stored.path.name == stored.sha256
    assert stored.path.read_bytes().startswith(b"\xff\xd8")
    assert safe_display_name("../../etc/passwd") == "passwd"
    assert safe_display_name('C:\\Users\\x\\"cert".pdf') == "cert.pdf"
    assert safe_display_name("") == "attachment"
    with transaction(engine) as session:
        member = _member(session)
        claim = _claim(member, "k")
        session.add(claim)
        session.flush()
        session.add(
            EvidenceFile(
                claim_id=claim.id,
                original_name=safe_display_name("../x.jpg"),
                content_type="image/jpeg",
                size=stored.size,
                sha256=stored.sha256,
                stored_path=str(stored.path),
            )
        )
    assert not list(tmp_path.rglob("x.jpg"))
