"""A member's standing: stored claims turned into rules values and evaluated."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from cpd import rules
from cpd.claims.members import MemberNotFound
from cpd.storage import Engine, models, reading
from cpd.storage import members as members_repo
from cpd.storage.queries import (
    claims_of_member,
    granted_dispensations,
    granted_dispensations_by_member,
    member_by_number,
    stream_claim_rows,
    stream_member_rows,
)


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
    with reading(engine) as session:
        member = member_by_number(session, membership_no)
        if member is None:
            raise MemberNotFound(f"no member with membership number {membership_no!r}")
        claims = claims_of_member(session, members_repo.id_of(member))
        dispensations = granted_dispensations(session, members_repo.id_of(member))
    scheme = rules.load_scheme(member.scheme)
    evaluation = rules.evaluate(
        scheme,
        rules_member(member.joined, member.grade, dispensations, member.diploma_start),
        [rules_claim(c) for c in claims],
        as_of,
    )
    return Standing(member, claims, scheme, evaluation)


@dataclass(frozen=True, slots=True)
class MemberStanding:
    """One member's evaluation in a bulk run (the member as plain values)."""

    member_id: int
    membership_no: str
    scheme: str
    evaluation: rules.Evaluation
    last_claim: dt.date | None = None
    """The latest activity date among the member's claims (not drafts nor withdrawn)."""
    claims_in_period: int = 0
    """The member's claims (not drafts nor withdrawn) dated in the evaluated period."""


_NOT_MADE = frozenset({"draft", "withdrawn"})


def all_standings(
    engine: Engine,
    as_of: dt.date,
    first_member_id: int | None = None,
    last_member_id: int | None = None,
    batch_size: int = 20_000,
) -> Iterator[MemberStanding]:
    """Every member's standing on ``as_of``, streamed in member-id order with flat memory.

    Members and claims are read by two ordered cursors and merged, so each member costs the
    same however many there are; an id range lets several processes share the work.
    """
    dispensations = granted_dispensations_by_member(engine)
    claim_rows = stream_claim_rows(engine, batch_size, first_member_id, last_member_id)
    pending = next(claim_rows, None)
    for member_id, number, scheme_id, grade, joined, diploma_start in stream_member_rows(
        engine, batch_size, first_member_id, last_member_id
    ):
        claims: list[rules.Claim] = []
        while pending is not None and pending[0] <= member_id:
            if pending[0] == member_id:
                claims.append(rules_claim_from_row(pending))
            pending = next(claim_rows, None)
        evaluation = rules.evaluate(
            rules.load_scheme(scheme_id),
            rules_member(joined, grade, dispensations.get(member_id, ()), diploma_start),
            claims,
            as_of,
        )
        made = [c.date for c in claims if c.status not in _NOT_MADE]
        yield MemberStanding(
            member_id,
            number,
            scheme_id,
            evaluation,
            max(made, default=None),
            sum(1 for d in made if evaluation.period_start <= d <= evaluation.period_end),
        )
