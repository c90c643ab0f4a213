"""Replies that amend the claim they answer (a mail replying to a receipt, a Telegram reply to
the draft or receipt message).

A reply amends a claim only when it answers a message the product sent about that claim (for
mail, a Message-ID minted in ``cpd.claims.threads``; for Telegram, a bot message naming the
claim), it comes from the claim's own member, and the sender is trusted
(``Intake.may_amend``); anything else is handled as today (a new claim). What the text means
is read by ``cpd.claims.reply_text``; here it is applied:

* **draft or pending**: stated hours, dates and kind correct the claim; headed reflections
  go to their field (added, or appended to what is there); the rest of the text is the
  claim's reflection (``new_knowledge``) when the scheme's mandatory reflection is missing or
  the claim is still a draft, and otherwise a note passed to the secretary. The proposal is
  re-run, the member is answered with it ("Claim #12 updated: ... proposed now 4 credits (was
  0)"), and a pending claim's secretary card shows the new text.
* **decided** (accepted, declined, withdrawn, expired): the claim is not changed; the text
  goes to the secretary as a note and the member is told it was passed on.

Each reply is handled once (its source key is stored as a processed key with the outcome), in
one transaction with its ``claim.amended``/``claim.reply_noted`` audit row and its outbox rows.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from cpd import rules
from cpd.claims import (
    claim_notices,
    draft_changes,
    drafts,
    identity,
    late_reflection,
    recipients,
    reply_text,
    texts,
    threads,
    views,
)
from cpd.claims.cards import queue_evidence
from cpd.claims.intake import (
    MAX_ATTACHMENTS,
    Amendment,
    ClaimError,
    ClaimView,
    Intake,
    MailOutcome,
    TelegramReply,
)
from cpd.claims.notifications import queue
from cpd.rules.values import number
from cpd.storage import Conflict, Session, claims_repo, models, reading, transaction
from cpd.storage.outbox import replace_pending_payload
from cpd.storage.queries import add_audit, add_processed, processed_outcome, secretary_emails

if TYPE_CHECKING:
    from cpd.claims.service import ClaimsService

OUTCOMES = frozenset({"amended", "noted", "unchanged"})
OPEN = ("draft", "pending")
MIN_REFLECTION_WORDS = 3
"""Fewer words than this ("Thanks!") are neither a reflection nor a note."""
LABELS = {
    "new_knowledge": "New knowledge and skills",
    "behaviour": "Behaviour and approach",
    "impact": "Impact and results",
}


def _digest(source_key: str) -> str:
    return hashlib.sha256(source_key.encode()).hexdigest()[:32]


def from_mail(service: ClaimsService, intake: Intake, keys: Sequence[str]) -> MailOutcome | None:
    """A mail that replies to one of the product's mails about the sender's own claim:
    amended or noted (see the module docstring); None when it is not such a reply (the
    caller then handles it as a new mail)."""
    thread = intake.thread
    if not intake.may_amend or intake.automatic or thread is None or not thread.answers:
        return None
    try:
        with transaction(service.engine) as session:
            claim = threads.replied_claim(session, thread.answers)
            member = identity.member_of(session, intake.sender)
            if claim is None or member is None or member.id != claim.member_id:
                return None
            result = _amend(service, session, member, claim, intake, intake.words)
            for key in keys:
                add_processed(session, key, intake.channel, result.outcome, claim.id)
            if not result.changes.get("sent_anyway"):  # the receipt answers that
                _answer_by_mail(session, member, claim, intake, result.message)
            return MailOutcome(result.outcome, result.claim)
    except Conflict:
        # Another delivery of the same reply won the race: it did the amendment.
        with reading(service.engine) as session:
            for key in keys:
                done = processed_outcome(session, key)
                if done is not None and done.claim_id is not None:
                    claim = claims_repo.get(session, done.claim_id)
                    view = views.view(service, session, claim) if claim is not None else None
                    return MailOutcome(done.outcome, view, duplicate=True)
        raise


def by_reply(service: ClaimsService, intake: Intake) -> Amendment | None:
    """A message replying to the product's message about a claim (Telegram, ``intake.reply_to``
    a :class:`TelegramReply`): amended or noted; None when it is no such reply or the claim is
    not the sender's (the caller then starts a new claim)."""
    if not intake.may_amend or not isinstance(intake.reply_to, TelegramReply):
        return None
    claim_id = intake.reply_to.claim_id
    with reading(service.engine) as session:
        done = processed_outcome(session, intake.source_key)
        if done is not None and done.outcome in OUTCOMES and done.claim_id == claim_id:
            claim = claims_repo.get(session, claim_id)
            if claim is not None:
                return Amendment(
                    views.view(service, session, claim), done.outcome, "", duplicate=True
                )
    with transaction(service.engine) as session:
        claim = claims_repo.get(session, claim_id)
        member = identity.member_of(session, intake.sender)
        if claim is None or member is None or member.id != claim.member_id:
            return None
        result = _amend(service, session, member, claim, intake, intake.text.strip())
        add_processed(session, intake.source_key, intake.channel, result.outcome, claim.id)
        return result


