"""Auto-approval with spot checks (issue 15), off unless the scheme file's ``auto_approval``
block turns it on.

A submitted claim that matches one of the body's own events (``cpd events import``: the
scheme's event on the claim's start date, of the claim's kind, with a title at least
``title_score`` alike by ``rapidfuzz``'s token set ratio) is accepted at once with the
event's points, audited as ``auto_accept`` (actor ``system:auto-approval``) and the member is
told as after a secretary's accept. A claim marked as a duplicate is never auto-approved.

One in ``spot_check_one_in`` matching claims still goes to the secretary: the draw is
seeded by the claim's source key (sha256), so it is the same on every instance and every
retry, and it is audited (``auto_accept.spot_check``).
"""

from __future__ import annotations

import hashlib
import random
from typing import TYPE_CHECKING

from rapidfuzz import fuzz, utils

from cpd import rules
from cpd.claims import claim_notices, evaluation, texts, views
from cpd.storage import Session, claims_repo, models
from cpd.storage import events as events_repo
from cpd.storage.queries import add_audit

if TYPE_CHECKING:
    from cpd.claims.service import ClaimsService

ACTOR = "system:auto-approval"


def spot_checked(source_key: str, one_in: int) -> bool:
    """Whether this claim is drawn for the secretary's spot check (seeded by its source key)."""
    seed = int.from_bytes(hashlib.sha256(source_key.encode()).digest()[:8], "big")
    return random.Random(seed).randrange(one_in) == 0


def matching_event(
    session: Session, scheme: rules.Scheme, claim: models.Claim
) -> tuple[models.BodyEvent, float] | None:
    """The best-matching event for the claim and its title score, or None."""
    best: tuple[models.BodyEvent, float] | None = None
    for event in events_repo.on_day(session, scheme.id, claim.start_date):
        if event.kind != claim.kind:
            continue
        score = float(
            fuzz.token_set_ratio(claim.title, event.title, processor=utils.default_process)
        )
        if score >= scheme.auto_approval.title_score and (best is None or score > best[1]):
            best = (event, score)
    return best


def try_accept(
    svc: ClaimsService, session: Session, member: models.Member, claim: models.Claim
) -> bool:
    """Accept a just-submitted claim that matches one of the body's events (True), unless
    auto-approval is off, it is a duplicate, nothing matches or it is spot-checked (False:
    it goes to the secretary)."""
    scheme = rules.load_scheme(member.scheme)
    rule = scheme.auto_approval
    if not rule.enabled or claim.duplicate_of is not None or claim.status != "pending":
        return False
    found = matching_event(session, scheme, claim)
    if found is None:
        return False
    event, score = found
    details = {"event_id": event.id, "event": event.title, "title_score": round(score, 1)}
    if spot_checked(claim.source_key, rule.spot_check_one_in):
        add_audit(
            session,
            ACTOR,
            "auto_accept.spot_check",
            member_id=member.id,
            claim_id=claim.id,
            details={**details, "one_in": rule.spot_check_one_in},
        )
        return False
    claim.extracted = {**(claim.extracted or {}), "auto_accepted": True, "event": details}
    session.flush()
    changed = claims_repo.decide_if_pending(
        session,
        claims_repo.id_of(claim),
        status="accepted",
        awarded=event.points,
        decided_by=None,
        reason=f"matches the body's event: {event.title} ({event.day.isoformat()})"[:500],
        now=svc.clock(),
    )
    if not changed:
        return False
    session.expire(claim)
    add_audit(
        session,
        ACTOR,
        "auto_accept",
        member_id=member.id,
        claim_id=claim.id,
        details={**details, "points": event.points},
    )
    standing = evaluation.standing(session, member, svc.today(), [claim])
    view = views.view(svc, session, claim)
    claim_notices.to_member(
        session, member, claim, "accepted", texts.accepted(view, scheme, standing)
    )
    return True
