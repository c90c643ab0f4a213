"""Dispensation requests, shared by the bot (/dispensation) and mail (subject "Dispensation")."""

from __future__ import annotations

import datetime as dt

from cpd import rules
from cpd.claims import recipients
from cpd.claims.intake import ClaimError
from cpd.claims.notifications import queue
from cpd.claims.standing import rules_member
from cpd.storage import Session, claims_repo, models
from cpd.storage import members as members_repo
from cpd.storage.queries import add_audit


def request_in(
    session: Session,
    member: models.Member,
    reason: str,
    today: dt.date,
    actor: str,
    secretary_chat_id: int | None,
    now: dt.datetime,
) -> models.Dispensation:
    """Record a request for this period (in the caller's transaction) and queue the
    secretary's card; ClaimError with a message for the member when it cannot be made."""
    reason = reason.strip()
    if len(reason) < 5:
        raise ClaimError("Please give the reason for your request (e.g. retired since June).")
    scheme = rules.load_scheme(member.scheme)
    if not scheme.dispensations:
        raise ClaimError(f"The {scheme.short_name} scheme has no dispensations.")
    key = rules.period_for(
        scheme, rules_member(member.joined, member.grade, (), member.diploma_start), today
    ).key
    request, created = claims_repo.dispensation_for(session, members_repo.id_of(member), key)
    if not created and request.status != "refused":
        raise ClaimError(f"Your request for {key} is already {request.status}.")
    request.status, request.reason = "requested", reason[:1000]
    request.decided_by = request.decided_at = None
    session.flush()
    add_audit(
        session,
        actor,
        "dispensation.requested",
        member_id=member.id,
        details={"period": key, "reason": reason[:1000]},
    )
    if secretary_chat_id is not None:
        queue(
            session,
            f"dispensation:{request.id}:card:{now.timestamp():.0f}",
            "telegram",
            recipients.SECRETARIES,
            "dispensation_card",
            {
                "dispensation_id": request.id,
                "text": f"Dispensation request from {member.name} ({member.membership_no}, "
                f"{scheme.short_name}) for {key}:\n{reason[:1000]}",
            },
        )
    return request
