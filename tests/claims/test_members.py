"""Member import and invites, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select

from cpd.claims.members import (
    MemberNotFound,
    create_invite,
    import_members,
    parse_members_csv,
    token_digest,
)
from cpd.rules import InputError
from cpd.storage import AuditEntry, InviteToken, Member

CSV = """membership_no,name,email,scheme,grade,joined,role
M1,Jane Surveyor,Jane@Example.com,iims,member,2019-05-01,member
M2,Sam Secretary,sec@example.com,,,2015-01-01,secretary
"""


def test_import_is_idempotent_and_updates_changed_rows(engine: Engine) -> None:
    rows = parse_members_csv(CSV, default_scheme="iim")
    assert [r.scheme for r in rows] == ["iims", "iim"]
    assert rows[0].email == "jane@example.com"
    first = import_members(engine, rows)
    assert first.created == ["M1", "M2"]
    assert import_members(engine, rows).unchanged == ["M1", "M2"]
    changed = parse_members_csv(CSV.replace("Jane Surveyor", "Jane Q. Surveyor"), "iim")
    report = import_members(engine, changed)
    assert (report.updated, report.unchanged) == (["M1"], ["M2"])
    with Session(engine) as session:
        assert session.exec(select(Member).where(Member.membership_no == "M1")).one().name == (
            "Jane Q. Surveyor"
        )
        actions = [a.action for a in session.exec(select(AuditEntry)).all()]
    assert actions == ["member.created", "member.created", "member.updated"]


@pytest.mark.parametrize(
    ("csv", "words"),
    [
        ("name,email\nJane,j@example.com\n", "missing column(s) membership_no, joined"),
        (CSV + "M3,X,x@example.com,nope,,2020-01-01,member\n", "line 4: scheme"),
        (CSV + "M3,X,not-an-email,iims,,2020-01-01,member\n", "line 4: email"),
        (CSV + "M3,X,JANE@example.com,iims,,2020-01-01,member\n", "repeats line 2"),
        (CSV + "M1,X,x@example.com,iims,,2020-01-01,member\n", "line 4: membership_no"),
        (CSV + "M3,X,x@example.com,iims,,2020-01-01,admin\n", "line 4: role"),
        (CSV + "M3,,x@example.com,iims,,2020-01-01,member\n", "line 4: name"),
    ],
)
def test_bad_rows_are_refused_with_line_and_column(csv: str, words: str) -> None:
    with pytest.raises(InputError, match=words.replace("(", r"\(").replace(")", r"\)")):
        parse_members_csv(csv, default_scheme="iims")


def test_invite_stores_only_the_hash_and_expires(engine: Engine) -> None:
    import_members(engine, parse_members_csv(CSV, "iims"))
    token, expires = create_invite(engine, "M1", dt.timedelta(days=14))
    other, _ = create_invite(engine, "M1", dt.timedelta(days=14))
    assert token != other
    with Session(engine) as session:
        stored = session.exec(select(InviteToken)).all()
    assert {s.token_sha256 for s in stored} == {token_digest(token), token_digest(other)}
    assert all(token not in s.token_sha256 for s in stored)
    assert expires > dt.datetime.now(dt.UTC) + dt.timedelta(days=13)
    with pytest.raises(MemberNotFound):
        create_invite(engine, "NOPE", dt.timedelta(days=1))


HEADER = "membership_no,name,email,scheme,grade,joined,role\n"


def numbers(engine: Engine) -> list[str]:
    with Session(engine) as session:
        return sorted(m.membership_no for m in session.exec(select(Member)).all())


def test_another_members_email_refuses_the_whole_file_naming_every_row(engine: Engine) -> None:
    import_members(engine, parse_members_csv(CSV, "iims"))
    with Session(engine) as session:  # an address stored in mixed case by an older version
        member = session.exec(select(Member).where(Member.membership_no == "M2")).one()
        member.email = "Sec@Example.com"
        session.add(member)
        session.commit()
    text = HEADER + (
        "N1,New One,new1@example.com,iims,,2020-01-01,member\n"
        "N2,New Two,JANE@example.COM,iims,,2020-01-01,member\n"
        "N3,New Three,sec@example.com,iims,,2020-01-01,member\n"
    )
    with pytest.raises(InputError) as refused:
        import_members(engine, parse_members_csv(text, "iims"), source="new.csv")
    assert str(refused.value) == (
        "new.csv: nothing imported: line 3: email 'jane@example.com' belongs to member M1; "
        "line 4: email 'sec@example.com' belongs to member M2"
    )
    assert numbers(engine) == ["M1", "M2"]  # not even N1


def test_a_member_keeps_their_own_email_and_two_members_may_swap(engine: Engine) -> None:
    import_members(engine, parse_members_csv(CSV, "iims"))
    same = HEADER + "M1,Jane Surveyor,JANE@example.com,iims,member,2019-05-01,member\n"
    assert import_members(engine, parse_members_csv(same, "iims")).unchanged == ["M1"]
    swap = HEADER + (
        "M1,Jane Surveyor,sec@example.com,iims,member,2019-05-01,member\n"
        "M2,Sam Secretary,jane@example.com,iims,,2015-01-01,secretary\n"
    )
    assert import_members(engine, parse_members_csv(swap, "iims")).updated == ["M1", "M2"]


def test_every_bad_row_is_listed_at_once() -> None:
    text = HEADER + "".join(f"B{i},Bad,b{i}@example.com,iims,,someday,member\n" for i in range(12))
    with pytest.raises(InputError) as refused:
        parse_members_csv(text, "iims", source="bad.csv")
    message = str(refused.value)
    assert message.startswith("bad.csv: nothing imported: line 2: joined: 'someday'")
    assert "line 11: joined" in message and message.endswith("; and 2 more")
    assert "\n" not in message
