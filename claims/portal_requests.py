"""The portal's scheme requests: the reflections a scheme asks for on the member's drafts
(prompts and credits from the scheme file, saved through the bot's typed draft changes), and
a dispensation request (the logic the bot's /dispensation uses, ``claims.dispensations``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from cpd import rules
from cpd.claims import portal_claims, web_claims
from cpd.claims.draft_changes import REFLECTION_FIELDS, DraftChanges
from cpd.claims.intake import ClaimError, ClaimView
from cpd.claims.scheme_facts import ReflectionChoice, scheme_facts
from cpd.claims.standing import standing
from cpd.claims.texts import reflection_needed
from cpd.claims.web_access import WebUser
from cpd.claims.workflows import Workflows
from cpd.storage import members as members_repo
from cpd.storage import reading
from cpd.storage.portal import dispensations_of

if TYPE_CHECKING:
    from cpd.claims.service import ClaimsService


@dataclass(frozen=True, slots=True)
class ReflectionsPage:
    """The scheme's reflection prompts and the member's drafts that can take them."""

    short_name: str
    unit: str
    choices: tuple[ReflectionChoice, ...]
    required: str | None
    """``new_knowledge``, ``any`` or None: what a claim must have before it is submitted."""
    required_text: str
    drafts: tuple[dict[str, Any], ...]


def reflections_page(service: ClaimsService, user: WebUser) -> ReflectionsPage:
    """What ``/me/reflections`` shows for the signed-in member."""
    member = service.member_for(user.sender)
    if member is None:
        raise ClaimError("I don't know you yet.")
    scheme = rules.load_scheme(member.scheme)
    facts = scheme_facts(scheme.id)
    drafts = web_claims.visible_claims(service, user, "draft", user.membership_no, 200, 0)
    details = tuple(web_claims.claim_detail(service, user, int(d["id"])) for d in drafts)
    required = scheme.reflection_required
    return ReflectionsPage(
        facts.short_name,
        facts.unit,
        facts.reflections,
        required,
        reflection_needed(scheme) if required else "",
        details,
    )


def add_reflections(
    service: ClaimsService, user: WebUser, claim_id: int, values: Mapping[str, str]
) -> ClaimView:
    """Save the reflections given for the user's own draft (the proposal is recomputed, so a
    credited reflection shows in the points); ClaimError when none was given."""
    before = portal_claims.own_claim(service, user, claim_id)
    if before["status"] != "draft":
        raise ClaimError(f"Claim #{claim_id} is already {before['status']}; it cannot be changed.")
    given = {
        name: text[: portal_claims.MAX_REFLECTION_CHARS]
        for name in REFLECTION_FIELDS
        if (text := values.get(name, "").strip())
    }
    if not given:
        raise portal_claims.FieldError("reflection", "write at least one reflection first")
    return service.change_draft(claim_id, user.sender, DraftChanges(reflections=given))


@dataclass(frozen=True, slots=True)
class DispensationRow:
    """One of the member's requests."""

    period_key: int
    status: str
    reason: str
    created_at: dt.datetime
    decided_at: dt.datetime | None


@dataclass(frozen=True, slots=True)
class DispensationPage:
    """Whether the member's scheme grants dispensations, and their requests."""

    allowed: bool
    short_name: str
    period_key: int
    period_start: dt.date
    period_end: dt.date
    current: DispensationRow | None
    requests: tuple[DispensationRow, ...]

    @property
    def may_ask(self) -> bool:
        """Whether a request for the current period can be made now."""
        return self.allowed and (self.current is None or self.current.status == "refused")


def dispensation_page(service: ClaimsService, user: WebUser) -> DispensationPage:
    """What ``/me/dispensation`` shows for the signed-in member."""
    found = standing(service.engine, user.membership_no, service.today())
    facts = scheme_facts(found.scheme.id)
    with reading(service.engine) as session:
        rows = tuple(
            DispensationRow(d.period_key, d.status, d.reason, d.created_at, d.decided_at)
            for d in dispensations_of(session, members_repo.id_of(found.member))
        )
    ev = found.evaluation
    current = next((r for r in rows if r.period_key == ev.period_key), None)
    return DispensationPage(
        facts.dispensations,
        facts.short_name,
        ev.period_key,
        ev.period_start,
        ev.period_end,
        current,
        rows,
    )


def request_dispensation(service: ClaimsService, user: WebUser, reason: str) -> DispensationRow:
    """Ask for relief from this period's target (the secretary decides, as after the bot's
    /dispensation); ClaimError with the member's message when it cannot be made."""
    made = Workflows(service).request_dispensation(user.sender, reason[:1000])
    return DispensationRow(made.period_key, made.status, made.reason, made.created_at, None)
