"""A claim's ``extracted`` column: the NLP result of the member's words and what the claims
workflow noted about it (flags, the proposal's rule note and category).

The NLP result reaches storage as its own typed value (anything with ``to_json``, like
``cpd.nlp.Activity``); it becomes JSON only here, where the column is written, and is read
back as :class:`ClaimNotes`, never as a dict by string keys outside storage.
"""

from __future__ import annotations

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
    duplicate_of: int | None = None
    verification: str | None = None


def write_reading(claim: Claim, reading: Reading, flags: Iterable[str]) -> None:
    """Store the NLP result of the claim's words with the ``flags`` raised on them (replacing
    what was stored before, the proposal included)."""
    claim.extracted = {**reading.to_json(), "flags": sorted(set(flags))}


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
    duplicate = extracted.get("duplicate_of")
    verification = extracted.get("verification")
    return ClaimNotes(
        flags=tuple(str(f) for f in extracted.get("flags", ())),
        rule_note=str(extracted.get("rule_note", "") or ""),
        category=extracted.get("category"),
        duplicate_of=duplicate if isinstance(duplicate, int) else None,
        verification=verification if isinstance(verification, str) else None,
    )
