"""One claim as the secretary decides it, and decisions on one claim or several at once.

The page adds to the API's claim (``web_claims.claim_detail``: evidence, fields, history,
verification, duplicate) what the engine would award if the claim were accepted now and the
rule behind it (``evaluation.propose``, the same call an acceptance makes), and the member's
standing. Every decision goes through ``web_claims.decide``, the path of the API and, below
it, of the bot's buttons: the member is told and the Telegram card edited as after a tap.
In a bulk decision each claim is its own transaction.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from cpd import rules
from cpd.claims import evaluation, web_claims
from cpd.claims.intake import ClaimError
from cpd.claims.texts import amount, fmt
from cpd.claims.web_access import NotFound, WebUser, require_secretary
from cpd.claims.web_claims import AlreadyDecided
from cpd.storage import claims_repo, reading
from cpd.storage import members as members_repo

if TYPE_CHECKING:
    from cpd.claims.service import ClaimsService

MAX_BULK = 200


def claim_page(service: ClaimsService, user: WebUser, claim_id: int) -> dict[str, Any]:
    """The claim with its evidence, fields, history, the engine's proposal now (``if_accepted``:
    points, category, counted, note) and the member's standing (NotAllowed for a member)."""
    require_secretary(user)
    detail = web_claims.claim_detail(service, user, claim_id)
    with reading(service.engine) as session:
        claim = claims_repo.get(session, claim_id)
        if claim is None:
            raise NotFound(f"There is no claim #{claim_id}.")
        member = members_repo.get(session, claim.member_id)
        assert member is not None
        scheme = rules.load_scheme(member.scheme)
        detail["verification_domain"] = claim.verification_domain
        standing = evaluation.standing(session, member, service.today())
        if claim.status == "pending":
            proposal = evaluation.propose(session, member, claim, service.today())
            category = scheme.category(proposal.result.category or "")
            detail["if_accepted"] = {
                "points": proposal.result.points,
                "shown": fmt(proposal.result.points),
                "text": amount(proposal.result.points, scheme.unit),
                "category": proposal.result.category,
                "category_name": category.name if category is not None else None,
                "counted": proposal.result.counted,
                "note": proposal.result.note,
                "as_of": proposal.as_of.isoformat(),
            }
    chosen = scheme.category(str(detail.get("category") or ""))
    detail["category_name"] = chosen.name if chosen is not None else None
    detail["scheme_name"] = scheme.short_name
    for name in ("proposed", "awarded"):
        value = detail.get(f"{name}_points")
        detail[f"{name}_text"] = "-" if value is None else amount(value, scheme.unit)
    detail["hours_text"] = "not stated" if detail.get("hours") is None else fmt(detail["hours"])
    detail["standing"] = {
        "period_start": standing.period_start.isoformat(),
        "period_end": standing.period_end.isoformat(),
        "total": fmt(standing.total),
        "target": fmt(standing.target),
        "remaining": fmt(standing.remaining),
        "met": standing.met,
    }
    return detail


@dataclass
class BulkOutcome:
    """What a bulk decision did: the claims decided now, those someone else had decided
    (id, by whom, when) and those refused (id, why)."""

    decided: list[int] = field(default_factory=list)
    already: list[tuple[int, str | None, str | None]] = field(default_factory=list)
    refused: list[tuple[int, str]] = field(default_factory=list)


def decide_many(
    service: ClaimsService,
    user: WebUser,
    claim_ids: list[int],
    action: str,
    points: float | None = None,
    reason: str | None = None,
) -> BulkOutcome:
    """Decide each claim in its own transaction, through the API's decision path; a claim
    decided meanwhile by someone else is listed, not overwritten (NotAllowed for a member,
    ClaimError for a decline without a reason or bad points, before anything is decided)."""
    require_secretary(user)
    if not claim_ids:
        raise ClaimError("Tick at least one claim.")
    if len(claim_ids) > MAX_BULK:
        raise ClaimError(f"At most {MAX_BULK} claims at once.")
    if action == "decline" and not (reason and reason.strip()):
        raise ClaimError("Please give a reason for declining: the members will see it.")
    outcome = BulkOutcome()
    for claim_id in dict.fromkeys(claim_ids):
        try:
            web_claims.decide(service, user, claim_id, action, points, reason)
        except AlreadyDecided as late:
            at = late.decided_at.isoformat(timespec="minutes") if late.decided_at else None
            outcome.already.append((claim_id, late.decided_by, at))
        except ClaimError as refused:
            outcome.refused.append((claim_id, str(refused)))
        else:
            outcome.decided.append(claim_id)
    return outcome
