"""One evaluation per transition.

A member's claims and granted dispensations are loaded once per transaction (kept on the
session), what a claim would earn comes from the engine's own :func:`cpd.rules.propose`, and a
proposal already made in the transaction for the same claim, unchanged, is not made again (a
mail claim is drafted and submitted in one transaction: one evaluation).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, replace

from cpd import rules
from cpd.claims.standing import rules_claim, rules_member
from cpd.storage import Session, models
from cpd.storage.queries import claims_of_member, granted_dispensations

_HISTORY = "cpd.claims.history"
_PROPOSED = "cpd.claims.proposed"


@dataclass(frozen=True, slots=True)
class History:
    """What the engine needs of a member: their scheme, them as rules values, their claims."""

    scheme: rules.Scheme
    member: rules.Member
    claims: tuple[rules.Claim, ...]

    def with_current(self, changed: Sequence[models.Claim]) -> list[rules.Claim]:
        """The claims with ``changed`` ones as they are now (added when they are new)."""
        fresh = {str(c.id): rules_claim(c) for c in changed}
        kept = [c for c in self.claims if c.id not in fresh]
        return [*kept, *fresh.values()]


def history(session: Session, member: models.Member) -> History:
    """The member's history, loaded once per transaction (``session``)."""
    assert member.id is not None
    cache: dict[int, History] = session.info.setdefault(_HISTORY, {})
    found = cache.get(member.id)
    if found is None:
        found = History(
            rules.load_scheme(member.scheme),
            rules_member(
                member.joined,
                member.grade,
                granted_dispensations(session, member.id),
                member.diploma_start,
            ),
            tuple(rules_claim(c) for c in claims_of_member(session, member.id)),
        )
        cache[member.id] = found
    return found


def standing(
    session: Session,
    member: models.Member,
    as_of: dt.date,
    changed: Sequence[models.Claim] = (),
) -> rules.Evaluation:
    """The member's standing on ``as_of`` (``changed``: claims altered in this transaction)."""
    found = history(session, member)
    return rules.evaluate(found.scheme, found.member, found.with_current(changed), as_of)


@dataclass(frozen=True, slots=True)
class Proposal:
    """What a claim would earn if accepted now, and the member's standing with it accepted."""

    result: rules.ClaimResult
    standing: rules.Evaluation
    as_of: dt.date


def propose(
    session: Session, member: models.Member, claim: models.Claim, today: dt.date
) -> Proposal:
    """The engine's proposal for ``claim`` (as it is now), once per claim state per transaction."""
    candidate = replace(rules_claim(claim), status="accepted", points=None)
    as_of = max(today, claim.end_date or claim.start_date)
    made: dict[str, tuple[rules.Claim, Proposal]] = session.info.setdefault(_PROPOSED, {})
    earlier = made.get(candidate.id)
    if earlier is not None and earlier[0] == candidate and earlier[1].as_of == as_of:
        return earlier[1]
    found = history(session, member)
    result, evaluation = rules.propose(found.scheme, found.member, found.claims, candidate, as_of)
    proposal = Proposal(result, evaluation, as_of)
    made[candidate.id] = (candidate, proposal)
    return proposal
