"""The claims service: a thin facade over the workflow's concerns, one transaction per
transition (each writes its audit-log row and its notifications in the same transaction).

The channels (bot/, mail_ingest/, web/) call these methods and render what they return; the
work is done by one module per concern: :mod:`~cpd.claims.identity` (linking, who a sender
is), :mod:`~cpd.claims.drafts` and :mod:`~cpd.claims.draft_changes` (intake, drafts, typed
changes, submission), :mod:`~cpd.claims.mail_claims` (a claim by mail),
:mod:`~cpd.claims.decisions` (who may decide, and the decision), :mod:`~cpd.claims.views`
(batched views), :mod:`~cpd.claims.notifications` and :mod:`~cpd.claims.claim_notices` (the
only writers of the outbox) and :mod:`~cpd.claims.evaluation` (one evaluation per transition).
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable, Collection, Sequence
from pathlib import Path
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from cpd import rules
from cpd.claims import (
    amend,
    bot_state,
    cards,
    decisions,
    draft_changes,
    drafts,
    evidence_text,
    followups,
    identity,
    late_reflection,
    mail_claims,
    mail_tokens,
    mail_verdicts,
    notifications,
    ops_metrics,
    recipients,
    views,
    web_access,
    web_signin,
)
from cpd.claims.decisions import MAX_MANUAL_POINTS, Action
from cpd.claims.inbox import TelegramInbox
from cpd.claims.instances import Instances
from cpd.claims.intake import (
    Amendment,
    Attachment,
    ClaimView,
    Decision,
    Intake,
    IntakeResult,
    MailOutcome,
    Sender,
)
from cpd.claims.mail_control import unsubscribe_by_token
from cpd.claims.mail_verdicts import MailLimits
from cpd.claims.ocr import OcrLimits
from cpd.claims.reminder_run import REMINDER, Pass, ReminderReport, run_reminders
from cpd.claims.reminder_texts import HowToClaim
from cpd.claims.reminders import quiet_release
from cpd.claims.retention import PurgeReport, RetentionPolicy, purge
from cpd.storage import Engine, bounces, models, reading

__all__ = ["MAX_MANUAL_POINTS", "Action", "ClaimsService", "Extracting"]


class Extracting(Protocol):
    """What the service needs of the NLP step (``cpd.nlp.Extractor``)."""

    def extract(self, text: str, today: dt.date, evidence_text: str = "") -> Any: ...


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
        instances: Instances | None = None,
        outbox_retry: float = 1.0,
    ) -> None:
        self.engine = engine
        self.instances = instances or Instances(engine)
        self.outbox_retry = outbox_retry  # first wait (s) before a failed delivery is retried
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

    def read_evidence(self, limits: OcrLimits, stop: threading.Event | None = None) -> int:
        """Read the waiting evidence files by OCR and fill their claims (blocking: the OCR
        worker's thread calls it); how many files were read (``claims.evidence_text``)."""
        return evidence_text.read_waiting(self, limits, stop)

    # -- linking and identity ---------------------------------------------------------------

    def today(self) -> dt.date:
        """Today in the body's time zone."""
        return self.clock().astimezone(self.zone).date()

    def member_for(self, sender: Sender) -> models.Member | None:
        """The member who sent a message, or None."""
        with reading(self.engine) as session:
            return identity.member_of(session, sender)

    def link_telegram(self, token: str, telegram_user_id: int) -> models.Member:
        """Link a Telegram user to the member a ``cpd members invite`` token was made for."""
        return identity.link_telegram(self, token, telegram_user_id)

    def set_nudges_muted(self, sender: Sender, muted: bool) -> None:
        """Mute or unmute the weekly nudges for the member."""
        identity.set_nudges_muted(self, sender, muted)

    # -- intake and drafts --------------------------------------------------------------------

    def start_claim(self, intake: Intake) -> IntakeResult:
        """Turn a message into a draft claim with proposed points (idempotent on source key)."""
        return drafts.start_claim(self, intake)

    def receive_mail(self, intake: Intake, extra_keys: Sequence[str] = ()) -> MailOutcome:
        """A claim by mail: straight to pending, with a receipt by mail; exactly once.

        Idempotent on the intake's source key (the verified sender with the Message-ID) and
        on ``extra_keys`` (e.g. an IMAP UIDVALIDITY/UID); ``intake.legacy_keys`` (keys of
        earlier releases) are only looked up. What the sender verdict allows is decided by
        :mod:`cpd.claims.mail_verdicts`; bounces and unsubscribe mails are routed first
        (``claims.mail_control``); a member's reply to a mail the product sent about their
        claim amends that claim (``claims.amend``). See :mod:`cpd.claims.mail_claims`.
        """
        return mail_claims.receive_mail(self, intake, extra_keys)

    def confirm_held(self, claim_id: int, sender: Sender) -> ClaimView:
        """The member confirms a claim by mail held ``unverified`` (the Telegram button)."""
        return mail_verdicts.confirm_by_button(self, claim_id, sender)

    def expire_unverified(self) -> int:
        """Withdraw held claims not confirmed in time (the nightly job); how many."""
        return mail_verdicts.expire_holds(self)

    def update_draft(self, claim_id: int, sender: Sender, **changes: Any) -> ClaimView:
        """Correct a draft: ``kind``, ``hours``, ``date``, ``has_test``, ``category``,
        ``reflections`` (merged); see :class:`~cpd.claims.draft_changes.DraftChanges`."""
        return self.change_draft(claim_id, sender, draft_changes.DraftChanges.of(changes))

    def change_draft(
        self, claim_id: int, sender: Sender, changes: draft_changes.DraftChanges
    ) -> ClaimView:
        """Correct a draft with typed changes. Refused with a message the member can act on."""
        return draft_changes.update_draft(self, claim_id, sender, changes)

    def submit(self, claim_id: int, sender: Sender, anyway: bool = False) -> ClaimView:
        """Send a draft to the secretary: receipt to the member, card to the secretary chat
        (``anyway``: the member confirms a draft marked as a duplicate)."""
        return draft_changes.submit(self, claim_id, sender, anyway)

    def add_reflection(
        self, claim_id: int, sender: Sender, field: str, text: str
    ) -> tuple[ClaimView, str]:
        """A reflection for a draft, or a late impact reflection on an accepted claim that
        earns its credit (``claims.late_reflection``): (the claim, a message for the member)."""
        return late_reflection.add_reflection(self, claim_id, sender, field, text)

    def withdraw(self, claim_id: int, sender: Sender) -> ClaimView:
        """Withdraw a pending claim (or drop a draft)."""
        return draft_changes.withdraw(self, claim_id, sender)

    def attach(
        self,
        source_key: str,
        sender: Sender,
        attachment: Attachment,
        text: str = "",
        received_at: dt.datetime | None = None,
    ) -> ClaimView:
        """Add a file to the draft a message started (the further photos of an album)."""
        return drafts.attach(self, source_key, sender, attachment, text, received_at)

    # -- decisions ----------------------------------------------------------------------------

    def is_secretary(self, sender: Sender) -> bool:
        """Whether the sender is a member with the secretary role."""
        return decisions.is_secretary(self, sender)

    def decide(
        self,
        claim_id: int,
        sender: Sender,
        action: str,
        points: float | None = None,
        reason: str | None = None,
    ) -> Decision:
        """Accept (``accept``), accept with other points (``accept_points``) or decline."""
        if action not in {a.value for a in Action}:
            raise ValueError(f"unknown action {action!r}")
        return decisions.decide(self, claim_id, sender, Action(action), points, reason)

    def _refuse(self, sender: Sender, claim_id: int, action: str) -> None:
        """Audit a decision tried by someone who is not a secretary (the bot's buttons)."""
        decisions.refuse(self, sender, claim_id, action)

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
        cards.card_posted(self.engine, claim_id, chat_id, message_id, notification)

    def amend_by_reply(self, intake: Intake) -> Amendment | None:
        """A member's message replying to the product's message about a claim
        (``intake.reply_to``): amends it or passes it on (see ``claims.amend``); None when it
        is no such reply or not the sender's claim."""
        return amend.by_reply(self, intake)

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
        return decisions.card_location(self, claim_id)

    def categories(self, claim_id: int) -> list[tuple[str, str]]:
        """The (id, name) categories a member may choose from for a claim's scheme."""
        return views.categories(self, claim_id)

    # -- notifications ------------------------------------------------------------------------

    def store_telegram_updates(self, updates: Sequence[dict[str, Any]]) -> int:
        """Store Telegram updates in the inbox before they are confirmed (a webhook's 200);
        an ``update_id`` already stored is ignored. How many were new."""
        return TelegramInbox(self.engine).store(updates)

    def load_bot_state(self) -> list[tuple[str, str, bytes]]:
        """The Telegram bot's persisted state (see ``claims.bot_state``)."""
        return bot_state.load(self.engine)

    def save_bot_state(self, changes: Sequence[tuple[str, str, bytes | None]]) -> None:
        """Save changes to the Telegram bot's persisted state (None deletes)."""
        bot_state.save(self.engine, changes)

    def due_notifications(
        self, channel: str, limit: int = 50, after_id: int | None = None
    ) -> list[notifications.Notification]:
        """Notifications waiting for ``channel`` that are due now, after ``after_id`` when
        given (Telegram reminders wait out the quiet hours, also when a retry or a backlog
        falls in them)."""
        quiet = channel == "telegram" and quiet_release(self.clock(), self.zone) is not None
        held = (REMINDER,) if quiet else ()
        own = self.instances
        return notifications.due(self.engine, channel, limit, held, after_id, own.id, own.lease)

    def delivered(self, notification: notifications.Notification) -> None:
        """Record a delivery."""
        notifications.delivered(self.engine, notification)

    def addresses(
        self, channel: str, batch: Sequence[notifications.Notification]
    ) -> dict[str, str | None]:
        """The address on ``channel`` of each recipient (a role) of ``batch``, now: one query
        for the batch (``claims.recipients``); None where the role has none there."""
        return recipients.addresses(
            self.engine, channel, (n.recipient for n in batch), self.secretary_chat_id
        )

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
            self.engine,
            notification,
            error,
            retry_after,
            permanent,
            channel_down,
            self.outbox_retry,
        )

    def reminder_tokens(self) -> mail_tokens.MailTokens:
        """The unsubscribe and bounce tokens of reminder mail (``claims.mail_tokens``)."""
        return mail_tokens.load(self.engine)

    def bouncing_addresses(self) -> set[str]:
        """Member addresses that bounce: no mail goes to them (``claims.mail_control``)."""
        return bounces.bouncing_addresses(self.engine)

    def unsubscribe_by_token(self, token: str) -> bool:
        """Mute the member an unsubscribe token names (the one-click URL); False if none."""
        return unsubscribe_by_token(self, token)

    def follow_ups(self, today: dt.date | None = None) -> followups.FollowUpReport:
        """Queue the follow-ups due today (drafts, impact questions, window warnings), each
        once (see ``claims.followups``)."""
        return followups.run_followups(self.engine, self.zone, self.clock(), today)

    def queue_nudges(self, today: dt.date | None = None) -> int:
        """Queue the Telegram progress nudges (the weekly job); how many were new."""
        moment = None if today is None else dt.datetime.combine(today, dt.time(9), self.zone)
        telegram: tuple[Pass, ...] = ("telegram",)
        return self.send_reminders(telegram, moment).queued

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

    # -- views --------------------------------------------------------------------------------

    def pending(self) -> list[ClaimView]:
        """Claims waiting for a decision, oldest first."""
        return views.pending(self)

    def claim(self, claim_id: int) -> ClaimView | None:
        """One claim's view."""
        return views.by_id(self, claim_id)

    def claim_for_source(self, source_key: str) -> ClaimView | None:
        """The claim a message created, if any (to answer a message handled again after a
        crash cut its first handling short)."""
        return views.for_source(self, source_key)

    def evidence(self, claim_id: int) -> list[models.EvidenceFile]:
        """The evidence files of a claim."""
        return views.evidence(self, claim_id)

    def history(self, sender: Sender, limit: int = 20) -> list[ClaimView]:
        """The member's latest claims, newest activity first."""
        return views.history(self, sender, limit)

    def own_pending(self, sender: Sender) -> list[ClaimView]:
        """The member's claims that wait for a decision."""
        return [c for c in self.history(sender, limit=1000) if c.status == "pending"]

    def progress(
        self, sender: Sender, as_of: dt.date | None = None
    ) -> tuple[models.Member, rules.Scheme, rules.Evaluation]:
        """The member's standing now (or on ``as_of``)."""
        return views.progress(self, sender, as_of)

    def web_sign_in(self, token: str) -> web_access.WebUser:
        """Use a web sign-in link once: who it signs in (``web_access.LinkRefused`` if not)."""
        return web_access.redeem_link(self.engine, token, self.clock())

    def web_user(self, member_id: int) -> web_access.WebUser | None:
        """The signed-in web user as the database knows them now (None when gone)."""
        return web_access.user_by_id(self.engine, member_id)

    def database_answers(self) -> bool:
        """Whether the database answers a trivial query now (the health check)."""
        return web_access.database_answers(self.engine)

    def mail_signin_link(
        self, address: str, client: str, signin_url: str, limits: web_signin.SigninLimits
    ) -> web_signin.Asked:
        """Count an ask for a mailed sign-in link; within limits, mail one to the member
        registered with ``address`` (see :mod:`~cpd.claims.web_signin`)."""
        return web_signin.mail_link(self.engine, address, client, signin_url, self.clock(), limits)

    def web_link(self, sender: Sender) -> tuple[str, dt.datetime]:
        """A single-use web sign-in token for the sender's member, and when it expires."""
        return web_signin.link_for(self.engine, sender, self.clock())

    def web_session_key(self, legacy: str | None = None) -> str:
        """The key web session cookies are signed with, kept in the database."""
        return web_signin.session_key(self.engine, legacy)

    def ops_snapshot(self) -> ops_metrics.Snapshot:
        """The counts ``/metrics`` reports, read now."""
        return ops_metrics.snapshot(self.engine, self.clock())
