"""Claims as the web channel shows and changes them, with every role rule applied here.

The JSON shapes are the ones of CONTRACTS.md ("The web desk and portal"). A member sees only
their own claims (another member's claim is "not found", not "forbidden", so its existence is
not told); only a secretary decides, and a decision goes through ``ClaimsService.decide``, so
the member is told and the Telegram card edited exactly as after a tap in chat.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from cpd.claims import views
from cpd.claims.intake import Attachment, ClaimError, ClaimView, Intake, NotAllowed
from cpd.claims.members import MemberNotFound
from cpd.claims.standing import standing
from cpd.claims.web_access import NotFound, WebUser, audit_json, may_see_member, require_secretary
from cpd.storage import Session, claim_reading, claims_repo, models, reading
from cpd.storage.queries import member_by_number
from cpd.storage.web import audit_of_claim, evidence_of, list_claims

if TYPE_CHECKING:
    from cpd.claims.service import ClaimsService

STATUSES = ("draft", "pending", "accepted", "declined", "withdrawn", "expired")


class AlreadyDecided(ClaimError):
    """The claim was decided before this decision: by whom and when."""

    def __init__(self, decided_by: str | None, decided_at: dt.datetime | None) -> None:
        super().__init__(f"already decided by {decided_by or 'someone'}")
        self.decided_by = decided_by
        self.decided_at = decided_at


def _iso(value: dt.date | dt.datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def claim_json(
    view: ClaimView, claim: models.Claim, evidence: Sequence[models.EvidenceFile]
) -> dict[str, Any]:
    """One claim in the API's shape (``duplicate`` says why and when for ``duplicate_of``;
    ``auto_accepted``: accepted at once as one of the body's events)."""
    notes = claim_reading.notes(claim)
    return {
        "id": view.id,
        "membership_no": view.member_no,
        "member_name": view.member_name,
        "scheme": view.scheme,
        "status": view.status,
        "kind": view.kind,
        "title": view.title,
        "hours": view.hours,
        "start_date": _iso(view.start_date),
        "end_date": _iso(view.end_date),
        "provider": view.provider,
        "has_test": view.has_test,
        "proposed_points": view.proposed_points,
        "awarded_points": view.awarded_points,
        "rule_note": view.rule_note,
        "category": view.category,
        "unit": view.unit,
        "channel": claim.channel,
        "evidence": [
            {
                "id": e.id,
                "name": e.original_name,
                "content_type": e.content_type,
                "size": e.size,
                "sha256": e.sha256,
                "ocr_status": e.ocr_status,
                "ocr_text": e.ocr_text,
                "ocr_confidence": e.ocr_confidence,
                "ocr_note": e.ocr_note,
            }
            for e in evidence
        ],
        "from_evidence": list(notes.from_evidence),
        "duplicate_of": claim.duplicate_of,
        "duplicate": notes.duplicate if claim.duplicate_of is not None else None,
        "auto_accepted": view.auto_accepted,
        "verification": claim.verification,
        "needs": list(view.needs),
        "flags": list(view.flags),
        "submitted_at": _iso(claim.submitted_at),
        "decided_by": view.decided_by,
        "decided_at": _iso(view.decided_at),
        "decision_reason": view.decision_reason,
    }


def visible_claims(
    service: ClaimsService,
    user: WebUser,
    status: str | None = None,
    membership_no: str | None = None,
    limit: int = 200,
    offset: int = 0,
    auto: bool = False,
    duplicates: bool = False,
) -> list[dict[str, Any]]:
    """The claims this user may see, newest first: a member's own, or (a secretary) all,
    optionally of one member and one status, only those accepted automatically (``auto``)
    or only those marked as duplicates (``duplicates``)."""
    member_id: int | None = user.member_id
    with reading(service.engine) as session:
        if user.is_secretary:
            member_id = None
            if membership_no is not None:
                member = member_by_number(session, membership_no)
                if member is None:
                    return []
                member_id = member.id
        elif membership_no is not None and membership_no != user.membership_no:
            return []
        claims = list_claims(session, member_id, status, limit, offset, auto, duplicates)
        evidence = evidence_of(session, [claims_repo.id_of(c) for c in claims])
        # one batch of views (a fixed number of queries for the page, not a few per claim)
        shown = views.views(service, session, claims)
        return [
            claim_json(v, c, evidence[claims_repo.id_of(c)])
            for v, c in zip(shown, claims, strict=True)
        ]


