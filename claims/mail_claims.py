"""A claim by mail: straight to pending with a receipt by mail, exactly once (idempotent on the
intake's source key and any extra keys such as an IMAP UIDVALIDITY/UID)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from cpd.claims import (
    amend,
    claim_notices,
    draft_changes,
    drafts,
    identity,
    mail_control,
    mail_verdicts,
    texts,
    verdict_texts,
    views,
)
from cpd.claims.dispensations import request_in
from cpd.claims.intake import MAX_ATTACHMENTS, ClaimError, Intake, Intent, MailOutcome
from cpd.storage import Conflict, DuplicateKey, Session, claims_repo, models, reading, transaction
from cpd.storage.queries import add_processed, processed_outcome

if TYPE_CHECKING:
    from cpd.claims.service import ClaimsService


def receive_mail(svc: ClaimsService, intake: Intake, extra_keys: Sequence[str] = ()) -> MailOutcome:
    """See :meth:`ClaimsService.receive_mail`."""
    keys = [intake.source_key, *extra_keys]
    with reading(svc.engine) as session:
        for key in [*keys, *intake.legacy_keys]:
            done = processed_outcome(session, key)
            if done is not None:
                claim = claims_repo.get(session, done.claim_id) if done.claim_id else None
                view = views.view(svc, session, claim) if claim is not None else None
                return MailOutcome(done.outcome, view, duplicate=True)
    routed = mail_control.route(svc, intake, keys)  # bounces, unsubscribe: never claims
    if routed is not None:
        return routed
    if intake.intent is Intent.REPLY:
        amended = amend.from_mail(svc, intake, keys)
        if amended is not None:
            return amended
    try:
        with transaction(svc.engine) as session:
            return _member_mail(svc, session, intake, keys)
    except (Conflict, DuplicateKey):
        with reading(svc.engine) as session:
            claim = claims_repo.by_source(session, intake.source_key)
            if claim is None:
                raise
            return MailOutcome("claimed", views.view(svc, session, claim), duplicate=True)


def _member_mail(
    svc: ClaimsService, session: Session, intake: Intake, keys: Sequence[str]
) -> MailOutcome:
    # -- who sent it (issue 10): automatic, confirmations, failed senders --
    screened = mail_verdicts.screen(svc, session, intake, keys)
    if screened is not None:
        return screened
    member = identity.member_of(session, intake.sender)
    if member is None:
        mail_verdicts.reply_to_stranger(svc, session, intake)
        for key in keys:
            add_processed(session, key, intake.channel, "unknown_sender")
        return MailOutcome("unknown_sender", None)
    capped = mail_verdicts.over_hourly_cap(svc, session, member, intake, keys)
    if capped is not None:
        return capped
    # -- the member's mail --
    if intake.intent is Intent.DISPENSATION:
        return _dispensation(svc, session, member, intake, keys)
    try:
        claim = drafts.draft(svc, session, member, intake)
    except ClaimError as exc:
        reply(session, member, intake, str(exc))
        for key in keys:
            add_processed(session, key, intake.channel, "nothing_to_claim")
        return MailOutcome("nothing_to_claim", None)
    if intake.verification == "none":
        return mail_verdicts.hold(svc, session, member, claim, intake, keys)
    dropped = intake.dropped + tuple(
        a.name or "attachment" for a in intake.attachments[MAX_ATTACHMENTS:]
    )
    if claim.duplicate_of is not None:  # asked first: "you claimed this on ... send anyway?"
        view = views.view(svc, session, claim)
        text = texts.mail_receipt(view, dropped)
        claim_notices.to_member(session, member, claim, "duplicate", text)
        draft_changes.audit_duplicate(session, intake.sender, claim, "claim.duplicate_asked")
        for key in keys:
            add_processed(session, key, intake.channel, "duplicate", claim.id)
        return MailOutcome("duplicate", view)
    view = drafts.submit_in(
        svc, session, member, claim, intake.sender, lambda v: texts.mail_receipt(v, dropped)
    )
    for key in keys:
        add_processed(session, key, intake.channel, "claimed", claim.id)
    return MailOutcome("claimed", view)


def reply(session: Session, member: models.Member, intake: Intake, text: str) -> None:
    """Answer a member's mail by mail (never an automatic one)."""
    if not mail_verdicts.is_automatic(intake):
        claim_notices.reply_by_mail(session, member, intake, text)


def _dispensation(
    svc: ClaimsService,
    session: Session,
    member: models.Member,
    intake: Intake,
    keys: Sequence[str],
) -> MailOutcome:
    """A mail whose subject asks for a dispensation: the body is the reason."""
    if intake.verification == "none":  # held requests would need a second confirm flow
        reply(session, member, intake, verdict_texts.DISPENSATION_UNVERIFIED)
        return mail_verdicts.processed(session, intake, keys, "dispensation_unverified")
    reason = intake.words
    try:
        request_in(
            session,
            member,
            reason,
            svc.today(),
            intake.sender.key(),
            svc.secretary_chat_id,
            svc.clock(),
        )
        answer, outcome = (
            (
                "Your dispensation request was sent to the membership secretary; "
                "you will hear the decision."
            ),
            "dispensation",
        )
    except ClaimError as exc:
        answer, outcome = str(exc), "dispensation_refused"
    reply(session, member, intake, answer)
    for key in keys:
        add_processed(session, key, intake.channel, outcome)
    return MailOutcome(outcome, None)
