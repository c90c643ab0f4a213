"""Intake and drafts: a message becomes a draft claim with proposed points (idempotent on its
source key), files are added to it, and a draft goes to the secretaries (``submit_in``)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import TYPE_CHECKING

from cpd.claims import (
    auto_approval,
    claim_notices,
    duplicates,
    evaluation,
    identity,
    texts,
    threads,
    views,
)
from cpd.claims.image_hash import photo_hash
from cpd.claims.intake import (
    MAX_ATTACHMENT_BYTES,
    MAX_ATTACHMENTS,
    MAX_TEXT_CHARS,
    Attachment,
    ClaimError,
    ClaimView,
    Intake,
    IntakeResult,
    NotAllowed,
    Sender,
)
from cpd.nlp.activity import NO_TEXT
from cpd.storage import (
    Conflict,
    DuplicateKey,
    Session,
    claim_reading,
    claims_repo,
    models,
    reading,
    safe_display_name,
    store_bytes,
    transaction,
)
from cpd.storage.queries import add_audit

if TYPE_CHECKING:
    from cpd.claims.service import ClaimsService


def has_words(text: str) -> bool:
    """Whether a text says anything (a letter or a digit)."""
    return any(ch.isalnum() for ch in text)


def start_claim(svc: ClaimsService, intake: Intake) -> IntakeResult:
    """Turn a message into a draft claim with proposed points (idempotent on source key)."""
    with reading(svc.engine) as session:
        existing = claims_repo.by_source(session, intake.source_key)
        if existing is not None:
            return IntakeResult(views.view(svc, session, existing), duplicate=True)
    try:
        with transaction(svc.engine) as session:
            member = identity.require_member(session, intake.sender)
            claim = draft(svc, session, member, intake)
            return IntakeResult(views.view(svc, session, claim))
    except (Conflict, DuplicateKey):
        # Another delivery of the same message won the race: show what it created.
        with reading(svc.engine) as session:
            existing = claims_repo.by_source(session, intake.source_key)
            if existing is None:
                raise
            return IntakeResult(views.view(svc, session, existing), duplicate=True)


def draft(
    svc: ClaimsService, session: Session, member: models.Member, intake: Intake
) -> models.Claim:
    """A new draft from an intake, with its evidence and proposal (DuplicateKey when the
    message made a claim already)."""
    text = intake.text.strip()[:MAX_TEXT_CHARS]
    attachments = intake.attachments[:MAX_ATTACHMENTS]
    if not has_words(text) and not attachments:
        raise ClaimError(texts.NOTHING_TO_CLAIM)
    assert member.id is not None
    claim = models.Claim(
        member_id=member.id,
        channel=intake.channel,
        source_key=intake.source_key,
        kind="other",
        start_date=intake.received_at.astimezone(svc.zone).date(),
        status="draft",
        verification=intake.verification,
        verification_domain=intake.verification_domain or None,
        verification_reasons=list(intake.verification_reasons) or None,
    )
    read_text(svc, claim, text, intake.received_at)
    claim = claims_repo.insert(session, claim)  # DuplicateKey: another delivery won
    if intake.thread is not None:
        threads.remember_origin(session, claim, intake.thread)
    for attachment in attachments:
        if not add_evidence(svc, session, claim, attachment):
            claim_reading.add_flag(claim, "attachment_too_big")
    refresh_proposal(svc, session, member, claim)
    add_audit(
        session,
        intake.sender.key(),
        "claim.drafted",
        member_id=member.id,
        claim_id=claim.id,
        details={"channel": intake.channel, "source_key": intake.source_key},
    )
    return claim


def read_text(
    svc: ClaimsService,
    claim: models.Claim,
    text: str,
    received_at: dt.datetime,
) -> None:
    """Fill a claim's activity fields from the member's words (or mark that there were none)."""
    local_day = received_at.astimezone(svc.zone).date()
    flags: list[str] = []
    if has_words(text):
        activity = svc.extractor.extract(text, local_day)
        flags.extend(activity.flags)
    else:
        activity = NO_TEXT
        flags.append("no_text")
    start = activity.start_date or local_day
    end = activity.end_date or start
    if start > local_day:
        start, end = local_day, local_day
        flags.append("future_date")
    hours = activity.hours
    if hours is not None and (hours < 0 or hours > 24 * ((end - start).days + 1)):
        flags.append("hours_out_of_range")
        hours = None
    claim.raw_text = text
    claim.kind = activity.kind or "other"
    claim.hours = hours
    claim.start_date, claim.end_date = start, end
    claim.title = (activity.title or _title_from(text) or "Evidence")[:300]
    claim.provider = activity.provider
    claim.has_test = activity.has_test
    claim.co_authors = activity.co_authors
    claim.confidence = round(activity.confidence, 4)
    claim_reading.write_reading(claim, activity, flags, received_on=local_day)


def add_evidence(
    svc: ClaimsService, session: Session, claim: models.Claim, attachment: Attachment
) -> bool:
    """Store a file for the claim (once per content); False when it is too big to keep."""
    if len(attachment.data) > MAX_ATTACHMENT_BYTES:
        return False
    assert claim.id is not None
    stored = store_bytes(svc.evidence_dir, attachment.data)
    claims_repo.add_evidence(  # once per content: a repeated file adds no row
        session,
        models.EvidenceFile(
            claim_id=claim.id,
            original_name=safe_display_name(attachment.name),
            content_type=attachment.content_type[:127],
            size=stored.size,
            sha256=stored.sha256,
            stored_path=str(stored.path),
            phash=photo_hash(attachment.data, attachment.content_type),
        ),
    )
    return True


def attach(
    svc: ClaimsService,
    source_key: str,
    sender: Sender,
    attachment: Attachment,
    text: str = "",
    received_at: dt.datetime | None = None,
) -> ClaimView:
    """Add a file to the draft a message started (the further photos of an album); a caption
    is read now when the draft was started by a photo without words."""
    with transaction(svc.engine) as session:
        member = identity.require_member(session, sender)
        claim = claims_repo.by_source(session, source_key)
        if claim is None or claim.member_id != member.id:
            raise NotAllowed("There is no claim to add that file to.")
        add_evidence(svc, session, claim, attachment)
        text = text.strip()[:MAX_TEXT_CHARS]
        if claim.status == "draft" and has_words(text) and not has_words(claim.raw_text):
            read_text(svc, claim, text, received_at or svc.clock())
            refresh_proposal(svc, session, member, claim)
        return views.view(svc, session, claim)


def own_claim(session: Session, claim_id: int, member: models.Member) -> models.Claim:
    """The member's own claim; NotAllowed when there is no such claim of theirs."""
    claim = claims_repo.get(session, claim_id)
    if claim is None or claim.member_id != member.id:
        raise NotAllowed(f"There is no claim #{claim_id} of yours.")
    return claim


