"""Bulk standings (nudges, period ends, the benchmark) agree with one-member standings."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Engine

from cpd.claims.members import import_members, parse_members_csv
from cpd.claims.standing import all_standings, standing
from cpd.storage import Claim, Dispensation, transaction
from cpd.storage.queries import member_by_number, member_id_bounds

CSV = """membership_no,name,email,scheme,grade,joined,role
A1,Ann,a1@example.com,iims,member,2019-05-01,member
A2,Bob,a2@example.com,iim,professional,2019-05-01,member
A3,Cat,a3@example.com,imi,member,2024-09-01,member
A4,Dan,a4@example.com,ibms,,2019-05-01,member
A5,Eve,a5@example.com,iims,member,2019-05-01,member
"""


def test_bulk_and_single_standings_agree(engine: Engine) -> None:
    import_members(engine, parse_members_csv(CSV, "iims"))
    with transaction(engine) as session:
        for number, kinds in (
            ("A1", ["exhibition"] * 4),
            ("A2", ["teaching", "reading"]),
            ("A3", ["training"] * 3),
            ("A4", ["committee", "reading"]),
        ):
            member = member_by_number(session, number)
            for i, kind in enumerate(kinds):
                session.add(
                    Claim(
                        member_id=member.id,
                        channel="cli",
                        source_key=f"{number}{i}",
                        kind=kind,
                        hours=3,
                        start_date=dt.date(2026, 2, 1 + i),
                        title=f"t{i}",
                        status="accepted",
                        reflections={"new_knowledge": "learnt"},
                    )
                )
        session.add(Dispensation(member_id=member_by_number(session, "A5").id, period_key=2026))
    as_of = dt.date(2026, 11, 23)
    bulk = {
        s.membership_no: s.evaluation.to_json() for s in all_standings(engine, as_of, batch_size=2)
    }
    assert sorted(bulk) == ["A1", "A2", "A3", "A4", "A5"]
    for number, evaluation in bulk.items():
        assert evaluation == standing(engine, number, as_of).evaluation.to_json()
    assert bulk["A1"]["total"] == 4 and bulk["A5"]["target"] == 0
    low, high = member_id_bounds(engine)
    halves = [
        *all_standings(engine, as_of, low, low + 1),
        *all_standings(engine, as_of, low + 2, high),
    ]
    assert [s.membership_no for s in halves] == ["A1", "A2", "A3", "A4", "A5"]
