"""What a claim's transitions tell people, queued through :func:`notifications.queue` in the
transition's own transaction: the member (receipt, decision, replies by mail) and the
secretaries (the claim's card and its final state)."""

from __future__ import annotations

from cpd.claims import texts, threads
from cpd.claims.intake import ClaimView, Intake
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
            str(member.telegram_user_id),
            "message",
            {"text": text},
        )
    if by_mail and member.email:
        origin = threads.origin(session, claim)
        queue(
            session,
            f"claim:{claim.id}:{event}:email",
            "email",
            member.email,
            event,
            {
                "text": text,
                "subject": texts.mail_subject(event, claim.title),
                "in_reply_to": origin.message_id if origin is not None else None,
                "references": origin.references if origin is not None else None,
                "message_id_local": threads.mint(session, claim),
                "auto_replied": event == "receipt",
            },
        )


def threaded(intake: Intake) -> dict[str, str | None]:
    """The payload fields that thread an answer under the mail ``intake`` came in."""
    thread = intake.thread
    return {
        "in_reply_to": thread.message_id if thread is not None else None,
        "references": thread.references if thread is not None else None,
    }


def reply_by_mail(session: Session, member: models.Member, intake: Intake, text: str) -> None:
    """Answer a member's mail (that made no claim) at their registered address."""
    if not member.email:
        return
    subject = (intake.subject or "your CPD claim")[:150]
    queue(
        session,
        f"reply:{intake.source_key}",
        "email",
        member.email,
        "reply",
        {
            "text": text,
            "subject": "Re: " + subject,
            **threaded(intake),
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
        str(secretary_chat_id),
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
        str(secretary_chat_id),
        "card_update",
        {"claim_id": claim.id, "text": text},
    )