def refresh_proposal(
    svc: ClaimsService, session: Session, member: models.Member, claim: models.Claim
) -> None:
    """Store what the claim would earn if accepted now (the engine's proposal), and whether
    it repeats a claim in the member's record (``claims.duplicates``)."""
    session.flush()
    duplicates.check(session, claim)
    result = evaluation.propose(session, member, claim, svc.today()).result
    claim.proposed_points = result.points
    claim_reading.write_proposal(claim, result.note, result.category)


def submit_in(
    svc: ClaimsService,
    session: Session,
    member: models.Member,
    claim: models.Claim,
    sender: Sender,
    receipt: Callable[[ClaimView], str],
) -> ClaimView:
    """Draft to pending: proposal refreshed, audited, receipt and secretary card queued (or,
    for a claim matching one of the body's events, accepted at once: ``auto_approval``)."""
    claim.status = "pending"
    claim.submitted_at = svc.clock()
    refresh_proposal(svc, session, member, claim)
    view = views.view(svc, session, claim)
    add_audit(
        session,
        sender.key(),
        "claim.submitted",
        member_id=member.id,
        claim_id=claim.id,
        details={"channel": claim.channel, "proposed_points": claim.proposed_points},
    )
    claim_notices.to_member(session, member, claim, "receipt", receipt(view))
    if auto_approval.try_accept(svc, session, member, claim):  # one of the body's events
        return views.view(svc, session, claim)
    claim_notices.secretary_card(session, svc.secretary_chat_id, claim, view)
    return view


def _title_from(text: str) -> str:
    words = " ".join(text.split())
    return words if len(words) <= 60 else words[:57].rsplit(" ", 1)[0] + "..."