def _amend(
    service: ClaimsService,
    session: Session,
    member: models.Member,
    claim: models.Claim,
    intake: Intake,
    text: str,
) -> Amendment:
    sent = late_reflection.from_reply(service, session, member, claim, intake, text)
    if sent is not None:  # "send anyway" on a duplicate, or a late impact reflection
        return sent
    if claim.status not in OPEN:
        _note(service, session, member, claim, intake, text)
        add_audit(
            session,
            intake.sender.key(),
            "claim.reply_noted",
            member_id=member.id,
            claim_id=claim.id,
            details={"status": claim.status, "source_key": intake.source_key[:255]},
        )
        view = views.view(service, session, claim)
        return Amendment(
            view,
            "noted",
            f"Claim #{claim.id} is already {claim.status}, so it was not changed; your "
            "message was passed to the membership secretary.",
        )
    scheme = rules.load_scheme(member.scheme)
    before = views.view(service, session, claim)
    day = intake.received_at.astimezone(service.zone).date()
    reading = reply_text.read(text, service.extractor, day, service.low_confidence)
    changes: dict[str, Any] = {}
    refused: list[str] = []
    _correct(service, claim, scheme, reading, changes, refused)
    reflections = dict(reading.reflections)
    remainder = reading.remainder if _words(reading.remainder) >= MIN_REFLECTION_WORDS else ""
    note = ""
    if remainder and ("reflection" in before.needs or claim.status == "draft"):
        reflections["new_knowledge"] = "\n".join(
            r for r in (reflections.get("new_knowledge"), remainder) if r
        )
    elif remainder:
        note = remainder
    if reflections:
        claim.reflections = _merged(claim.reflections or {}, reflections)
        changes["reflections"] = sorted(reflections)
    added = _evidence(service, session, claim, intake)
    if added:
        changes["evidence"] = added
    if note:
        _note(service, session, member, claim, intake, note)
    if not changes:
        view = views.view(service, session, claim)
        outcome = "noted" if note else "unchanged"
        message = _unchanged(claims_repo.id_of(claim), bool(note), refused)
        return Amendment(view, outcome, message)
    drafts.refresh_proposal(service, session, member, claim)
    view = views.view(service, session, claim)
    add_audit(
        session,
        intake.sender.key(),
        "claim.amended",
        member_id=member.id,
        claim_id=claim.id,
        details={
            "changes": changes,
            "refused": refused,
            "note": bool(note),
            "proposed_before": before.proposed_points,
            "proposed_after": view.proposed_points,
            "source_key": intake.source_key[:255],
        },
    )
    if claim.status == "pending":
        _refresh_card(service, session, claim, view, intake.source_key)
    return Amendment(view, "amended", _updated(before, view, changes, refused, bool(note)), changes)


def _correct(
    service: ClaimsService,
    claim: models.Claim,
    scheme: rules.Scheme,
    reading: reply_text.Reading,
    changes: dict[str, Any],
    refused: list[str],
) -> None:
    """Apply the stated kind, dates and hours (dates first: they bound the hours)."""
    if reading.kind is not None and reading.kind != claim.kind:
        draft_changes.apply_change(service, claim, scheme, "kind", reading.kind)
        changes["kind"] = reading.kind
    if reading.dates is not None and reading.dates != (claim.start_date, claim.end_date):
        start, end = reading.dates
        if end > service.today():
            refused.append("the date is in the future")
        else:
            claim.start_date, claim.end_date = start, end
            changes["dates"] = [start.isoformat(), end.isoformat()]
    if reading.hours is not None and reading.hours != claim.hours:
        try:
            draft_changes.apply_change(service, claim, scheme, "hours", reading.hours)
            changes["hours"] = claim.hours
        except ClaimError as exc:
            refused.append(str(exc))


def _merged(current: dict[str, Any], added: dict[str, str]) -> dict[str, Any]:
    merged = dict(current)
    for name, value in added.items():
        old = str(merged.get(name) or "").strip()
        merged[name] = f"{old}\n\n{value}" if old else value
    return merged


def _evidence(service: ClaimsService, session: Session, claim: models.Claim, intake: Intake) -> int:
    """Files that came with the reply, added to the claim (and to its card when it is up)."""
    added = sum(
        1
        for attachment in intake.attachments[:MAX_ATTACHMENTS]
        if drafts.add_evidence(service, session, claim, attachment)
    )
    if added and claim.status == "pending" and claim.card_chat_id is not None:
        queue_evidence(session, claims_repo.id_of(claim))
    return added


