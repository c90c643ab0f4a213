"""The secretary's claim card and its evidence, as outbox work.

A card is posted first (its text and decision buttons); once it is posted, each evidence file
gets its own outbox row (``card_evidence``), keyed by claim and file, so a retried or crashed
delivery never sends a file that was already delivered, and a file Telegram refuses never
holds the card back. A member may add a file later (a reply to a message about the claim):
it is queued the same way when the card is already up.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from cpd.claims import drafts, identity, notifications, recipients, views
from cpd.claims.intake import Attachment, ClaimError, ClaimView, Sender
from cpd.claims.notifications import queue
from cpd.storage import Engine, Session, claims_repo, models, reading, transaction
from cpd.storage import cards as store

if TYPE_CHECKING:
    from cpd.claims.service import ClaimsService

CARD_TEMPLATE = "secretary_card"
EVIDENCE_TEMPLATE = "card_evidence"


def queue_evidence(session: Session, claim_id: int) -> int:
    """Queue every evidence file of a claim for the secretaries, under its card (once per
    file)."""
    ids = store.evidence_ids(session, claim_id)
    for evidence_id in ids:
        queue(
            session,
            f"claim:{claim_id}:evidence:{evidence_id}",
            "telegram",
            recipients.SECRETARIES,
            EVIDENCE_TEMPLATE,
            {"claim_id": claim_id, "evidence_id": evidence_id},
        )
    return len(ids)


def evidence_file(engine: Engine, evidence_id: int) -> models.EvidenceFile | None:
    """One evidence file (detached, for a sender to read)."""
    with reading(engine) as session:
        return store.evidence_file(session, evidence_id)


def without_card(engine: Engine, claim_ids: list[int]) -> set[int]:
    """Which of these claims have no card posted yet."""
    with reading(engine) as session:
        return store.without_card(session, claim_ids)


def attach_to_claim(
    service: ClaimsService, claim_id: int, sender: Sender, attachment: Attachment
) -> tuple[ClaimView, bool]:
    """Add a file to the member's own draft or pending claim; (the claim, whether the file
    was kept: False when it is too big). On a pending claim whose card is up, the file is
    queued for the secretary too."""
    with transaction(service.engine) as session:
        member = identity.require_member(session, sender)
        claim = drafts.own_claim(session, claim_id, member)
        if claim.status not in ("draft", "pending"):
            raise ClaimError(
                f"Claim #{claim.id} is already {claim.status}; no file can be added to it."
            )
        kept = drafts.add_evidence(service, session, claim, attachment)
        if kept and claim.status == "pending" and claim.card_chat_id is not None:
            queue_evidence(session, claims_repo.id_of(claim))
        return views.view(service, session, claim), kept


def card_posted(
    engine: Engine,
    claim_id: int,
    chat_id: int,
    message_id: int,
    notification: notifications.Notification | None = None,
) -> None:
    """Remember where the secretary's card was posted and, in the same transaction, that its
    notification was delivered and that each of its evidence files is now to be sent after it."""
    with transaction(engine) as session:
        claim = claims_repo.get(session, claim_id)
        if claim is not None:
            claim.card_chat_id, claim.card_message_id = chat_id, message_id
            queue_evidence(session, claim_id)
        if notification is not None:
            notifications.delivered_in(session, notification)
