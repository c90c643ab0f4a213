"""A member's standing from stored claims: awarded points are final, statuses respected."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Engine

from cpd.claims.members import import_members, parse_members_csv
from cpd.claims.standing import standing
from cpd.claims.texts import balance_sentence
from cpd.storage import Claim, Dispensation, transaction
from cpd.storage.queries import member_by_number
from tests.support.seeds import add_reflected_activities

CSV = """membership_no,name,email,scheme,grade,joined,role
M1,Jane Surveyor,jane@example.com,iims,member,2019-05-01,member
B1,Bea Scientist,bea@example.com,ibms,,2018-01-01,member
"""


def _add(engine: Engine, number: str, *claims: dict[str, object]) -> None:
    with transaction(engine) as session:
        member = member_by_number(session, number)
        for i, values in enumerate(claims):
            session.add(
                Claim(member_id=member.id, channel="cli", source_key=f"{number}:{i}", **values)
            )


def test_standing_uses_awarded_points_and_only_accepted_claims(engine: Engine) -> None:
    import_members(engine, parse_members_csv(CSV, "iims"))
    _add(
        engine,
        "M1",
        {
            "kind": "training",
            "provider": "institute",
            "start_date": dt.date(2026, 3, 1),
            "status": "accepted",
            "awarded_points": 4,
        },
        {"kind": "exhibition", "start_date": dt.date(2026, 5, 1), "status": "accepted"},
        {"kind": "exhibition", "start_date": dt.date(2026, 6, 1), "status": "pending"},
        {"kind": "exhibition", "start_date": dt.date(2026, 7, 1), "status": "declined"},
    )
    result = standing(engine, "M1", dt.date(2026, 11, 23))
    ev = result.evaluation
    assert (ev.earned, ev.total, ev.remaining) == (5, 5, 5)
    assert [r.counted for r in ev.claims] == [True, True, False, False]
    assert "awarded by the secretary" in ev.claims[0].note
    assert balance_sentence(result.scheme, ev) == (
        "5 points of 10; you need 5 more by 31 December 2026."
    )


def test_granted_dispensation_removes_the_target(engine: Engine) -> None:
    import_members(engine, parse_members_csv(CSV, "iims"))
    with transaction(engine) as session:
        member = member_by_number(session, "M1")
        session.add(Dispensation(member_id=member.id, period_key=2026, status="granted"))
        session.add(Dispensation(member_id=member.id, period_key=2025, status="refused"))
    ev = standing(engine, "M1", dt.date(2026, 11, 23)).evaluation
    assert ev.target == 0 and ev.met and ev.dispensation
    assert standing(engine, "M1", dt.date(2025, 11, 23)).evaluation.target == 10


def test_ibms_standing_reports_the_diploma(engine: Engine) -> None:
    import_members(engine, parse_members_csv(CSV, "iims"))
    add_reflected_activities(engine, "B1", dt.date(2026, 1, 1))
    result = standing(engine, "B1", dt.date(2026, 11, 23))
    assert result.evaluation.diploma.ready is True
    assert result.evaluation.diploma.categories == ("formal", "professional", "work-based")
    assert balance_sentence(result.scheme, result.evaluation).startswith(
        "Your diploma is ready to submit"
    )
