"""Views: claims as channels show them, built in batches (members, deciders and evidence
counts read with one query each for a whole list, never one query per row)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import TYPE_CHECKING

from cpd import rules
from cpd.claims import evaluation, identity
from cpd.claims.intake import ClaimError, ClaimView, Sender
from cpd.storage import Session, claim_reading, claims_repo, models, reading
from cpd.storage.queries import claims_of_member, members_by_id

if TYPE_CHECKING:
    from cpd.claims.service import ClaimsService


def needs(low_confidence: float, member: models.Member, claim: models.Claim) -> tuple[str, ...]:
    """What a draft still needs from the member: kind, hours, reflection, category."""
    scheme = rules.load_scheme(member.scheme)
    found: list[str] = []
    if claim.confidence is not None and claim.confidence < low_confidence:
        found.append("kind")
    category = (
        scheme.category(claim.category_override)
        if claim.category_override
        else scheme.category_for(claim.kind, claim.provider)
    )
    if category is not None and category.rate.per_hour is not None and claim.hours is None:
        found.append("hours")
    given = claim.reflections or {}
    reflections = rules.Reflections(
        given.get("new_knowledge"), given.get("behaviour"), given.get("impact")
    )
    if scheme.reflection_required == "new_knowledge" and not reflections.has("new_knowledge"):
        found.append("reflection")
    if scheme.reflection_required == "any" and not reflections.any():
        found.append("reflection")
    if scheme.member_may_choose_category and claim.category_override is None:
        found.append("category")
    return tuple(found)


def views(svc: ClaimsService, session: Session, claims: Sequence[models.Claim]) -> list[ClaimView]:
    """The views of these claims (three queries whatever their number)."""
    ids = [c.id for c in claims if c.id is not None]
    people = {c.member_id for c in claims} | {c.decided_by for c in claims if c.decided_by}
    members = {m.id: m for m in members_by_id(session, sorted(people))}
    counts = claims_repo.evidence_counts(session, ids)
    return [_view(svc, claim, members, counts.get(claim.id or 0, 0)) for claim in claims]


def view(svc: ClaimsService, session: Session, claim: models.Claim) -> ClaimView:
    """One claim's view."""
    return views(svc, session, [claim])[0]


def _view(
    svc: ClaimsService,
    claim: models.Claim,
    members: dict[int | None, models.Member],
    evidence_count: int,
) -> ClaimView:
    member = members.get(claim.member_id)
    assert member is not None and claim.id is not None
    scheme = rules.load_scheme(member.scheme)
    decided_by = None
    if claim.decided_by is not None:
        secretary = members.get(claim.decided_by)
        decided_by = secretary.name if secretary else None
    notes = claim_reading.notes(claim)
    return ClaimView(
        id=claim.id,
        member_no=member.membership_no,
        member_name=member.name,
        scheme=scheme.id,
        status=claim.status,
        kind=claim.kind,
        title=claim.title,
        start_date=claim.start_date,
        end_date=claim.end_date,
        hours=claim.hours,
        provider=claim.provider,
        has_test=claim.has_test,
        confidence=claim.confidence,
        proposed_points=claim.proposed_points,
        awarded_points=claim.awarded_points,
        rule_note=notes.rule_note,
        unit=scheme.unit,
        category=claim.category_override or notes.category,
        reflections=dict(claim.reflections or {}),
        evidence_count=evidence_count,
        needs=(
            needs(svc.low_confidence, member, claim) if claim.status in ("draft", "pending") else ()
        ),
        flags=notes.flags,
        decided_by=decided_by,
        decided_at=claim.decided_at,
        decision_reason=claim.decision_reason,
        verification=claim.verification,
        verification_domain=claim.verification_domain,
        verification_reasons=tuple(claim.verification_reasons or ()),
        duplicate_of=claim.duplicate_of,
        duplicate_why=notes.duplicate_why if claim.duplicate_of is not None else None,
        duplicate_claimed_on=notes.duplicate_claimed_on if claim.duplicate_of else None,
        auto_accepted=notes.auto_accepted,
    )


def by_id(svc: ClaimsService, claim_id: int) -> ClaimView:
    """One claim's view by id; ClaimError when there is none."""
    with reading(svc.engine) as session:
        claim = claims_repo.get(session, claim_id)
        if claim is None:
            raise ClaimError(f"There is no claim #{claim_id}.")
        return view(svc, session, claim)


def pending(svc: ClaimsService) -> list[ClaimView]:
    """Claims waiting for a decision, oldest first."""
    with reading(svc.engine) as session:
        return views(svc, session, claims_repo.pending(session))


def for_source(svc: ClaimsService, source_key: str) -> ClaimView | None:
    """The claim a message created, if any."""
    with reading(svc.engine) as session:
        claim = claims_repo.by_source(session, source_key)
        return None if claim is None else view(svc, session, claim)


def evidence(svc: ClaimsService, claim_id: int) -> list[models.EvidenceFile]:
    """The evidence files of a claim."""
    with reading(svc.engine) as session:
        return claims_repo.evidence_of(session, [claim_id])


def history(svc: ClaimsService, sender: Sender, limit: int = 20) -> list[ClaimView]:
    """The member's latest claims, newest activity first."""
    with reading(svc.engine) as session:
        member = identity.require_member(session, sender)
        assert member.id is not None
        claims = claims_of_member(session, member.id)
        return views(svc, session, list(reversed(claims[-limit:])))


def progress(
    svc: ClaimsService, sender: Sender, as_of: dt.date | None = None
) -> tuple[models.Member, rules.Scheme, rules.Evaluation]:
    """The member's standing now (or on ``as_of``)."""
    with reading(svc.engine) as session:
        member = identity.require_member(session, sender)
        standing = evaluation.standing(session, member, as_of or svc.today())
        return member, rules.load_scheme(member.scheme), standing


def categories(svc: ClaimsService, claim_id: int) -> list[tuple[str, str]]:
    """The (id, name) categories a member may choose from for a claim's scheme."""
    with reading(svc.engine) as session:
        claim = claims_repo.get(session, claim_id)
        member = members_by_id(session, [claim.member_id]) if claim else []
        if not member:
            return []
        return [(c.id, c.name) for c in rules.load_scheme(member[0].scheme).categories]
