"""A member's changes to a draft (typed: :class:`DraftChanges`), its submission and its
withdrawal."""

from __future__ import annotations

import datetime as dt
import enum
import math
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Any

from cpd import rules
from cpd.claims import claim_notices, drafts, identity, texts, views
from cpd.claims.intake import ClaimError, ClaimView, Sender
from cpd.storage import Session, models, transaction
from cpd.storage.queries import add_audit

if TYPE_CHECKING:
    from cpd.claims.service import ClaimsService

REFLECTION_FIELDS = ("new_knowledge", "behaviour", "impact")


class Keep(enum.Enum):
    """Marks a change that is not made (where None is a value: no category chosen)."""

    KEEP = "keep"


KEEP = Keep.KEEP


@dataclass(frozen=True, slots=True)
class DraftChanges:
    """What a member changes on a draft; a field left at its default is not changed.
    ``reflections`` are merged into those given before; ``category=None`` clears a choice."""

    kind: str | None = None
    hours: float | None = None
    date: dt.date | str | None = None
    has_test: bool | None = None
    category: str | None | Keep = KEEP
    reflections: Mapping[str, str | None] | None = None

    @classmethod
    def of(cls, changes: Mapping[str, Any]) -> DraftChanges:
        """From keyword changes (``kind=``, ``hours=``...); ValueError for an unknown name."""
        known = {f.name for f in fields(cls)}
        for name in changes:
            if name not in known:
                raise ValueError(f"unknown change {name!r}")
        return cls(**changes)

    def given(self) -> dict[str, Any]:
        """The changes made, by name, in the order they are applied."""
        made: dict[str, Any] = {}
        for field in fields(self):
            value = getattr(self, field.name)
            if value is not KEEP and (value is not None or field.name == "category"):
                made[field.name] = value
        return made


def apply_change(
    svc: ClaimsService, claim: models.Claim, scheme: rules.Scheme, name: str, value: Any
) -> None:
    """Make one change to a claim; ClaimError with a message the member can act on."""
    if name == "kind":
        if value not in rules.KINDS:
            raise ClaimError(f"{value!r} is not a kind of activity I know.")
        claim.kind = value
        claim.confidence = 1.0
    elif name == "hours":
        hours = float(value)
        if not math.isfinite(hours):
            raise ClaimError("That is not a number of hours I can use: try 2.5 or 1h30.")
        days = ((claim.end_date or claim.start_date) - claim.start_date).days + 1
        if hours < 0:
            raise ClaimError("Hours can't be negative. How many hours did it take?")
        if hours > 24 * days:
            raise ClaimError(
                f"{texts.fmt(hours)} hours is more than {24 * days} hours in "
                f"{days} day(s). How many hours did it take?"
            )
        claim.hours = round(hours, 2)
    elif name == "date":
        day = value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))
        if day > svc.today():
            raise ClaimError("That date is in the future: claim an activity once you have done it.")
        span = ((claim.end_date or claim.start_date) - claim.start_date).days
        claim.start_date, claim.end_date = day, day + dt.timedelta(days=span)
    elif name == "has_test":
        claim.has_test = bool(value)
    elif name == "category":
        if value is not None and scheme.category(value) is None:
            raise ClaimError(f"{value!r} is not a category of the {scheme.short_name} scheme.")
        claim.category_override = value
    elif name == "reflections":
        given = {k: v for k, v in value.items() if k in REFLECTION_FIELDS}
        claim.reflections = {**(claim.reflections or {}), **given}
    else:
        raise ValueError(f"unknown change {name!r}")


def _jsonable(value: Any) -> Any:
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, Mapping):
        return dict(value)
    return value


def update_draft(
    svc: ClaimsService, claim_id: int, sender: Sender, changes: DraftChanges
) -> ClaimView:
    """Correct a draft; refused with a message the member can act on."""
    made = changes.given()
    with transaction(svc.engine) as session:
        member = identity.require_member(session, sender)
        claim = drafts.own_claim(session, claim_id, member)
        if claim.status != "draft":
            raise ClaimError(
                f"Claim #{claim.id} is already {claim.status}; it can no longer be changed."
            )
        scheme = rules.load_scheme(member.scheme)
        for name, value in made.items():
            apply_change(svc, claim, scheme, name, value)
        drafts.refresh_proposal(svc, session, member, claim)
        add_audit(
            session,
            sender.key(),
            "claim.changed",
            member_id=member.id,
            claim_id=claim.id,
            details={k: _jsonable(v) for k, v in made.items()},
        )
        return views.view(svc, session, claim)


def audit_duplicate(session: Session, sender: Sender, claim: models.Claim, action: str) -> None:
    """Audit the member's question about a duplicate (``claim.duplicate_asked``) or their
    answer to send it anyway (``claim.duplicate_confirmed``)."""
    add_audit(
        session,
        sender.key(),
        action,
        member_id=claim.member_id,
        claim_id=claim.id,
        details=dict((claim.extracted or {}).get("duplicate") or {}),
    )


def submit(svc: ClaimsService, claim_id: int, sender: Sender, anyway: bool = False) -> ClaimView:
    """Send a draft to the secretary: receipt to the member, card to the secretary chat
    (``anyway``: the member confirmed a draft marked as a duplicate; audited)."""
    with transaction(svc.engine) as session:
        member = identity.require_member(session, sender)
        claim = drafts.own_claim(session, claim_id, member)
        if claim.status == "pending":
            return views.view(svc, session, claim)
        if claim.status != "draft":
            raise ClaimError(f"Claim #{claim.id} is already {claim.status}.")
        needed = views.needs(svc.low_confidence, member, claim)
        if "reflection" in needed:
            raise ClaimError(texts.reflection_needed(rules.load_scheme(member.scheme)))
        if "hours" in needed:
            raise ClaimError("How many hours did it take? Tap Change hours first.")
        view = drafts.submit_in(svc, session, member, claim, sender, texts.receipt)
        if anyway and claim.duplicate_of is not None:
            audit_duplicate(session, sender, claim, "claim.duplicate_confirmed")
        return view


def withdraw(svc: ClaimsService, claim_id: int, sender: Sender) -> ClaimView:
    """Withdraw a pending claim (or drop a draft)."""
    with transaction(svc.engine) as session:
        member = identity.require_member(session, sender)
        claim = drafts.own_claim(session, claim_id, member)
        if claim.status not in ("draft", "pending"):
            raise ClaimError(f"Claim #{claim.id} is already {claim.status}.")
        was_pending = claim.status == "pending"
        claim.status = "withdrawn"
        claim.decided_at = svc.clock()
        add_audit(session, sender.key(), "claim.withdrawn", member_id=member.id, claim_id=claim.id)
        view = views.view(svc, session, claim)
        if was_pending:
            text = texts.card_outcome(view, "withdrawn by the member")
            claim_notices.card_final(session, svc.secretary_chat_id, claim, text)
        return view
