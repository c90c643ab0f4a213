"""Duplicates (issue 15): a claim that repeats one already in the member's record.

Three kinds, checked in this order against the member's pending, accepted and held claims:

* ``same_file`` — one of its files has the sha256 of a file of the earlier claim;
* ``same_photo`` — one of its photos is within :data:`~cpd.claims.image_hash.SAME_PHOTO_BITS`
  of a photo of the earlier claim (re-encoded, resized, trimmed), unless both claims' texts
  state dates and the dates differ (two certificates printed from one template look alike to
  a perceptual hash; their dates tell them apart);
* ``same_activity`` — the same kind and start date and a title at least
  :data:`TITLE_SCORE` alike (``rapidfuzz``'s token sort ratio: case, punctuation and word
  order ignored; not the token set ratio, which calls "boat show london" the same as "boat
  show southampton" since one's words are nearly all in the other's);
  claims without words of their own (a photo alone) are not compared by title.

The claim then carries ``duplicate_of`` (the earliest such claim) and, in ``extracted``,
``duplicate`` (``{"of", "why", "claimed_on"}``) for the member's question ("you claimed this
on 3 March — send it anyway?") and the secretary's card. The check runs whenever a draft's
proposal is refreshed (intake, a file added, a correction, submission), so it follows the claim
as it changes; a confirmed duplicate keeps its mark for the secretary.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from rapidfuzz import fuzz, utils

from cpd.claims.image_hash import same_photo
from cpd.storage import Session, models
from cpd.storage.duplicates import claims_in_record, file_hashes

TITLE_SCORE = 85.0
"""Titles this alike (0-100) or more are the same activity's."""
CHECKED = ("draft", "pending", "unverified")
KEY = "duplicate"


@dataclass(frozen=True, slots=True)
class Match:
    """The earlier claim a claim repeats, why, and when it was claimed."""

    claim_id: int
    why: str
    claimed_on: dt.date

    def to_json(self) -> dict[str, Any]:
        """As kept in ``Claim.extracted["duplicate"]``."""
        return {"of": self.claim_id, "why": self.why, "claimed_on": self.claimed_on.isoformat()}


def _claimed_on(claim: models.Claim) -> dt.date:
    moment = claim.submitted_at or claim.created_at
    return moment.date()


def _stated_date(claim: models.Claim) -> str | None:
    value = (claim.extracted or {}).get("start_date")
    return str(value) if value else None


def _has_words(claim: models.Claim) -> bool:
    return "no_text" not in (claim.extracted or {}).get("flags", ())


def same_title(first: str, second: str) -> bool:
    """Whether two titles name the same activity (see :data:`TITLE_SCORE`)."""
    score = fuzz.token_sort_ratio(first, second, processor=utils.default_process)
    return bool(score >= TITLE_SCORE)


def find(session: Session, claim: models.Claim) -> Match | None:
    """The earliest claim in the member's record that ``claim`` repeats, or None."""
    assert claim.id is not None
    earlier = claims_in_record(session, claim.member_id, claim.id)
    if not earlier:
        return None
    hashes = file_hashes(session, [claim.id, *(c.id for c in earlier if c.id is not None)])
    own = [(s, p) for c, s, p in hashes if c == claim.id]
    for other in earlier:
        theirs = [(s, p) for c, s, p in hashes if c == other.id]
        why = _why(claim, other, own, theirs)
        if why is not None:
            assert other.id is not None
            return Match(other.id, why, _claimed_on(other))
    return None


def _why(
    claim: models.Claim,
    other: models.Claim,
    own: list[tuple[str, str | None]],
    theirs: list[tuple[str, str | None]],
) -> str | None:
    their_files = {s for s, _ in theirs}
    if any(s in their_files for s, _ in own):
        return "same_file"
    dated, other_dated = _stated_date(claim), _stated_date(other)
    if not (dated and other_dated and dated != other_dated):
        for _, mine in own:
            if any(same_photo(mine, p) for _, p in theirs):
                return "same_photo"
    if (
        claim.kind == other.kind
        and claim.start_date == other.start_date
        and _has_words(claim)
        and _has_words(other)
        and same_title(claim.title, other.title)
    ):
        return "same_activity"
    return None


def check(session: Session, claim: models.Claim) -> Match | None:
    """Mark (or unmark) a draft, pending or held claim as a duplicate; the match, if any."""
    if claim.status not in CHECKED or claim.id is None:
        return None
    match = find(session, claim)
    claim.duplicate_of = None if match is None else match.claim_id
    extracted = {k: v for k, v in (claim.extracted or {}).items() if k != KEY}
    if match is not None:
        extracted[KEY] = match.to_json()
    if extracted != (claim.extracted or {}):
        claim.extracted = extracted
    return match
