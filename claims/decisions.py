"""Decisions: who may decide (:func:`require_secretary`, the one place the secretary role is
checked), and a secretary's accept, accept with other points or decline of a pending claim.

A decision only applies to a claim still pending (one conditional update), so two secretaries
tapping at once get exactly one decision. An acceptance is evaluated once (the engine's
proposal gives the points and the standing with them); a decline evaluates nothing.
"""

from __future__ import annotations

import enum
import logging
from typing import TYPE_CHECKING

from cpd import rules
from cpd.claims import claim_notices, evaluation, identity, texts, views
from cpd.claims.intake import ClaimError, Decision, NotAllowed, Sender
from cpd.storage import Session, claims_repo, models, reading, transaction
from cpd.storage import members as members_repo
from cpd.storage.queries import add_audit

if TYPE_CHECKING:
    from cpd.claims.service import ClaimsService

log = logging.getLogger(__name__)

MAX_MANUAL_POINTS = 100.0
SECRETARY = "secretary"


class Action(enum.StrEnum):
    """What a secretary does with a pending claim."""

    ACCEPT = "accept"
    ACCEPT_POINTS = "accept_points"
    DECLINE = "decline"


def secretary_or_none(session: Session, sender: Sender) -> models.Member | None:
    """The sender when they are a member with the secretary role, else None."""
    member = identity.member_of(session, sender)
    return member if member is not None and has_secretary_role(member.role) else None


def has_secretary_role(role: str) -> bool:
    """Whether a member's role lets them decide claims (every channel asks this, the web
    through :class:`~cpd.claims.web_access.WebUser`)."""
    return role == SECRETARY


def not_a_secretary(doing: str) -> NotAllowed:
    """The refusal for someone without the secretary role."""
    return NotAllowed(f"Only the membership secretary can {doing}.")


def require_secretary(session: Session, sender: Sender, doing: str) -> models.Member:
    """The sender as a secretary; NotAllowed ("Only the membership secretary can ...")."""
    secretary = secretary_or_none(session, sender)
    if secretary is None:
        raise not_a_secretary(doing)
    return secretary


def is_secretary(svc: ClaimsService, sender: Sender) -> bool:
    """Whether the sender is a member with the secretary role."""
    with reading(svc.engine) as session:
        return secretary_or_none(session, sender) is not None


def refuse(svc: ClaimsService, sender: Sender, claim_id: int, action: str) -> None:
    """Log and audit a decision tried by someone who is not a secretary."""
    log.warning("refused %s on claim %s from %s: not a secretary", action, claim_id, sender.key())
    with transaction(svc.engine) as session:
        add_audit(
            session,
            sender.key(),
            "decision.refused",
            details={"claim_id": claim_id, "action": action, "why": "not a secretary"},
        )


def decide(
    svc: ClaimsService,
    claim_id: int,
    sender: Sender,
    action: Action,
    points: float | None = None,
    reason: str | None = None,
) -> Decision:
    """Accept, accept with other points or decline a pending claim."""
    with reading(svc.engine) as session:
        secretary = secretary_or_none(session, sender)
        if secretary is None:
            refuse(svc, sender, claim_id, action.value)
            raise NotAllowed("Only the membership secretary can decide claims.")
        secretary_name, secretary_id = secretary.name, secretary.id
    if action is Action.ACCEPT_POINTS and (points is None or not 0 <= points <= MAX_MANUAL_POINTS):
        raise ClaimError(f"Points must be a number from 0 to {texts.fmt(MAX_MANUAL_POINTS)}.")
    if action is Action.DECLINE and not (reason and reason.strip()):
        raise ClaimError("Please give a reason for declining: the member will see it.")
    now = svc.clock()
    with transaction(svc.engine) as session:
        claim = claims_repo.get(session, claim_id)
        if claim is None:
            raise ClaimError(f"There is no claim #{claim_id}.")
        member = members_repo.get(session, claim.member_id)
        assert member is not None
        standing: rules.Evaluation | None = None  # nothing is evaluated on a decline
        awarded: float | None = None
        status = "declined" if action is Action.DECLINE else "accepted"
        if action is Action.ACCEPT_POINTS:
            awarded = round(points or 0.0, 2)
        elif action is Action.ACCEPT:
            proposal = evaluation.propose(session, member, claim, svc.today())
            awarded = proposal.result.points
            if proposal.as_of == svc.today():
                standing = proposal.standing  # the standing with this claim accepted
        changed = claims_repo.decide_if_pending(
            session,
            claim_id,
            status=status,
            awarded=awarded,
            decided_by=secretary_id,
            reason=(reason or "").strip() or None,
            now=now,
        )
        if not changed:
            session.rollback()
            view = views.by_id(svc, claim_id)
            return Decision(view, False, texts.already_decided(view))
        session.expire(claim)
        add_audit(
            session,
            sender.key(),
            f"claim.{status}",
            member_id=member.id,
            claim_id=claim_id,
            details={"points": awarded, "reason": reason, "secretary": secretary_name},
        )
        view = views.view(svc, session, claim)
        if status == "accepted":
            if standing is None:  # manual points, or an activity that ends after today
                standing = evaluation.standing(session, member, svc.today(), [claim])
            message = texts.accepted(view, rules.load_scheme(member.scheme), standing)
        else:
            message = texts.declined(view)
        claim_notices.to_member(session, member, claim, status, message)
        outcome = texts.card_outcome(view, f"{status} by {secretary_name}")
        claim_notices.card_final(session, svc.secretary_chat_id, claim, outcome)
        return Decision(view, True, message)


def card_location(svc: ClaimsService, claim_id: int) -> tuple[int, int] | None:
    """Where the secretary's card for a claim was posted, if it was."""
    with reading(svc.engine) as session:
        claim = claims_repo.get(session, claim_id)
        if claim is None or claim.card_message_id is None or claim.card_chat_id is None:
            return None
        return claim.card_chat_id, claim.card_message_id
