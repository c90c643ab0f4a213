"""What a channel hands to the claims service, and the values it gets back.

Channels (the bot, the mail listener) build an :class:`Intake` from a message and render the
views they get back; they never see the database.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

MAX_TEXT_CHARS = 20_000
"""Longer texts are cut before they are stored or extracted (the raw message is not kept)."""
MAX_ATTACHMENT_BYTES = 20 * 1024 * 1024
MAX_ATTACHMENTS = 10


class ClaimError(Exception):
    """Something the member or secretary asked cannot be done; the message is for them."""


class NotLinked(ClaimError):
    """The sender is not a known member."""


class NotAllowed(ClaimError):
    """The actor may not do this (not the owner, not a secretary, forged callback)."""


@dataclass(frozen=True, slots=True)
class Attachment:
    """A file that came with a message (a photo, a PDF certificate)."""

    data: bytes
    content_type: str = "application/octet-stream"
    name: str | None = None


@dataclass(frozen=True, slots=True)
class Sender:
    """Who sent a message: a Telegram user id, an email address, or (signed in on the web)
    a membership number."""

    telegram_user_id: int | None = None
    email: str | None = None
    membership_no: str | None = None

    def key(self) -> str:
        """A printable identity for logs and the audit trail."""
        if self.telegram_user_id is not None:
            return f"telegram:{self.telegram_user_id}"
        if self.email is None and self.membership_no is not None:
            return f"web:{self.membership_no}"
        return f"email:{self.email}"


class Intent(StrEnum):
    """What the channel says a message is: a claim, a dispensation request, or a reply to a
    message the product sent about a claim (a receipt, a decision, an answer)."""

    CLAIM = "claim"
    DISPENSATION = "dispensation"
    REPLY = "reply"


@dataclass(frozen=True, slots=True)
class MailThread:
    """Where a mail sits in its thread, as the mail channel read it.

    ``message_id`` is the mail's own Message-ID and ``references`` the thread an answer
    continues (its References plus its Message-ID): an answer is threaded under them.
    ``answers`` are the local parts of the product's Message-IDs about a claim that it refers
    to (``In-Reply-To`` first, then ``References`` newest first; see ``cpd.claims.threads``),
    and ``reminder`` whether it answers a reminder mail.
    """

    message_id: str | None = None
    references: str | None = None
    answers: tuple[str, ...] = ()
    reminder: bool = False


@dataclass(frozen=True, slots=True)
class TelegramReply:
    """A Telegram message that replies to the bot's message (``message_id``) about
    ``claim_id``."""

    claim_id: int
    message_id: int | None = None


ReplyReference = MailThread | TelegramReply
"""What a message answers: a mail thread, or a Telegram reply to the bot."""


@dataclass(frozen=True, slots=True)
class Intake:
    """One inbound message that may start a claim.

    The channel says what the message is (``intent``) and what it answers (``reply_to``);
    the claims service decides by them, never by the channel's raw fields. ``subject`` is the
    subject line as sent (mail; "" elsewhere), ``body`` the words without it (what a reply,
    a command or a dispensation reason says; None: the same as ``text``). ``automatic``
    marks an auto-reply or bounce, which gets no answer; ``recipients`` are the addresses
    the mail says it was delivered to, ``delivery_reports`` the recipient blocks of a
    delivery status notification and ``confirm_secret`` a ``Confirm:`` line's secret.
    ``dropped`` names the attachments the channel did not keep (over its cap), for the receipt.

    For mail (issue 10) the channel also says who sent it: ``verification`` is the verdict
    (``pass``, ``fail`` or ``none``; None for channels that need none, like Telegram), with
    ``verification_domain`` and ``verification_reasons``; ``refusal`` says why the mail has
    no single author (then it is nobody's claim); ``envelope_sender`` is the SMTP
    ``MAIL FROM`` ("" for ``<>``, None when unknown), the only address a stranger is answered
    at; ``legacy_keys`` are source keys of earlier releases, looked up but never written.
    Only a sender whose verdict is None or ``"pass"`` (and whose mail is no confirmation of a
    held claim) may amend a claim by replying (:attr:`may_amend`).
    """

    channel: str
    source_key: str
    sender: Sender
    text: str
    received_at: dt.datetime
    attachments: tuple[Attachment, ...] = ()
    intent: Intent = Intent.CLAIM
    reply_to: ReplyReference | None = None
    subject: str = ""
    body: str | None = None
    automatic: bool = False
    recipients: tuple[str, ...] = ()
    delivery_reports: tuple[Mapping[str, str], ...] = ()
    confirm_secret: str | None = None
    dropped: tuple[str, ...] = ()
    verification: str | None = None
    verification_domain: str = ""
    verification_reasons: tuple[str, ...] = ()
    refusal: str | None = None
    envelope_sender: str | None = None
    legacy_keys: tuple[str, ...] = ()

    @property
    def may_amend(self) -> bool:
        """Whether this sender is trusted enough for a reply to change a claim (a verified or
        unchecked sender with a single author; a confirmation of a held claim never amends)."""
        return (
            self.verification in (None, "pass") and self.refusal is None and not self.confirm_secret
        )

    @property
    def words(self) -> str:
        """What the sender wrote, without the subject line (stripped)."""
        return (self.text if self.body is None else self.body).strip()

    @property
    def thread(self) -> MailThread | None:
        """The mail thread this message is in (None for other channels)."""
        return self.reply_to if isinstance(self.reply_to, MailThread) else None


@dataclass(frozen=True, slots=True)
class ClaimView:
    """A claim as channels show it."""

    id: int
    member_no: str
    member_name: str
    scheme: str
    status: str
    kind: str
    title: str
    start_date: dt.date
    end_date: dt.date | None
    hours: float | None
    provider: str | None
    has_test: bool
    confidence: float | None
    proposed_points: float | None
    awarded_points: float | None
    rule_note: str
    unit: str
    category: str | None
    reflections: dict[str, Any]
    evidence_count: int
    needs: tuple[str, ...] = ()
    flags: tuple[str, ...] = ()
    decided_by: str | None = None
    decided_at: dt.datetime | None = None
    decision_reason: str | None = None
    verification: str | None = None
    verification_domain: str | None = None
    verification_reasons: tuple[str, ...] = ()
    duplicate_of: int | None = None
    """An earlier claim in the member's record this one repeats (``claims.duplicates``)."""
    duplicate_why: str | None = None
    """``same_file``, ``same_photo`` or ``same_activity``."""
    duplicate_claimed_on: dt.date | None = None
    """When the earlier claim was made."""
    auto_accepted: bool = False
    """Accepted at once as one of the body's events (``claims.auto_approval``)."""


@dataclass(frozen=True, slots=True)
class IntakeResult:
    """What became of an intake: a new draft, or the claim an earlier delivery created."""

    claim: ClaimView
    duplicate: bool = False


@dataclass(frozen=True, slots=True)
class Decision:
    """The outcome of a secretary's tap."""

    claim: ClaimView
    applied: bool
    message: str


@dataclass(frozen=True, slots=True)
class MailOutcome:
    """What became of a mail: ``claimed`` (with the claim), ``unknown_sender``,
    ``nothing_to_claim``, ``unverified`` (held, with the claim), ``confirmed`` (a held claim
    it confirmed), ``impersonation``, ``refused``, ``automatic``, ``over_cap`` and others of
    :mod:`cpd.claims.mail_verdicts`; ``duplicate`` when this message was handled before."""

    outcome: str
    claim: ClaimView | None
    duplicate: bool = False


@dataclass(frozen=True, slots=True)
class Amendment:
    """What a member's reply about a claim did: ``amended`` (the claim changed), ``noted``
    (passed to the secretary, the claim unchanged: it was decided, or the reply said nothing
    the claim could take) or ``unchanged``; ``message`` is the answer for the member."""

    claim: ClaimView
    outcome: str
    message: str
    changes: dict[str, Any] = field(default_factory=dict)
    duplicate: bool = False
