"""The portal's claim pages: what a draft's form offers (from the scheme file), a draft
corrected from that form through the same typed changes as the bot's buttons
(:class:`~cpd.claims.draft_changes.DraftChanges`), and a member's own claim, withdrawn.

A member reaches only their own claims: another's is "not found" (as in the JSON API).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from cpd import rules
from cpd.claims import web_claims
from cpd.claims.draft_changes import KEEP, REFLECTION_FIELDS, DraftChanges, Keep
from cpd.claims.intake import ClaimError, ClaimView
from cpd.claims.scheme_facts import ReflectionChoice, scheme_facts
from cpd.claims.texts import KIND_LABELS
from cpd.claims.web_access import NotFound, WebUser

if TYPE_CHECKING:
    from cpd.claims.service import ClaimsService

MAX_REFLECTION_CHARS = 4000


class FieldError(ClaimError):
    """A value on a form that cannot be used; ``field`` names it."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


@dataclass(frozen=True, slots=True)
class Choice:
    """An option of a select: its value and label."""

    value: str
    label: str


@dataclass(frozen=True, slots=True)
class DraftForm:
    """What a draft's correction form offers for the member's scheme."""

    kinds: tuple[Choice, ...]
    categories: tuple[Choice, ...]
    category_question: str
    reflections: tuple[ReflectionChoice, ...]
    test_label: str | None
    test_credit: float
    unit: str
    category_names: Mapping[str, str]

    def category_name(self, category_id: str | None) -> str:
        """A category's name from the scheme file (its id when unknown)."""
        return self.category_names.get(category_id or "", category_id or "")


def draft_form(scheme_id: str) -> DraftForm:
    """The form's options, read from the scheme file (no scheme named in code)."""
    facts = scheme_facts(scheme_id)
    scheme = rules.load_scheme(scheme_id)
    kinds = tuple(Choice(k, KIND_LABELS.get(k, k)) for k in rules.KINDS)
    categories = (
        tuple(Choice(c.id, c.name) for c in scheme.categories)
        if facts.member_chooses_category
        else ()
    )
    return DraftForm(
        kinds,
        categories,
        facts.category_question,
        facts.reflections,
        facts.test_label,
        facts.test_credit,
        facts.unit,
        {c.id: c.name for c in scheme.categories},
    )


def own_claim(service: ClaimsService, user: WebUser, claim_id: int) -> dict[str, Any]:
    """The user's own claim in the API's shape (NotFound for anyone else's, also for a
    secretary: the portal shows a person their own claims only)."""
    body = web_claims.claim_detail(service, user, claim_id)
    if body["membership_no"] != user.membership_no:
        raise NotFound(f"There is no claim #{claim_id} of yours.")
    return body


def _hours(value: str) -> float | None:
    text = value.strip().replace(",", ".").lower().removesuffix("h").strip()
    if not text:
        return None
    try:
        hours = float(text)
    except ValueError:
        raise FieldError("hours", f"{value[:20]!r} is not a number of hours (try 2.5)") from None
    if not math.isfinite(hours):
        raise FieldError("hours", "give a number of hours, such as 2.5")
    return hours


def _date(value: str) -> dt.date | None:
    if not value.strip():
        return None
    try:
        return dt.date.fromisoformat(value.strip())
    except ValueError:
        raise FieldError("date", f"{value[:20]!r} is not a date (YYYY-MM-DD)") from None


def changes_from_form(
    before: Mapping[str, Any], values: Mapping[str, str], form: DraftForm
) -> DraftChanges:
    """The typed changes a submitted draft form asks for: only what differs from the claim
    as it was shown (``before``, the API's shape); FieldError naming a bad field."""
    kind = values.get("kind", "").strip() or None
    if kind is not None and kind not in rules.KINDS:
        raise FieldError("kind", f"{kind[:30]!r} is not a kind of activity")
    hours = _hours(values.get("hours", ""))
    day = _date(values.get("date", ""))
    has_test: bool | None = None
    if form.test_label is not None and "test_shown" in values:
        has_test = values.get("has_test") == "on"
    category: str | None | Keep = KEEP
    if form.categories and "category" in values:
        chosen = values["category"].strip() or None
        if chosen is not None and chosen not in {c.value for c in form.categories}:
            raise FieldError("category", f"{chosen[:30]!r} is not a category of your scheme")
        category = chosen if chosen != before.get("category") else KEEP
    given = dict(before.get("reflections") or {})
    reflections = {
        name: text[:MAX_REFLECTION_CHARS]
        for name in REFLECTION_FIELDS
        if (text := values.get(name, "").strip()) and text != given.get(name)
    }
    return DraftChanges(
        kind=kind if kind != before.get("kind") else None,
        hours=hours if hours != before.get("hours") else None,
        date=day if day is not None and day.isoformat() != before.get("start_date") else None,
        has_test=has_test if has_test != before.get("has_test") else None,
        category=category,
        reflections=reflections or None,
    )


def change_draft(
    service: ClaimsService, user: WebUser, claim_id: int, values: Mapping[str, str]
) -> ClaimView | None:
    """Correct the user's own draft from its form (None when nothing changed); FieldError or
    ClaimError with a message the member can act on, NotFound for another's claim."""
    before = own_claim(service, user, claim_id)
    if before["status"] != "draft":
        raise ClaimError(f"Claim #{claim_id} is already {before['status']}; it cannot be changed.")
    changes = changes_from_form(before, values, draft_form(before["scheme"]))
    if not changes.given():
        return None
    return service.change_draft(claim_id, user.sender, changes)


def submit(service: ClaimsService, user: WebUser, claim_id: int) -> dict[str, Any]:
    """Send the user's own draft to the secretaries (the API's submit path)."""
    own_claim(service, user, claim_id)
    return web_claims.submit(service, user, claim_id)


def withdraw(service: ClaimsService, user: WebUser, claim_id: int) -> ClaimView:
    """Withdraw the user's own pending claim, or drop a draft."""
    own_claim(service, user, claim_id)
    return service.withdraw(claim_id, user.sender)
