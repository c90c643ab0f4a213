"""What the evidence says: each file of an open claim read once by OCR, off the intake's path.

The intake stores the file and the claim first (stored before acknowledged); the OCR worker
(:mod:`cpd.ocr_wiring` in ``cpd run``) then calls :func:`read_waiting` in a thread of its own.
For each waiting file: the bytes are read by :func:`cpd.claims.ocr.read_file` outside any
transaction, then one transaction stores the text with the file and, when the member's words
lacked them, fills the claim's kind, hours, dates, provider and title from everything its files
say (the NLP step reads the evidence text as a separate input), re-evaluates the proposal once
and shows the secretary's card of a pending claim the new reading. A file that cannot be read
(a decompression bomb, a broken file, ``tesseract`` missing, a page over its time) is stored
with a note and logged; the claim is never touched by a failure.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cpd.claims import drafts, recipients, texts, views
from cpd.claims.intake import MAX_ATTACHMENT_BYTES
from cpd.claims.notifications import queue
from cpd.claims.ocr import OcrLimits, OcrResult, read_file, readable
from cpd.claims.ocr.results import FAILED, UNSUPPORTED
from cpd.storage import Session, claim_reading, claims_repo, models, reading, transaction
from cpd.storage import evidence_text as store
from cpd.storage.outbox import replace_pending_payload
from cpd.storage.queries import add_audit

if TYPE_CHECKING:
    from cpd.claims.service import ClaimsService

log = logging.getLogger(__name__)

FILLABLE = ("kind", "hours", "start_date", "provider", "title")


@dataclass(frozen=True, slots=True)
class Waiting:
    """A file to read (plain values: read outside any session)."""

    evidence_id: int
    claim_id: int
    path: str
    content_type: str
    name: str


def waiting(svc: ClaimsService, limit: int = 20) -> list[Waiting]:
    """The files of open claims not read yet, oldest first."""
    with reading(svc.engine) as session:
        return [
            Waiting(e.id or 0, e.claim_id, e.stored_path, e.content_type, e.original_name)
            for e in store.waiting(session, limit)
        ]


def read_waiting(
    svc: ClaimsService, limits: OcrLimits, stop: threading.Event | None = None, limit: int = 20
) -> int:
    """Read the waiting files (blocking: call it in a worker thread); how many were read."""
    done = 0
    for item in waiting(svc, limit):
        if stop is not None and stop.is_set():
            break
        read_one(svc, item, limits)
        done += 1
    return done


def _read_bytes(item: Waiting, limits: OcrLimits) -> OcrResult:
    path = Path(item.path)
    try:
        if path.stat().st_size > MAX_ATTACHMENT_BYTES:
            return OcrResult(UNSUPPORTED, note="the file is too big to read")
        data = path.read_bytes()
    except OSError as exc:
        return OcrResult(FAILED, note=f"the stored file cannot be read: {exc.strerror or exc}")
    if not readable(data, item.content_type):
        return OcrResult(UNSUPPORTED, note=f"{item.content_type} is not read by OCR")
    return read_file(data, item.content_type, limits)


def read_one(svc: ClaimsService, item: Waiting, limits: OcrLimits) -> OcrResult:
    """Read one file and store what it says (and what the claim gains by it)."""
    try:
        result = _read_bytes(item, limits)
    except Exception as exc:  # a reader bug must not stop the worker or touch the claim
        log.exception("OCR of evidence %d failed", item.evidence_id)
        result = OcrResult(FAILED, note=f"reading failed: {type(exc).__name__}")
    if result.status in ("refused", "failed"):
        log.warning(
            "evidence %d of claim #%d (%s) not read by OCR: %s",
            item.evidence_id,
            item.claim_id,
            item.name,
            result.note,
        )
    else:
        log.info(
            "evidence %d of claim #%d read: %s, %d characters in %.1f s",
            item.evidence_id,
            item.claim_id,
            result.status,
            len(result.text),
            result.seconds,
        )
    with transaction(svc.engine) as session:
        stored = store.record(
            session,
            item.evidence_id,
            result.status,
            result.text,
            result.engine,
            result.confidence,
            result.note,
            svc.clock(),
        )
        if stored and result.text:
            claim = claims_repo.get(session, item.claim_id)
            if claim is not None and claim.status in store.OPEN_STATUSES:
                fill_from_evidence(svc, session, claim, item.evidence_id)
    return result


def _received_day(svc: ClaimsService, claim: models.Claim) -> dt.date:
    """The day the member's words were read against (the claim's default date)."""
    said = claim_reading.notes(claim).received_on
    if said is not None:
        return said
    created = claim.created_at
    if created.tzinfo is None:
        created = created.replace(tzinfo=dt.UTC)
    return created.astimezone(svc.zone).date()


def fill_from_evidence(
    svc: ClaimsService, session: Session, claim: models.Claim, evidence_id: int
) -> list[str]:
    """Fill what the member's words lacked from everything the claim's files say; the fields
    filled (nothing changes when the message said it all, or the member changed it since)."""
    evidence = "\n\n".join(store.texts_of(session, claims_repo.id_of(claim)))
    day = _received_day(svc, claim)
    activity: Any = svc.extractor.extract(claim.raw_text, day, evidence_text=evidence)
    said = claim.extracted or {}
    offered = set(getattr(activity, "from_evidence", ()))
    filled: list[str] = []
    unsure = said.get("kind") in (None, "other") or (said.get("confidence") or 0.0) < (
        svc.low_confidence
    )
    if "kind" in offered and unsure and claim.kind == (said.get("kind") or "other"):
        claim.kind, claim.confidence = activity.kind, activity.confidence
        filled.append("kind")
        if activity.title:
            claim.title = str(activity.title)[:300]
            filled.append("title")
    if "start_date" in offered and said.get("start_date") is None and claim.start_date == day:
        start, end = activity.start_date, activity.end_date or activity.start_date
        if start is not None and start <= day and end is not None:
            claim.start_date, claim.end_date = start, min(end, day)
            filled.append("start_date")
    if "hours" in offered and claim.hours is None and activity.hours is not None:
        days = ((claim.end_date or claim.start_date) - claim.start_date).days + 1
        if 0 < activity.hours <= 24 * days:
            claim.hours = float(activity.hours)
            filled.append("hours")
    if "provider" in offered and claim.provider is None and activity.provider is not None:
        claim.provider = activity.provider
        filled.append("provider")
    if not filled:
        return filled
    flags = {*said.get("flags", []), "read_from_evidence"} - {"no_text"}
    claim.extracted = {
        **said,
        "flags": sorted(flags),
        "from_evidence": sorted({*said.get("from_evidence", []), *filled}),
    }
    member = session.get(models.Member, claim.member_id)
    assert member is not None
    drafts.refresh_proposal(svc, session, member, claim)  # the one evaluation of this change
    add_audit(
        session,
        "ocr",
        "claim.read_from_evidence",
        member_id=claim.member_id,
        claim_id=claim.id,
        details={"evidence_id": evidence_id, "fields": filled},
    )
    if claim.status == "pending":
        _refresh_card(svc, session, claim, evidence_id)
    return filled


def _refresh_card(
    svc: ClaimsService, session: Session, claim: models.Claim, evidence_id: int
) -> None:
    """A pending claim's secretary card shows what the evidence said: a card not posted yet is
    posted with the new text; a posted one is edited (its buttons kept)."""
    if svc.secretary_chat_id is None:
        return
    view = views.view(svc, session, claim)
    text = texts.secretary_card(view) + "\n\nFilled in from the evidence (OCR)."
    card_key = f"claim:{claim.id}:card"
    if claim.card_message_id is None and replace_pending_payload(
        session, card_key, {"claim_id": claim.id, "text": text}
    ):
        return
    digest = hashlib.sha256(str(evidence_id).encode()).hexdigest()[:16]
    queue(
        session,
        f"claim:{claim.id}:card-ocr:{digest}",
        "telegram",
        recipients.SECRETARIES,
        "card_update",
        {"claim_id": claim.id, "text": text, "buttons": True},
    )
