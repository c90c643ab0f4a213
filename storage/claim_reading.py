"""A claim's ``extracted`` column: the NLP result of the member's words and what the claims
workflow noted about it (flags, the proposal's rule note and category).

The NLP result reaches storage as its own typed value (anything with ``to_json``, like
``cpd.nlp.Activity``); it becomes JSON only here, where the column is written, and is read
back as :class:`ClaimNotes`, never as a dict by string keys outside storage.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from cpd.storage.models import Claim


class Reading(Protocol):
    """An NLP result that can be stored (``cpd.nlp.Activity``)."""

    def to_json(self) -> dict[str, Any]:
        """Its fields as JSON values."""
        ...


@dataclass(frozen=True, slots=True)
class ClaimNotes:
    """What the ``extracted`` column says beyond the claim's own columns."""

    flags: tuple[str, ...] = ()
    rule_note: str = ""
    category: str | None = None
    received_on: dt.date | None = None
    """The day the member's words were read against (their dates are relative to it)."""
    from_evidence: tuple[str, ...] = ()
    """The fields the evidence's text gave (OCR), not the member's words."""
    duplicate: dict[str, Any] | None = None
    """Why and when the claim looks like an earlier one (``why``, ``claimed_on``)."""
    auto_accepted: bool = False
    """Accepted at once as one of the body's own events."""

    @property
    def duplicate_why(self) -> str | None:
        """Why the claim looks like an earlier one."""
        why = (self.duplicate or {}).get("why")
        return str(why) if why else None

    @property
    def duplicate_claimed_on(self) -> dt.date | None:
        """When the earlier claim was made."""
        return _day((self.duplicate or {}).get("claimed_on"))


def write_reading(
    claim: Claim, reading: Reading, flags: Iterable[str], received_on: dt.date | None = None
) -> None:
    """Store the NLP result of the claim's words with the ``flags`` raised on them and the day
    they were read against (replacing what was stored before, the proposal included)."""
    claim.extracted = {**reading.to_json(), "flags": sorted(set(flags))}
    if received_on is not None:
        claim.extracted["received_on"] = received_on.isoformat()


def add_flag(claim: Claim, flag: str) -> None:
    """Raise one more flag on the claim."""
    extracted = claim.extracted or {}
    claim.extracted = {**extracted, "flags": sorted({*extracted.get("flags", ()), flag})}


def write_proposal(claim: Claim, rule_note: str, category: str | None) -> None:
    """Store the rule note and category of the claim's current proposal."""
    claim.extracted = {**(claim.extracted or {}), "rule_note": rule_note, "category": category}


def notes(claim: Claim) -> ClaimNotes:
    """What the claim's ``extracted`` column says (defaults where it says nothing)."""
    extracted = claim.extracted or {}
    duplicate = extracted.get("duplicate")
    return ClaimNotes(
        flags=tuple(str(f) for f in extracted.get("flags", ())),
        rule_note=str(extracted.get("rule_note", "") or ""),
        category=extracted.get("category"),
        received_on=_day(extracted.get("received_on")),
        from_evidence=tuple(str(f) for f in extracted.get("from_evidence") or ()),
        duplicate=dict(duplicate) if isinstance(duplicate, dict) else None,
        auto_accepted=bool(extracted.get("auto_accepted")),
    )


def _day(value: object) -> dt.date | None:
    try:
        return dt.date.fromisoformat(str(value)) if value else None
    except ValueError:
        return None
