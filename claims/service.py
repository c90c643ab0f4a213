"""The claims service: intake → draft → pending → decision, one transaction per transition.

Every transition writes its audit-log row and its notifications (to the outbox) in the same
transaction as the change itself, so a crash loses nothing and sends nothing twice. Intake is
idempotent on the source key (a repeated Telegram update or mail creates nothing new), and a
decision only applies to a claim that is still pending, so two secretaries tapping at once
get exactly one decision.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
from collections.abc import Callable, Collection, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from cpd import rules
from cpd.claims import (
    amend,
    cards,
    mail_control,
    mail_tokens,
    mail_verdicts,
    notifications,
    texts,
    threads,
    verdict_texts,
)
from cpd.claims.dispensations import is_dispensation_subject, request_in
from cpd.claims.intake import (
    MAX_ATTACHMENT_BYTES,
    MAX_ATTACHMENTS,
    MAX_TEXT_CHARS,
    Amendment,
    Attachment,
    ClaimError,
    ClaimView,
    Decision,
    Intake,
    IntakeResult,
    MailOutcome,
    NotAllowed,
    NotLinked,
    Sender,
)
from cpd.claims.mail_verdicts import MailLimits
from cpd.claims.members import token_digest
from cpd.claims.reminder_run import REMINDER, Pass, ReminderReport, run_reminders
from cpd.claims.reminder_texts import HowToClaim
from cpd.claims.reminders import quiet_release
from cpd.claims.retention import PurgeReport, RetentionPolicy, purge
from cpd.claims.standing import rules_claim, rules_member
from cpd.storage import (
    Conflict,
    DuplicateKey,
    Engine,
    Session,
    bounces,
    claims_repo,
    models,
    reading,
    safe_display_name,
    store_bytes,
    transaction,
)
from cpd.storage import members as members_repo
from cpd.storage.outbox import enqueue
from cpd.storage.queries import (
    add_audit,
    add_processed,
    claims_of_member,
    granted_dispensations,
    processed_outcome,
)

log = logging.getLogger(__name__)

MAX_MANUAL_POINTS = 100.0


class Extracting(Protocol):
    """What the service needs of the NLP step (``cpd.nlp.Extractor``)."""

    def extract(self, text: str, today: dt.date) -> Any: ...


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class ClaimsService:
    """The channel-neutral workflow. Channels call these methods and render what they return."""

    def __init__(
        self,
        engine: Engine,
        extractor: Extracting,
        evidence_dir: Path,
        zone: ZoneInfo,
        secretary_chat_id: int | None = None,
        low_confidence: float = 0.5,
        clock: Callable[[], dt.datetime] = _utcnow,
        retention: RetentionPolicy | None = None,
        mail_limits: MailLimits | None = None,
    ) -> None:
        self.engine = engine
        self.mail_limits = mail_limits or MailLimits()
        self.retention = retention or RetentionPolicy()
        self.extractor = extractor
        self.evidence_dir = evidence_dir
        self.zone = zone
        self.secretary_chat_id = secretary_chat_id
        self.low_confidence = low_confidence
        self.clock = clock

    def purge_expired(self, dry_run: bool = False) -> PurgeReport:
        """The nightly retention purge under this service's policy (see ``claims.retention``)."""
        return purge(self.engine, self.evidence_dir, self.retention, self.clock(), dry_run)

    # -- members -------------------------------------------------------------------------

    def today(self) -> dt.date:
        """Today in the body's time zone."""
        return self.clock().astimezone(self.zone).date()

    def member_for(self, sender: Sender) -> models.Member | None:
        """The member who sent a message, or None."""
        with reading(self.engine) as session:
            return self._member(session, sender)

    def _member(self, session: Session, sender: Sender) -> models.Member | None:
        if sender.telegram_user_id is not None:
            return members_repo.by_telegram(session, sender.telegram_user_id)
        if sender.email:
            return members_repo.by_email(session, sender.email)
        if sender.membership_no:
            return members_repo.by_number(session, sender.membership_no)
        return None

    def _require_member(self, session: Session, sender: Sender) -> models.Member:
        member = self._member(session, sender)
        if member is None:
            raise NotLinked(texts.NOT_LINKED)
        return member

    def link_telegram(self, token: str, telegram_user_id: int) -> models.Member:
        """Link a Telegram user to the member a ``cpd members invite`` token was made for."""
        now = self.clock()
        with transaction(self.engine) as session:
            invite = members_repo.invite(session, token_digest(token.strip()))
            if invite is None:
                raise NotAllowed(
                    "That link code is not valid. Ask the membership secretary for a new one."
                )
            if invite.used_at is not None:
                raise NotAllowed(
                    "That link code has already been used. Ask the membership "
                    "secretary for a new one."
                )
            if _aware(invite.expires_at) < now:
                raise NotAllowed(
                    "That link code has expired. Ask the membership secretary for a new one."
                )
            member = members_repo.get(session, invite.member_id)
            assert member is not None
            previous = members_repo.by_telegram(session, telegram_user_id)
            if previous is not None and previous.id != member.id:
                previous.telegram_user_id = None
                session.flush()
            member.telegram_user_id = telegram_user_id
            invite.used_at = now
            add_audit(
                session,
                f"telegram:{telegram_user_id}",
                "member.linked",
                member_id=member.id,
                details={"telegram_user_id": telegram_user_id},
            )
            return member

    def set_nudges_muted(self, sender: Sender, muted: bool) -> None:
        """Mute or unmute the weekly nudges for the member."""
        with transaction(self.engine) as session:
            member = self._require_member(session, sender)
            member.nudges_muted = muted
            add_audit(
                session,
                sender.key(),
                "member.nudges_muted" if muted else "member.nudges_unmuted",
                member_id=member.id,
            )

    # -- intake and drafts ------------------------------------------------------------------

    def start_claim(self, intake: Intake) -> IntakeResult:
        """Turn a message into a draft claim with proposed points (idempotent on source key)."""
        with reading(self.engine) as session:
            existing = self._claim_by_source(session, intake.source_key)
            if existing is not None:
                return IntakeResult(self._view(session, existing), duplicate=True)
        try:
            with transaction(self.engine) as session:
                member = self._require_member(session, intake.sender)
                claim = self._draft(session, member, intake)
                return IntakeResult(self._view(session, claim))
        except (Conflict, DuplicateKey):
            # Another delivery of the same message won the race: show what it created.
            with reading(self.engine) as session:
                existing = self._claim_by_source(session, intake.source_key)
                if existing is None:
                    raise
                return IntakeResult(self._view(session, existing), duplicate=True)

    def receive_mail(self, intake: Intake, extra_keys: Sequence[str] = ()) -> MailOutcome:
        """A claim by mail: straight to pending, with a receipt by mail; exactly once.

        Idempotent on the intake's source key (the verified sender with the Message-ID) and
        on ``extra_keys`` (e.g. an IMAP UIDVALIDITY/UID); ``intake.legacy_keys`` (keys of
        earlier releases) are only looked up. What the sender verdict allows is decided by
        :mod:`cpd.claims.mail_verdicts`: automatic mail, confirmations of held claims and
        failed senders never become claims; a stranger whose domain verified gets one polite
        reply a day explaining how to register; a ``none`` verdict holds the claim. Bounces and
        unsubscribe mails are routed first (``claims.mail_control``); a member's reply to a mail
        the product sent about their claim amends that claim (``claims.amend``).
        """
        keys = [intake.source_key, *extra_keys]
        with reading(self.engine) as session:
            for key in [*keys, *intake.legacy_keys]:
                done = processed_outcome(session, key)
                if done is not None:
                    view = (
                        self._view(session, claims_repo.get(session, done.claim_id))
                        if (done.claim_id)
                        else None
                    )
                    return MailOutcome(done.outcome, view, duplicate=True)
        routed = mail_control.route(self, intake, keys)  # bounces, unsubscribe: never claims
        if routed is not None:
            return routed
        amended = amend.from_mail(self, intake, keys)
        if amended is not None:
            return amended
        try:
            with transaction(self.engine) as session:
                # -- who sent it (issue 10): automatic, confirmations, failed senders --
                screened = mail_verdicts.screen(self, session, intake, keys)
                if screened is not None:
                    return screened
                member = self._member(session, intake.sender)
                if member is None:
                    mail_verdicts.reply_to_stranger(self, session, intake)
                    for key in keys:
                        add_processed(session, key, intake.channel, "unknown_sender")
                    return MailOutcome("unknown_sender", None)
                capped = mail_verdicts.over_hourly_cap(self, session, member, intake, keys)
                if capped is not None:
                    return capped
                # -- the member's mail --
                if is_dispensation_subject(str(intake.reply_context.get("subject") or "")):
                    return self._dispensation_by_mail(session, member, intake, keys)
                try:
                    claim = self._draft(session, member, intake)
                except ClaimError as exc:
                    self._reply_to_member(session, member, intake, str(exc))
                    for key in keys:
                        add_processed(session, key, intake.channel, "nothing_to_claim")
                    return MailOutcome("nothing_to_claim", None)
                if intake.verification == "none":
                    return mail_verdicts.hold(self, session, member, claim, intake, keys)
                dropped = intake.dropped + tuple(
                    a.name or "attachment" for a in intake.attachments[MAX_ATTACHMENTS:]
                )
                view = self._submit(
                    session,
                    member,
                    claim,
                    intake.sender,
                    lambda v: texts.mail_receipt(v, dropped),
                )
                for key in keys:
                    add_processed(session, key, intake.channel, "claimed", claim.id)
                return MailOutcome("claimed", view)
        except (Conflict, DuplicateKey):
            with reading(self.engine) as session:
                claim = self._claim_by_source(session, intake.source_key)
                if claim is None:
                    raise
                return MailOutcome("claimed", self._view(session, claim), duplicate=True)

    def confirm_held(self, claim_id: int, sender: Sender) -> ClaimView:
        """The member confirms a claim by mail held ``unverified`` (the Telegram button)."""
        return mail_verdicts.confirm_by_button(self, claim_id, sender)

    def expire_unverified(self) -> int:
        """Withdraw held claims not confirmed in time (the nightly job); how many."""
        return mail_verdicts.expire_holds(self)

    def _dispensation_by_mail(
        self, session: Session, member: models.Member, intake: Intake, keys: Sequence[str]
    ) -> MailOutcome:
        """A mail whose subject asks for a dispensation: the body is the reason."""
        if intake.verification == "none":  # held requests would need a second confirm flow
            self._reply_to_member(session, member, intake, verdict_texts.DISPENSATION_UNVERIFIED)
            return mail_verdicts.processed(session, intake, keys, "dispensation_unverified")
        subject = str(intake.reply_context.get("subject") or "")
        reason = intake.text.strip()
        if reason.lower().startswith(subject.strip().lower()):
            reason = reason[len(subject.strip()) :].strip()
        try:
            request_in(
                session,
                member,
                reason,
                self.today(),
                intake.sender.key(),
                self.secretary_chat_id,
                self.clock(),
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
        self._reply_to_member(session, member, intake, answer)
        for key in keys:
            add_processed(session, key, intake.channel, outcome)
        return MailOutcome(outcome, None)

    def _reply_to_member(
        self, session: Session, member: models.Member, intake: Intake, text: str
    ) -> None:
        if not member.email or mail_verdicts.is_automatic(intake):
            return
        enqueue(
            session,
            f"reply:{intake.source_key}",
            "email",
            member.email,
            "reply",
            {
                "text": text,
                "subject": "Re: " + _subject(intake),
                "in_reply_to": intake.reply_context.get("message_id"),
                "references": intake.reply_context.get("references"),
                "auto_replied": True,
            },
        )

    def _claim_by_source(self, session: Session, source_key: str) -> models.Claim | None:
        return claims_repo.by_source(session, source_key)

    def _draft(self, session: Session, member: models.Member, intake: Intake) -> models.Claim:
        text = intake.text.strip()[:MAX_TEXT_CHARS]
        attachments = intake.attachments[:MAX_ATTACHMENTS]
        if not _has_words(text) and not attachments:
            raise ClaimError(texts.NOTHING_TO_CLAIM)
        claim = models.Claim(
            member_id=member.id,  # type: ignore[arg-type]
            channel=intake.channel,
            source_key=intake.source_key,
            kind="other",
            start_date=intake.received_at.astimezone(self.zone).date(),
            status="draft",
            verification=intake.verification,
            verification_domain=intake.verification_domain or None,
            verification_reasons=list(intake.verification_reasons) or None,
        )
        self._read_text(claim, text, intake.received_at, intake.reply_context)
        claim = claims_repo.insert(session, claim)  # DuplicateKey: another delivery won
        for attachment in attachments:
            if not self._add_evidence(session, claim, attachment):
                flags = {*claim.extracted["flags"], "attachment_too_big"}
                claim.extracted = {**claim.extracted, "flags": sorted(flags)}
        self._refresh_proposal(session, member, claim)
        add_audit(
            session,
            intake.sender.key(),
            "claim.drafted",
            member_id=member.id,
            claim_id=claim.id,
            details={"channel": intake.channel, "source_key": intake.source_key},
        )
        return claim

    def _read_text(
        self,
        claim: models.Claim,
        text: str,
        received_at: dt.datetime,
        reply_context: dict[str, Any] | None = None,
    ) -> None:
        """Fill a claim's activity fields from the member's words (or mark that there were none)."""
        local_day = received_at.astimezone(self.zone).date()
        flags: list[str] = []
        if _has_words(text):
            activity = self.extractor.extract(text, local_day)
            extracted = activity.to_json()
            flags.extend(activity.flags)
        else:
            extracted = {
                "kind": "other",
                "confidence": 0.0,
                "hours": None,
                "title": None,
                "provider": None,
                "has_test": False,
                "co_authors": None,
            }
            flags.append("no_text")
        start = _date_or(extracted.get("start_date"), local_day)
        end = _date_or(extracted.get("end_date"), start)
        if start > local_day:
            start, end = local_day, local_day
            flags.append("future_date")
        hours = extracted.get("hours")
        if hours is not None and (hours < 0 or hours > 24 * ((end - start).days + 1)):
            flags.append("hours_out_of_range")
            hours = None
        claim.raw_text = text
        claim.kind = extracted.get("kind") or "other"
        claim.hours = hours
        claim.start_date, claim.end_date = start, end
        claim.title = (extracted.get("title") or _title_from(text) or "Evidence")[:300]
        claim.provider = extracted.get("provider")
        claim.has_test = bool(extracted.get("has_test"))
        claim.co_authors = extracted.get("co_authors")
        claim.confidence = extracted.get("confidence")
        previous = claim.extracted or {}
        claim.extracted = {
            **extracted,
            "flags": sorted(set(flags)),
            "reply": reply_context if reply_context is not None else previous.get("reply", {}),
            **threads.keep_ids(previous),
        }

    def update_draft(self, claim_id: int, sender: Sender, **changes: Any) -> ClaimView:
        """Correct a draft: ``kind``, ``hours``, ``date``, ``has_test``, ``category``,
        ``reflections`` (merged). Refused with a message the member can act on."""
        with transaction(self.engine) as session:
            member = self._require_member(session, sender)
            claim = self._own_claim(session, claim_id, member)
            if claim.status != "draft":
                raise ClaimError(
                    f"Claim #{claim.id} is already {claim.status}; it can no longer be changed."
                )
            scheme = rules.load_scheme(member.scheme)
            for name, value in changes.items():
                self._apply_change(claim, scheme, name, value)
            self._refresh_proposal(session, member, claim)
            add_audit(
                session,
                sender.key(),
                "claim.changed",
                member_id=member.id,
                claim_id=claim.id,
                details={k: _jsonable(v) for k, v in changes.items()},
            )
            return self._view(session, claim)

    def _apply_change(
        self, claim: models.Claim, scheme: rules.Scheme, name: str, value: Any
    ) -> None:
        if name == "kind":
            if value not in rules.KINDS:
                raise ClaimError(f"{value!r} is not a kind of activity I know.")
            claim.kind = value
            claim.confidence = 1.0
        elif name == "hours":
            hours = float(value)
            if not math.isfinite(hours):
                raise ClaimError("That is not a number of hours I can use: try 2.5 or 1h30.")
            days = ((claim.end_date or claim.start_date) - claim.start_date).days + 1
            if hours < 0:
                raise ClaimError("Hours can't be negative. How many hours did it take?")
            if hours > 24 * days:
                raise ClaimError(
                    f"{texts.fmt(hours)} hours is more than {24 * days} hours in "
                    f"{days} day(s). How many hours did it take?"
                )
            claim.hours = round(hours, 2)
        elif name == "date":
            day = value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))
            if day > self.today():
                raise ClaimError(
                    "That date is in the future: claim an activity once you have done it."
                )
            span = ((claim.end_date or claim.start_date) - claim.start_date).days
            claim.start_date, claim.end_date = day, day + dt.timedelta(days=span)
        elif name == "has_test":
            claim.has_test = bool(value)
        elif name == "category":
            if value is not None and scheme.category(value) is None:
                raise ClaimError(f"{value!r} is not a category of the {scheme.short_name} scheme.")
            claim.category_override = value
        elif name == "reflections":
            merged = {
                **(claim.reflections or {}),
                **{k: v for k, v in value.items() if k in ("new_knowledge", "behaviour", "impact")},
            }
            claim.reflections = merged
        else:
            raise ValueError(f"unknown change {name!r}")

    def submit(self, claim_id: int, sender: Sender) -> ClaimView:
        """Send a draft to the secretary: receipt to the member, card to the secretary chat."""
        with transaction(self.engine) as session:
            member = self._require_member(session, sender)
            claim = self._own_claim(session, claim_id, member)
            if claim.status == "pending":
                return self._view(session, claim)
            if claim.status != "draft":
                raise ClaimError(f"Claim #{claim.id} is already {claim.status}.")
            blocking = [n for n in self._needs(member, claim) if n in ("reflection", "hours")]
            if "reflection" in blocking:
                raise ClaimError(texts.reflection_needed(rules.load_scheme(member.scheme)))
            if "hours" in blocking:
                raise ClaimError("How many hours did it take? Tap Change hours first.")
            return self._submit(session, member, claim, sender, texts.receipt)

    def withdraw(self, claim_id: int, sender: Sender) -> ClaimView:
        """Withdraw a pending claim (or drop a draft)."""
        with transaction(self.engine) as session:
            member = self._require_member(session, sender)
            claim = self._own_claim(session, claim_id, member)
            if claim.status not in ("draft", "pending"):
                raise ClaimError(f"Claim #{claim.id} is already {claim.status}.")
            was_pending = claim.status == "pending"
            claim.status = "withdrawn"
            claim.decided_at = self.clock()
            add_audit(
                session, sender.key(), "claim.withdrawn", member_id=member.id, claim_id=claim.id
            )
            view = self._view(session, claim)
            if was_pending:
                self._update_card(
                    session, claim, texts.card_outcome(view, "withdrawn by the member")
                )
            return view

    # -- decisions ----------------------------------------------------------------------------

    def is_secretary(self, sender: Sender) -> bool:
        """Whether the sender is a member with the secretary role."""
        member = self.member_for(sender)
        return member is not None and member.role == "secretary"

    def decide(
        self,
        claim_id: int,
        sender: Sender,
        action: str,
        points: float | None = None,
        reason: str | None = None,
    ) -> Decision:
        """Accept (``accept``), accept with other points (``accept_points``) or decline."""
        if action not in ("accept", "accept_points", "decline"):
            raise ValueError(f"unknown action {action!r}")
        with reading(self.engine) as session:
            secretary = self._member(session, sender)
            if secretary is None or secretary.role != "secretary":
                self._refuse(sender, claim_id, action)
                raise NotAllowed("Only the membership secretary can decide claims.")
            secretary_name = secretary.name
            secretary_id = secretary.id
        if action == "accept_points" and (points is None or not 0 <= points <= MAX_MANUAL_POINTS):
            raise ClaimError(f"Points must be a number from 0 to {texts.fmt(MAX_MANUAL_POINTS)}.")
        if action == "decline" and not (reason and reason.strip()):
            raise ClaimError("Please give a reason for declining: the member will see it.")
        now = self.clock()
        with transaction(self.engine) as session:
            claim = claims_repo.get(session, claim_id)
            if claim is None:
                raise ClaimError(f"There is no claim #{claim_id}.")
            member = members_repo.get(session, claim.member_id)
            assert member is not None
            if action == "decline":
                awarded, status = None, "declined"
            else:
                status = "accepted"
                awarded = (
                    round(points, 2)
                    if action == "accept_points"
                    else self._proposal(session, member, claim)[0]
                )
            changed = claims_repo.decide_if_pending(
                session,
                claim_id,
                status=status,
                awarded=awarded,
                decided_by=secretary_id,
                reason=(reason or "").strip() or None,
                now=now,
            )
            if not changed:
                session.rollback()
                view = self._view_by_id(claim_id)
                return Decision(view, False, texts.already_decided(view))
            session.expire(claim)
            add_audit(
                session,
                sender.key(),
                f"claim.{status}",
                member_id=member.id,
                claim_id=claim_id,
                details={"points": awarded, "reason": reason, "secretary": secretary_name},
            )
            view = self._view(session, claim)
            standing = self._evaluation(session, member, [])
            message = (
                texts.accepted(view, rules.load_scheme(member.scheme), standing)
                if status == "accepted"
                else texts.declined(view)
            )
            self._notify_member(session, member, claim, status, message)
            self._update_card(
                session, claim, texts.card_outcome(view, f"{status} by {secretary_name}")
            )
            return Decision(view, True, message)

    def _refuse(self, sender: Sender, claim_id: int, action: str) -> None:
        log.warning(
            "refused %s on claim %s from %s: not a secretary", action, claim_id, sender.key()
        )
        with transaction(self.engine) as session:
            add_audit(
                session,
                sender.key(),
                "decision.refused",
                details={"claim_id": claim_id, "action": action, "why": "not a secretary"},
            )

    def card_posted(
        self,
        claim_id: int,
        chat_id: int,
        message_id: int,
        notification: notifications.Notification | None = None,
    ) -> None:
        """Remember where the secretary's card was posted and, in the same transaction, that
        its notification was delivered (so a crash cannot post it twice from here on) and
        that each of its evidence files is now to be sent after it."""
        with transaction(self.engine) as session:
            claim = claims_repo.get(session, claim_id)
            if claim is not None:
                claim.card_chat_id, claim.card_message_id = chat_id, message_id
                cards.queue_evidence(session, claim_id, chat_id)
            if notification is not None:
                notifications.delivered_in(session, notification)

    def amend_by_reply(self, claim_id: int, intake: Intake) -> Amendment | None:
        """A member's message replying to the product's message about ``claim_id``: amends
        it or passes it on (see ``claims.amend``); None when it is not the sender's claim."""
        return amend.by_reply(self, claim_id, intake)

    def attach_to_claim(
        self, claim_id: int, sender: Sender, attachment: Attachment
    ) -> tuple[ClaimView, bool]:
        """Add a file to the member's own draft or pending claim (see ``cards``)."""
        return cards.attach_to_claim(self, claim_id, sender, attachment)

    def evidence_file(self, evidence_id: int) -> models.EvidenceFile | None:
        """One evidence file by id."""
        return cards.evidence_file(self.engine, evidence_id)

    def claims_without_card(self, claim_ids: list[int]) -> set[int]:
        """Which of these claims have no secretary card posted yet."""
        return cards.without_card(self.engine, claim_ids)

    def card_location(self, claim_id: int) -> tuple[int, int] | None:
        """Where the secretary's card for a claim was posted, if it was."""
        with reading(self.engine) as session:
            claim = claims_repo.get(session, claim_id)
            if claim is None or claim.card_message_id is None or claim.card_chat_id is None:
                return None
            return claim.card_chat_id, claim.card_message_id

    def attach(
        self,
        source_key: str,
        sender: Sender,
        attachment: Attachment,
        text: str = "",
        received_at: dt.datetime | None = None,
    ) -> ClaimView:
        """Add a file to the draft a message started (the further photos of an album). When
        the draft was started by a photo without words and this one has the caption, the
        caption is read now."""
        with transaction(self.engine) as session:
            member = self._require_member(session, sender)
            claim = self._claim_by_source(session, source_key)
            if claim is None or claim.member_id != member.id:
                raise NotAllowed("There is no claim to add that file to.")
            self._add_evidence(session, claim, attachment)
            text = text.strip()[:MAX_TEXT_CHARS]
            if claim.status == "draft" and _has_words(text) and not _has_words(claim.raw_text):
                self._read_text(claim, text, received_at or self.clock())
                self._refresh_proposal(session, member, claim)
            return self._view(session, claim)

    def categories(self, claim_id: int) -> list[tuple[str, str]]:
        """The (id, name) categories a member may choose from for a claim's scheme."""
        with reading(self.engine) as session:
            claim = claims_repo.get(session, claim_id)
            member = members_repo.get(session, claim.member_id) if claim else None
            if member is None:
                return []
            return [(c.id, c.name) for c in rules.load_scheme(member.scheme).categories]

    def due_notifications(
        self, channel: str, limit: int = 50, after_id: int | None = None
    ) -> list[notifications.Notification]:
        """Notifications waiting for ``channel`` that are due now, after ``after_id`` when
        given (Telegram reminders wait out the quiet hours, also when a retry or a backlog
        falls in them)."""
        quiet = channel == "telegram" and quiet_release(self.clock(), self.zone) is not None
        held = (REMINDER,) if quiet else ()
        return notifications.due(self.engine, channel, limit, held, after_id)

    def delivered(self, notification: notifications.Notification) -> None:
        """Record a delivery."""
        notifications.delivered(self.engine, notification)

    def delivered_all(self, batch: Sequence[notifications.Notification]) -> None:
        """Record several deliveries in one transaction."""
        notifications.delivered_all(self.engine, batch)

    def delivery_failed(
        self,
        notification: notifications.Notification,
        error: str,
        retry_after: float | None = None,
        permanent: bool = False,
        channel_down: bool = False,
    ) -> dt.datetime:
        """Record a failed delivery; it is retried later with backoff unless ``permanent``
        (an unreachable channel never makes it give up)."""
        return notifications.failed(
            self.engine, notification, error, retry_after, permanent, channel_down
        )

    def reminder_tokens(self) -> mail_tokens.MailTokens:
        """The unsubscribe and bounce tokens of reminder mail (``claims.mail_tokens``)."""
        return mail_tokens.load(self.engine)

    def bouncing_addresses(self) -> set[str]:
        """Member addresses that bounce: no mail goes to them (``claims.mail_control``)."""
        return bounces.bouncing_addresses(self.engine)

    def unsubscribe_by_token(self, token: str) -> bool:
        """Mute the member an unsubscribe token names (the one-click URL); False if none."""
        return mail_control.unsubscribe_by_token(self, token)

    def queue_nudges(self, today: dt.date | None = None) -> int:
        """Queue the Telegram progress nudges (the weekly job); how many were new."""
        moment = None if today is None else dt.datetime.combine(today, dt.time(9), self.zone)
        return self.send_reminders(("telegram",), moment).queued

    def send_reminders(
        self,
        passes: Collection[Pass],
        moment: dt.datetime | None = None,
        how: HowToClaim | None = None,
        dry_run: bool = False,
    ) -> ReminderReport:
        """A reminder run at ``moment`` (default now; see ``claims.reminder_run``)."""
        now = self.clock()
        return run_reminders(
            self.engine, moment or now, self.zone, passes, how, queued_at=now, dry_run=dry_run
        )

    def pending(self) -> list[ClaimView]:
        """Claims waiting for a decision, oldest first."""
        with reading(self.engine) as session:
            claims = claims_repo.pending(session)
            return [self._view(session, c) for c in claims]

    def claim(self, claim_id: int) -> ClaimView | None:
        """One claim's view."""
        return self._view_by_id(claim_id)

    def claim_for_source(self, source_key: str) -> ClaimView | None:
        """The claim a message created, if any (to answer a message handled again after a
        crash cut its first handling short)."""
        with reading(self.engine) as session:
            claim = self._claim_by_source(session, source_key)
            return None if claim is None else self._view(session, claim)

    def evidence(self, claim_id: int) -> list[models.EvidenceFile]:
        """The evidence files of a claim."""
        with reading(self.engine) as session:
            return claims_repo.evidence_of(session, [claim_id])

    def history(self, sender: Sender, limit: int = 20) -> list[ClaimView]:
        """The member's latest claims, newest activity first."""
        with reading(self.engine) as session:
            member = self._require_member(session, sender)
            claims = claims_of_member(session, member.id)  # type: ignore[arg-type]
            return [self._view(session, c) for c in reversed(claims[-limit:])]

    def own_pending(self, sender: Sender) -> list[ClaimView]:
        """The member's claims that wait for a decision."""
        return [c for c in self.history(sender, limit=1000) if c.status == "pending"]

    def progress(
        self, sender: Sender, as_of: dt.date | None = None
    ) -> tuple[models.Member, rules.Scheme, rules.Evaluation]:
        """The member's standing now (or on ``as_of``)."""
        with reading(self.engine) as session:
            member = self._require_member(session, sender)
            evaluation = self._evaluation(session, member, [], as_of)
            return member, rules.load_scheme(member.scheme), evaluation

    # -- helpers -------------------------------------------------------------------------------

    def _add_evidence(self, session: Session, claim: models.Claim, attachment: Attachment) -> bool:
        """Store a file for the claim (once per content); False when it is too big to keep."""
        if len(attachment.data) > MAX_ATTACHMENT_BYTES:
            return False
        stored = store_bytes(self.evidence_dir, attachment.data)
        if not claims_repo.has_evidence(session, claim.id, stored.sha256):  # type: ignore[arg-type]
            claims_repo.add_evidence(
                session,
                models.EvidenceFile(
                    claim_id=claim.id,  # type: ignore[arg-type]
                    original_name=safe_display_name(attachment.name),
                    content_type=attachment.content_type[:127],
                    size=stored.size,
                    sha256=stored.sha256,
                    stored_path=str(stored.path),
                ),
            )
        return True

    def _own_claim(self, session: Session, claim_id: int, member: models.Member) -> models.Claim:
        claim = claims_repo.get(session, claim_id)
        if claim is None or claim.member_id != member.id:
            raise NotAllowed(f"There is no claim #{claim_id} of yours.")
        return claim

    def _evaluation(
        self,
        session: Session,
        member: models.Member,
        extra: Sequence[rules.Claim],
        as_of: dt.date | None = None,
    ) -> rules.Evaluation:
        claims = [rules_claim(c) for c in claims_of_member(session, member.id)]  # type: ignore[arg-type]
        ids = {c.id for c in extra}
        claims = [c for c in claims if c.id not in ids] + list(extra)
        dispensations = granted_dispensations(session, member.id)  # type: ignore[arg-type]
        return rules.evaluate(
            rules.load_scheme(member.scheme),
            rules_member(member.joined, member.grade, dispensations, member.diploma_start),
            claims,
            as_of or self.today(),
        )

    def _proposal(
        self, session: Session, member: models.Member, claim: models.Claim
    ) -> tuple[float, str, str | None]:
        """Points the claim would earn if accepted now, the rule behind them, its category."""
        candidate = replace(rules_claim(claim), status="accepted", points=None)
        as_of = max(self.today(), claim.end_date or claim.start_date)
        evaluation = self._evaluation(session, member, [candidate], as_of)
        result = evaluation.result(candidate.id)
        return result.points, result.note, result.category

    def _refresh_proposal(
        self, session: Session, member: models.Member, claim: models.Claim
    ) -> None:
        session.flush()
        points, note, category = self._proposal(session, member, claim)
        claim.proposed_points = points
        claim.extracted = {**(claim.extracted or {}), "rule_note": note, "category": category}

    def _needs(self, member: models.Member, claim: models.Claim) -> tuple[str, ...]:
        scheme = rules.load_scheme(member.scheme)
        needs: list[str] = []
        if claim.confidence is not None and claim.confidence < self.low_confidence:
            needs.append("kind")
        category = (
            scheme.category(claim.category_override)
            if claim.category_override
            else scheme.category_for(claim.kind, claim.provider)
        )
        if category is not None and category.rate.per_hour is not None and claim.hours is None:
            needs.append("hours")
        reflections = rules.Reflections(
            **{
                k: (claim.reflections or {}).get(k)
                for k in ("new_knowledge", "behaviour", "impact")
            }
        )
        if scheme.reflection_required == "new_knowledge" and not reflections.has("new_knowledge"):
            needs.append("reflection")
        if scheme.reflection_required == "any" and not reflections.any():
            needs.append("reflection")
        if scheme.member_may_choose_category and claim.category_override is None:
            needs.append("category")
        return tuple(needs)

    def _view(self, session: Session, claim: models.Claim) -> ClaimView:
        member = members_repo.get(session, claim.member_id)
        assert member is not None
        scheme = rules.load_scheme(member.scheme)
        decided_by = None
        if claim.decided_by is not None:
            secretary = members_repo.get(session, claim.decided_by)
            decided_by = secretary.name if secretary else None
        evidence_count = claims_repo.evidence_counts(session, [claim.id]).get(claim.id, 0)  # type: ignore[list-item]
        extracted = claim.extracted or {}
        return ClaimView(
            id=claim.id,  # type: ignore[arg-type]
            member_no=member.membership_no,
            member_name=member.name,
            scheme=scheme.id,
            status=claim.status,
            kind=claim.kind,
            title=claim.title,
            start_date=claim.start_date,
            end_date=claim.end_date,
            hours=claim.hours,
            provider=claim.provider,
            has_test=claim.has_test,
            confidence=claim.confidence,
            proposed_points=claim.proposed_points,
            awarded_points=claim.awarded_points,
            rule_note=extracted.get("rule_note", ""),
            unit=scheme.unit,
            category=claim.category_override or extracted.get("category"),
            reflections=dict(claim.reflections or {}),
            evidence_count=evidence_count,
            needs=self._needs(member, claim) if claim.status in ("draft", "pending") else (),
            flags=tuple(extracted.get("flags", ())),
            decided_by=decided_by,
            decided_at=claim.decided_at,
            decision_reason=claim.decision_reason,
            verification=claim.verification,
            verification_domain=claim.verification_domain,
            verification_reasons=tuple(claim.verification_reasons or ()),
        )

    def _view_by_id(self, claim_id: int) -> ClaimView:
        with reading(self.engine) as session:
            claim = claims_repo.get(session, claim_id)
            if claim is None:
                raise ClaimError(f"There is no claim #{claim_id}.")
            return self._view(session, claim)

    def _notify_member(
        self, session: Session, member: models.Member, claim: models.Claim, event: str, text: str
    ) -> None:
        """Telegram for claims made there; mail for claims made by mail (and Telegram too for
        their decisions when the member is linked)."""
        by_mail = claim.channel == "email" or (  # a web claim: mail when not on Telegram
            claim.channel == "web" and member.telegram_user_id is None and event != "receipt"
        )
        if member.telegram_user_id is not None and (not by_mail or event != "receipt"):
            enqueue(
                session,
                f"claim:{claim.id}:{event}:telegram",
                "telegram",
                str(member.telegram_user_id),
                "message",
                {"text": text},
            )
        if by_mail and member.email:
            reply = (claim.extracted or {}).get("reply") or {}
            enqueue(
                session,
                f"claim:{claim.id}:{event}:email",
                "email",
                member.email,
                event,
                {
                    "text": text,
                    "subject": texts.mail_subject(event, claim.title),
                    "in_reply_to": reply.get("message_id"),
                    "references": reply.get("references"),
                    "message_id_local": threads.mint(claim),
                    "auto_replied": event == "receipt",
                },
            )

    def _submit(
        self,
        session: Session,
        member: models.Member,
        claim: models.Claim,
        sender: Sender,
        receipt: Callable[[ClaimView], str],
    ) -> ClaimView:
        """Draft to pending: proposal refreshed, audited, receipt and secretary card queued."""
        claim.status = "pending"
        claim.submitted_at = self.clock()
        self._refresh_proposal(session, member, claim)
        view = self._view(session, claim)
        add_audit(
            session,
            sender.key(),
            "claim.submitted",
            member_id=member.id,
            claim_id=claim.id,
            details={"channel": claim.channel, "proposed_points": claim.proposed_points},
        )
        self._notify_member(session, member, claim, "receipt", receipt(view))
        self._post_card(session, claim, view)
        return view

    def _post_card(self, session: Session, claim: models.Claim, view: ClaimView) -> None:
        """Queue the claim's card for the secretary chat (once per claim)."""
        if self.secretary_chat_id is None:
            return
        enqueue(
            session,
            f"claim:{claim.id}:card",
            "telegram",
            str(self.secretary_chat_id),
            "secretary_card",
            {"claim_id": claim.id, "text": texts.secretary_card(view)},
        )

    def _update_card(self, session: Session, claim: models.Claim, text: str) -> None:
        if self.secretary_chat_id is None:
            return
        enqueue(
            session,
            f"claim:{claim.id}:card-final",
            "telegram",
            str(self.secretary_chat_id),
            "card_update",
            {"claim_id": claim.id, "text": text},
        )


def _subject(intake: Intake) -> str:
    return str(intake.reply_context.get("subject") or "your CPD claim")[:150]


def _has_words(text: str) -> bool:
    return any(ch.isalnum() for ch in text)


def _aware(moment: dt.datetime) -> dt.datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def _date_or(value: Any, default: dt.date) -> dt.date:
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str) and value:
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            return default
    return default


def _title_from(text: str) -> str:
    words = " ".join(text.split())
    return words if len(words) <= 60 else words[:57].rsplit(" ", 1)[0] + "..."


def _jsonable(value: Any) -> Any:
    if isinstance(value, dt.date):
        return value.isoformat()
    return value