def _visible(session: Session, user: WebUser, claim_id: int) -> models.Claim:
    claim = claims_repo.get(session, claim_id)
    if claim is None or not (user.is_secretary or claim.member_id == user.member_id):
        raise NotFound(f"There is no claim #{claim_id}.")
    return claim


def claim_detail(service: ClaimsService, user: WebUser, claim_id: int) -> dict[str, Any]:
    """One claim with its reflections and audit history (NotFound when not this user's to
    see)."""
    with reading(service.engine) as session:
        claim = _visible(session, user, claim_id)
        body = claim_json(
            views.view(service, session, claim), claim, evidence_of(session, [claim_id])[claim_id]
        )
        body["reflections"] = dict(claim.reflections or {})
        body["history"] = [audit_json(a) for a in audit_of_claim(session, claim_id)]
        return body


def decide(
    service: ClaimsService,
    user: WebUser,
    claim_id: int,
    action: str,
    points: float | None = None,
    reason: str | None = None,
) -> dict[str, Any]:
    """A secretary's decision (NotAllowed for anyone else, AlreadyDecided when it came too
    late, NotFound for no such claim)."""
    require_secretary(user)
    with reading(service.engine) as session:
        if claims_repo.get(session, claim_id) is None:
            raise NotFound(f"There is no claim #{claim_id}.")
    if action == "accept" and points is not None:
        action = "accept_points"
    result = service.decide(claim_id, user.sender, action, points=points, reason=reason)
    if not result.applied:
        if result.claim.status in ("draft",):
            raise ClaimError(f"Claim #{claim_id} has not been submitted yet.")
        raise AlreadyDecided(result.claim.decided_by, result.claim.decided_at)
    return claim_detail(service, user, claim_id)


def start_claim(
    service: ClaimsService,
    user: WebUser,
    text: str,
    attachments: Sequence[Attachment] = (),
    day: dt.date | None = None,
    reflections: dict[str, str] | None = None,
) -> dict[str, Any]:
    """A member's claim through the web: a draft, with the proposed points and their rule,
    through the same intake as chat and mail (channel ``web``)."""
    intake = Intake(
        channel="web",
        source_key=f"web:{uuid.uuid4().hex}",
        sender=user.sender,
        text=text,
        received_at=service.clock(),
        attachments=tuple(attachments),
    )
    view = service.start_claim(intake).claim
    changes: dict[str, Any] = {}
    if day is not None:
        changes["date"] = day
    if reflections:
        changes["reflections"] = reflections
    if changes:
        service.update_draft(view.id, user.sender, **changes)
    return claim_detail(service, user, view.id)


def submit(service: ClaimsService, user: WebUser, claim_id: int) -> dict[str, Any]:
    """Submit the member's own draft to the secretaries (NotFound for another's claim)."""
    with reading(service.engine) as session:
        claim = _visible(session, user, claim_id)
        if claim.member_id != user.member_id:
            raise NotFound(f"There is no claim #{claim_id} of yours.")
    service.submit(claim_id, user.sender)
    return claim_detail(service, user, claim_id)


def standing_json(service: ClaimsService, user: WebUser, membership_no: str) -> dict[str, Any]:
    """The ``cpd rules evaluate`` output for the member now (NotAllowed for a member asking
    about someone else, NotFound when there is no such member)."""
    if not may_see_member(user, membership_no):
        raise NotAllowed("A member can see only their own standing.")
    try:
        result = standing(service.engine, membership_no, service.today())
    except MemberNotFound:
        raise NotFound(f"There is no member {membership_no}.") from None
    return result.evaluation.to_json()
