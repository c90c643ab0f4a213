"""What a claim's transitions tell people, queued through :func:`notifications.queue` in the
transition's own transaction: the member (receipt, decision, replies by mail) and the
secretaries (the claim's card and its final state)."""

from __future__ import annotations

from typing import Any

from cpd.claims import recipients, texts, threads
from cpd.claims.intake import ClaimView, Intake, MailThread
from cpd.claims.notifications import queue
from cpd.storage import Session, models


def to_member(
    session: Session, member: models.Member, claim: models.Claim, event: str, text: str
) -> None:
    """Telegram for claims made there; mail for claims made by mail (and Telegram too for
    their decisions when the member is linked)."""
    by_mail = claim.channel == "email" or (  # a web claim: mail when not on Telegram
        claim.channel == "web" and member.telegram_user_id is None and event != "receipt"
    )
    if member.telegram_user_id is not None and (not by_mail or event != "receipt"):
        queue(
            session,
            f"claim:{claim.id}:{event}:telegram",
            "telegram",
            recipients.member(member),
            "message",
            {"text": text},
        )
    if by_mail and member.email:
        origin = threads.origin(session, claim)
        queue(
            session,
            f"claim:{claim.id}:{event}:email",
            "email",
            recipients.member(member),
            event,
            {
                "text": text,
                "subject": texts.mail_subject(event, claim.title),
                **_answering_origin(origin),
                "message_id_local": threads.mint(session, claim),
                "auto_replied": event == "receipt",
            },
        )


def answering(intake: Intake, re_subject: bool = True) -> dict[str, Any]:
    """The payload field ``answers`` of an answer to the mail ``intake`` came in: its
    Message-ID and References and (``re_subject``) its subject; the mail sender composes the
    headers from it (``cpd.mail_ingest.replies``). The payload's ``subject`` is then the
    fallback for a mail without one."""
    thread = intake.thread
    answers: dict[str, Any] = {
        "message_id": thread.message_id if thread is not None else None,
        "references": thread.references if thread is not None else None,
    }
    if re_subject:
        answers["subject"] = intake.subject
    return {"answers": answers}


def _answering_origin(origin: MailThread | None) -> dict[str, Any]:
    if origin is None:
        return {}
    return {"answers": {"message_id": origin.message_id, "references": origin.references}}


def reply_by_mail(session: Session, member: models.Member, intake: Intake, text: str) -> None:
    """Answer a member's mail (that made no claim) at their registered address."""
    if not member.email:
        return
    queue(
        session,
        f"reply:{intake.source_key}",
        "email",
        recipients.member(member),
        "reply",
        {
            "text": text,
            "subject": "your CPD claim",
            **answering(intake),
            "auto_replied": True,
        },
    )


def secretary_card(
    session: Session, secretary_chat_id: int | None, claim: models.Claim, view: ClaimView
) -> None:
    """Queue the claim's card for the secretaries (once per claim)."""
    if secretary_chat_id is None:
        return
    queue(
        session,
        f"claim:{claim.id}:card",
        "telegram",
        recipients.SECRETARIES,
        "secretary_card",
        {"claim_id": claim.id, "text": texts.secretary_card(view)},
    )


def card_final(
    session: Session, secretary_chat_id: int | None, claim: models.Claim, text: str
) -> None:
    """Queue the final state of the claim's card (decided or withdrawn)."""
    if secretary_chat_id is None:
        return
    queue(
        session,
        f"claim:{claim.id}:card-final",
        "telegram",
        recipients.SECRETARIES,
        "card_update",
        {"claim_id": claim.id, "text": text},
    )
