"""A member's standing: stored claims turned into rules values and evaluated."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine
from sqlmodel import Session

from cpd import rules
from cpd.claims.members import MemberNotFound
from cpd.storage import models
from cpd.storage.queries import claims_of_member, granted_dispensations, member_by_number


@dataclass(frozen=True, slots=True)
class Standing:
    """A member, their claims, and the evaluation of them on a date."""

    member: models.Member
    claims: list[models.Claim]
    scheme: rules.Scheme
    evaluation: rules.Evaluation


def rules_member(
    joined: dt.date, grade: str | None, dispensations: Iterable[int], diploma_start: dt.date | None
) -> rules.Member:
    """The rules engine's view of a member."""
    return rules.Member(joined, grade, frozenset(dispensations), diploma_start)


def _reflections(value: Any) -> rules.Reflections:
    if not value:
        return rules.Reflections()
    return rules.Reflections(
        value.get("new_knowledge"), value.get("behaviour"), value.get("impact")
    )


def rules_claim_from_row(row: Sequence[Any]) -> rules.Claim:
    """A rules claim from a row of ``storage.queries.EVALUATION_COLUMNS`` (the fast path)."""
    (
        _member_id,
        claim_id,
        kind,
        start,
        end,
        hours,
        provider,
        has_test,
        co_authors,
        title,
        category,
        awarded,
        reflections,
        status,
    ) = row
    return rules.Claim(
        id=str(claim_id),
        kind=kind,
        date=start,
        hours=hours,
        end_date=end,
        provider=provider,
        has_test=bool(has_test),
        co_authors=co_authors,
        title=title or "",
        category=category,
        points=awarded if status == "accepted" else None,
        reflections=_reflections(reflections),
        status=status,
    )


def rules_claim(claim: models.Claim) -> rules.Claim:
    """A rules claim from a stored claim (its awarded points, once decided, are final)."""
    return rules.Claim(
        id=str(claim.id),
        kind=claim.kind,
        date=claim.start_date,
        hours=claim.hours,
        end_date=claim.end_date,
        provider=claim.provider,
        has_test=claim.has_test,
        co_authors=claim.co_authors,
        title=claim.title,
        category=claim.category_override,
        points=claim.awarded_points if claim.status == "accepted" else None,
        reflections=_reflections(claim.reflections),
        status=claim.status,
    )


def standing(engine: Engine, membership_no: str, as_of: dt.date) -> Standing:
    """The member's standing on ``as_of``; MemberNotFound if there is no such member."""
    with Session(engine, expire_on_commit=False) as session:
        member = member_by_number(session, membership_no)
        if member is None:
            raise MemberNotFound(f"no member with membership number {membership_no!r}")
        claims = claims_of_member(session, member.id)  # type: ignore[arg-type]
        dispensations = granted_dispensations(session, member.id)  # type: ignore[arg-type]
    scheme = rules.load_scheme(member.scheme)
    evaluation = rules.evaluate(
        scheme,
        rules_member(member.joined, member.grade, dispensations, member.diploma_start),
        [rules_claim(c) for c in claims],
        as_of,
    )
    return Standing(member, claims, scheme, evaluation)
