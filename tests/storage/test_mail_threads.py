"""Migration 0008 and its tables: mail threading data in its own tables (minted Message-ID
local parts and the member's mail a claim came from, moved out of ``claim.extracted`` and
back) and outbox rows addressed to roles."""

from __future__ import annotations

from sqlalchemy import Engine, select

from cpd.storage import (
    Claim,
    Member,
    OutboxMessage,
    claims_repo,
    mail_threads,
    make_engine,
    transaction,
)
from cpd.storage.database import downgrade, migrate
from cpd.storage.outbox import enqueue
from cpd.storage.upsert import insert_ignore
from tests.storage.test_repositories import _claim, _member

LOCAL = "cpd-{}.0123456789abcdef0123456789abcdef"


def test_local_parts_are_unique_kept_newest_and_matched_to_their_claim(engine: Engine) -> None:
    member_id = _member(engine)
    with transaction(engine) as session:
        first = claims_repo.insert(session, _claim(member_id, "email:<a@x>"))
        other = claims_repo.insert(session, _claim(member_id, "email:<b@x>"))
        assert first.id is not None and other.id is not None
        ids = [LOCAL.format(first.id).replace("0123", f"{n:04d}") for n in range(4)]
        for local in ids:
            assert mail_threads.add_local_part(session, first.id, local, keep=3)
        assert not mail_threads.add_local_part(session, other.id, ids[-1], keep=3)
        mail_threads.set_origin(session, first.id, "<m1@x>", "<m0@x> <m1@x>")
        mail_threads.set_origin(session, first.id, "<later@x>", None)  # the first one stays
    with transaction(engine) as session:
        assert not mail_threads.is_local_part_of(session, first.id, ids[0])  # the oldest went
        assert all(mail_threads.is_local_part_of(session, first.id, i) for i in ids[1:])
        assert not mail_threads.is_local_part_of(session, other.id, ids[-1])
        assert mail_threads.origin(session, first.id) == ("<m1@x>", "<m0@x> <m1@x>")
        assert mail_threads.origin(session, other.id) is None


def test_the_migration_moves_threading_data_out_of_extracted_and_back(db_url: str) -> None:
    engine = make_engine(db_url)
    try:
        migrate(engine, "0007_evidence_unique")
        member_id = _member(engine)
        local = LOCAL.format(1)
        extracted = {
            "kind": "training",
            "flags": [],
            "mail_ids": [local],
            "reply": {"message_id": "<m1@x>", "references": "<m1@x>", "subject": "CPD"},
        }
        claim = _claim(member_id, "email:<m1@x>")
        claim.extracted = extracted
        plain = _claim(member_id, "telegram:message:1:2")
        plain.extracted = {"kind": "other", "flags": ["no_text"]}
        with transaction(engine) as session:  # the columns of 0007 only (no ORM read back)
            insert_ignore(session, claim, ["source_key"])
            insert_ignore(session, plain, ["source_key"])
        with engine.connect() as connection:
            ids = dict(connection.execute(select(Claim.source_key, Claim.id)).tuples().all())
        claim_id, plain_id = ids["email:<m1@x>"], ids["telegram:message:1:2"]
        migrate(engine)
        with transaction(engine) as session:
            assert mail_threads.is_local_part_of(session, claim_id, local)
            assert mail_threads.origin(session, claim_id) == ("<m1@x>", "<m1@x>")
            assert mail_threads.origin(session, plain_id) is None
            stored = {r[0]: r[1] for r in session.execute(select(Claim.id, Claim.extracted)).all()}
        assert stored[claim_id] == {"kind": "training", "flags": []}
        assert stored[plain_id] == {"kind": "other", "flags": ["no_text"]}
        downgrade(engine, "0007_evidence_unique")
        with engine.connect() as connection:
            back = {r[0]: r[1] for r in connection.execute(select(Claim.id, Claim.extracted)).all()}
        assert back[claim_id] == {
            "kind": "training",
            "flags": [],
            "mail_ids": [local],
            "reply": {"message_id": "<m1@x>", "references": "<m1@x>"},
        }
        assert back[plain_id] == {"kind": "other", "flags": ["no_text"]}
    finally:
        engine.dispose()


def _outbox(engine: Engine) -> dict[str, tuple[str, str]]:
    with engine.connect() as connection:
        rows = connection.execute(
            select(OutboxMessage.dedup_key, OutboxMessage.recipient, OutboxMessage.status)
        ).all()
    return {key: (recipient, status) for key, recipient, status in rows}


def test_the_migration_addresses_outbox_rows_to_roles_and_back(db_url: str) -> None:
    """Rows to a member's chat or address become ``member:<id>``, other addresses
    ``stranger:<address>``; the secretary chat stays; the downgrade writes addresses back."""
    engine = make_engine(db_url)
    try:
        migrate(engine, "0007_evidence_unique")
        member_id = _member(engine)  # ann@example.com
        with transaction(engine) as session:
            session.get_one(Member, member_id).telegram_user_id = 101
            for key, channel, recipient in (
                ("tg", "telegram", "101"),
                ("mail", "email", "Ann@Example.com"),
                ("card", "telegram", "-500"),
                ("stranger", "email", "bob@elsewhere.org"),
            ):
                enqueue(session, key, channel, recipient, "message", {"text": key})
        migrate(engine)
        role = f"member:{member_id}"
        assert _outbox(engine) == {
            "tg": (role, "pending"),
            "mail": (role, "pending"),
            "card": ("-500", "pending"),
            "stranger": ("stranger:bob@elsewhere.org", "pending"),
        }
        with transaction(engine) as session:  # a row only the new release writes
            enqueue(session, "new-card", "telegram", "secretaries", "secretary_card", {})
        downgrade(engine, "0007_evidence_unique")
        back = _outbox(engine)
        assert back["tg"] == ("101", "pending") and back["mail"] == ("ann@example.com", "pending")
        assert back["card"] == ("-500", "pending")
        assert back["stranger"] == ("bob@elsewhere.org", "pending")
        assert back["new-card"] == ("secretaries", "dead")  # no release before knows the chat
    finally:
        engine.dispose()
