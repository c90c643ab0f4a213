"""Bounce state and the product's secrets, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Engine

from cpd.claims.members import import_members, parse_members_csv
from cpd.storage import Member, bounces, transaction
from cpd.storage.database import downgrade, migrate, table_names

MEMBERS = """membership_no,name,email,scheme,grade,joined,role
M1,Jane Surveyor,Jane@Example.com,iims,member,2019-05-01,member
"""
AT = dt.datetime(2026, 11, 30, 9, tzinfo=dt.UTC)


def _jane(engine: Engine) -> Member:
    import_members(engine, parse_members_csv(MEMBERS, "iims"))
    with transaction(engine) as session:
        member = session.get(Member, 1)
        assert member is not None
        return member


def test_two_hard_bounces_make_an_address_bouncing_until_it_changes(engine: Engine) -> None:
    jane = _jane(engine)
    with transaction(engine) as session:
        bounces.record(session, jane, "jane@example.com", "4.2.2", False, AT)
        row = bounces.record(session, jane, "jane@example.com", "5.1.1", True, AT)
        assert not row.bouncing
    assert bounces.bouncing_addresses(engine) == set()
    with transaction(engine) as session:
        assert bounces.record(session, jane, "jane@example.com", "5.1.1", True, AT).bouncing
    assert bounces.bouncing_addresses(engine) == {"jane@example.com"}
    [(member, row)] = bounces.bouncing_members(engine)
    assert (member.membership_no, row.hard_bounces, row.soft_bounces) == ("M1", 2, 1)
    assert row.last_status == "5.1.1"
    import_members(engine, parse_members_csv(MEMBERS.replace("Jane@Example", "jane@new"), "iims"))
    assert bounces.bouncing_addresses(engine) == set() and bounces.bouncing_members(engine) == []


def test_the_secret_is_made_once_and_kept(engine: Engine) -> None:
    first = bounces.secret(engine, "mail_tokens")
    assert len(bytes.fromhex(first)) == 32
    assert bounces.secret(engine, "mail_tokens") == first
    assert bounces.secret(engine, "other") != first


def test_the_migration_goes_down_and_up(engine: Engine) -> None:
    assert {"mail_bounce", "app_secret"} <= table_names(engine)
    downgrade(engine, "0003_telegram_inbox")
    assert not {"mail_bounce", "app_secret"} & table_names(engine)
    migrate(engine)
    assert {"mail_bounce", "app_secret"} <= table_names(engine)
