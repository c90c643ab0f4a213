"""What a member adds to a claim after the fact (issue 15): the "Impact and results"
reflection on an accepted claim, which earns the scheme's impact credit (``extras``), and the
answer "send anyway" to a draft marked as a duplicate (by a reply to its mail).

An impact reflection added late earns the credit once (the claim then has one), within the
scheme's ``reflections_max`` with what its other reflections earned; the awarded points grow by
that credit, audited as ``claim.impact_added``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from cpd import rules
from cpd.claims import draft_changes, drafts, identity, texts, views
from cpd.claims.intake import Amendment, ClaimError, ClaimView, Intake, Sender
from cpd.rules.values import number
from cpd.storage import Session, models, transaction
from cpd.storage import followups as followups_repo
from cpd.storage.queries import add_audit

if TYPE_CHECKING:
    from cpd.claims.service import ClaimsService

IMPACT: Final = "impact"
MIN_WORDS = 3
"""A late reflection has at least this many words ("Yes" is no reflection)."""


def impact_credit(scheme: rules.Scheme, claim: models.Claim) -> float:
    """What an impact reflection added now would earn on ``claim`` (0: nothing, or it has one)."""
    credits = scheme.extras.reflections
    credit = float(credits.get(IMPACT, 0))
    given = claim.reflections or {}
    if credit <= 0 or given.get(IMPACT):
        return 0.0
    if scheme.extras.reflections_max is not None:
        earned = sum(float(v) for k, v in credits.items() if k != IMPACT and given.get(k))
        credit = max(0.0, min(credit, scheme.extras.reflections_max - earned))
    return credit


def wants_impact(scheme: rules.Scheme, claim: models.Claim) -> bool:
    """Whether an accepted claim could still earn the impact credit."""
    return claim.status == "accepted" and impact_credit(scheme, claim) > 0


def add_impact_in(
    session: Session, member: models.Member, claim: models.Claim, text: str, sender: Sender
) -> str:
    """Add the impact reflection to an accepted claim and its credit to the awarded points;
    the member's answer. ClaimError when it earns nothing or says too little."""
    scheme = rules.load_scheme(member.scheme)
    credit = impact_credit(scheme, claim) if claim.status == "accepted" else 0.0
    if credit <= 0:
        raise ClaimError(f"Claim #{claim.id} cannot take an impact reflection now.")
    if len(text.split()) < MIN_WORDS:
        raise ClaimError("Tell me in a sentence or two what impact and results it has had.")
    claim.reflections = {**(claim.reflections or {}), IMPACT: text.strip()[:4000]}
    claim.awarded_points = round((claim.awarded_points or 0.0) + credit, 2)
    add_audit(
        session,
        sender.key(),
        "claim.impact_added",
        member_id=member.id,
        claim_id=claim.id,
        details={"credit": credit, "awarded_points": claim.awarded_points},
    )
    return (
        f"Thank you: your impact reflection on claim #{claim.id} ({claim.title}) earned "
        f"{texts.amount(credit, scheme.unit)}; it now holds "
        f"{texts.amount(claim.awarded_points, scheme.unit)}."
    )


def add_reflection(
    svc: ClaimsService, claim_id: int, sender: Sender, field: str, text: str
) -> tuple[ClaimView, str]:
    """A reflection from a button's question: on a draft it is a correction; the impact
    reflection on an accepted claim earns its credit. (the claim, a message; "" for a draft)"""
    with transaction(svc.engine) as session:
        member = identity.require_member(session, sender)
        claim = drafts.own_claim(session, claim_id, member)
        if claim.status != "draft" and field == IMPACT:
            message = add_impact_in(session, member, claim, text, sender)
            return views.view(svc, session, claim), message
    changes = draft_changes.DraftChanges(reflections={field: text.strip()[:4000]})
    return draft_changes.update_draft(svc, claim_id, sender, changes), ""


def from_reply(
    svc: ClaimsService,
    session: Session,
    member: models.Member,
    claim: models.Claim,
    intake: Intake,
    text: str,
) -> Amendment | None:
    """A reply that sends a duplicate anyway, or adds a late impact reflection to a claim the
    member was asked about (``claims.followups``), applied; None when the reply is neither
    (the amendment handles it)."""
    scheme = rules.load_scheme(member.scheme)
    if (
        claim.status == "draft"
        and claim.duplicate_of is not None
        and texts.SEND_ANYWAY in " ".join(text.lower().split())
    ):
        receipt = texts.mail_receipt if claim.channel == "email" else texts.receipt
        view = drafts.submit_in(svc, session, member, claim, intake.sender, receipt)
        draft_changes.audit_duplicate(session, intake.sender, claim, "claim.duplicate_confirmed")
        return Amendment(view, "amended", texts.receipt(view), {"sent_anyway": True})
    asked = claim.id is not None and followups_repo.was_sent(session, f"claim:{claim.id}", IMPACT)
    if asked and wants_impact(scheme, claim) and len(text.split()) >= MIN_WORDS:
        message = add_impact_in(session, member, claim, text, intake.sender)
        view = views.view(svc, session, claim)
        return Amendment(view, "amended", message, {"impact": number(view.awarded_points or 0)})
    return None
