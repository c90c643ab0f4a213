"""Stored claims for tests that need a member's history without going through a channel."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Engine

from cpd.storage import Claim, transaction
from cpd.storage.queries import member_by_number

DIPLOMA_KINDS = ("work_project", "committee", "training")  # three IBMS categories


def add_reflected_activities(
    engine: Engine,
    membership_no: str,
    first_day: dt.date,
    count: int = 24,
    step: dt.timedelta = dt.timedelta(days=1),
    key_prefix: str = "seed",
) -> None:
    """``count`` accepted activities with a reflection, spread over three IBMS categories."""
    with transaction(engine) as session:
        member = member_by_number(session, membership_no)
        assert member is not None, membership_no
        for i in range(count):
            session.add(
                Claim(
                    member_id=member.id,
                    channel="cli",
                    source_key=f"{key_prefix}{i}",
                    kind=DIPLOMA_KINDS[i % 3],
                    status="accepted",
                    start_date=first_day + step * i,
                    reflections={"new_knowledge": f"learnt {i}"},
                )
            )