def _words(text: str) -> int:
    return sum(1 for word in text.split() if any(ch.isalnum() for ch in word))


def _updated(
    before: ClaimView, view: ClaimView, changes: dict[str, Any], refused: list[str], noted: bool
) -> str:
    said = []
    if "kind" in changes:
        said.append(f"kind now {texts.KIND_LABELS.get(view.kind, view.kind)}")
    if "dates" in changes:
        said.append(f"date now {_when(view)}")
    if "hours" in changes:
        said.append(f"hours now {texts.fmt(view.hours)} (was {texts.fmt(before.hours)})")
    for name in changes.get("reflections", ()):
        said.append(f'"{LABELS.get(name, name)}" reflection added')
    if changes.get("evidence"):
        said.append(f"{changes['evidence']} file(s) added")
    points = ""
    if view.proposed_points is not None:
        was = number(before.proposed_points or 0)
        points = f"; proposed now {texts.amount(view.proposed_points, view.unit)} (was {was})"
    lines = [f"Claim #{view.id} updated: {', '.join(said)}{points}.", ""]
    lines += [texts.describe(view), "", texts.proposal(view)]
    if refused:
        lines += ["", "Not changed: " + "; ".join(refused)]
    if noted:
        lines += ["", "The rest of your message was passed to the membership secretary."]
    if "reflection" in view.needs:
        lines += ["", "Your scheme still asks for a reflection on what you learnt."]
    return "\n".join(lines).strip()


def _when(view: ClaimView) -> str:
    end = view.end_date or view.start_date
    if end == view.start_date:
        return texts.long_date(view.start_date)
    return f"{texts.long_date(view.start_date)} to {texts.long_date(end)}"


def _unchanged(claim_id: int, noted: bool, refused: list[str]) -> str:
    if noted:
        return (
            f"Claim #{claim_id} is unchanged; your message was passed to the membership secretary."
        )
    why = f" ({'; '.join(refused)})" if refused else ""
    return (
        f"I found no correction or reflection in your reply, so claim #{claim_id} is "
        f'unchanged{why}. Write e.g. "Hours: 6" or "Impact and results: ...".'
    )


def _refresh_card(
    service: ClaimsService,
    session: Session,
    claim: models.Claim,
    view: ClaimView,
    source_key: str,
) -> None:
    """The secretary's card of a pending claim shows the amended claim: a card not posted yet
    is posted with the new text; a posted one is edited (its buttons kept)."""
    if service.secretary_chat_id is None:
        return
    text = texts.secretary_card(view) + "\n\nAmended by the member's reply."
    card_key = f"claim:{claim.id}:card"
    if claim.card_message_id is None and replace_pending_payload(
        session, card_key, {"claim_id": claim.id, "text": text}
    ):
        return
    queue(
        session,
        f"claim:{claim.id}:card-amended:{_digest(source_key)}",
        "telegram",
        recipients.SECRETARIES,
        "card_update",
        {"claim_id": claim.id, "text": text, "buttons": True},
    )


def _note(
    service: ClaimsService,
    session: Session,
    member: models.Member,
    claim: models.Claim,
    intake: Intake,
    text: str,
) -> None:
    """Pass a member's words about a claim to the secretaries (under the card when it is up,
    else as a message; by mail when there is no secretary chat)."""
    body = (
        f"{member.name} ({member.membership_no}) wrote about claim #{claim.id} "
        f"({claim.status}, {claim.title}):\n\n{text.strip()[:3000] or '(no text)'}"
    )
    key = f"amend:{_digest(intake.source_key)}:note"
    if service.secretary_chat_id is not None:
        queue(
            session,
            key,
            "telegram",
            recipients.SECRETARIES,
            "card_note",
            {"claim_id": claim.id, "text": body},
        )
        return
    for secretary_id, address in secretary_emails(session):
        queue(
            session,
            f"{key}:{address}"[:255],
            "email",
            recipients.member(secretary_id),
            "card_note",
            {"text": body, "subject": f"Member's note on CPD claim #{claim.id}"},
        )


def _answer_by_mail(
    session: Session, member: models.Member, claim: models.Claim, intake: Intake, text: str
) -> None:
    """The answer to a reply, threaded under it, with a Message-ID a further reply can use."""
    if not member.email:
        return
    queue(
        session,
        f"amend:{_digest(intake.source_key)}:answer",
        "email",
        recipients.member(member),
        "amended",
        {
            "text": text,
            "subject": f"Your CPD claim #{claim.id}",
            **claim_notices.answering(intake),
            "message_id_local": threads.mint(session, claim),
        },
    )
