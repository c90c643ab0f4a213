"""What a channel hands to the claims service, and the values it gets back.

Channels (the bot, the mail listener) build an :class:`Intake` from a message and render the
views they get back; they never see the database.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
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


@dataclass(frozen=True, slots=True)
class Intake:
    """One inbound message that may start a claim.

    ``reply_context`` carries what a reply needs: for mail ``message_id``, ``references``,
    ``subject`` and ``automatic`` (an auto-reply or bounce, which gets no answer).
    ``dropped`` names the attachments the channel did not keep (over its cap), for the receipt.
    ``sender_verdict`` is what the channel's sender verification concluded: ``"pass"``,
    ``"fail"`` or ``"none"``, or None when nothing was checked (the sender is believed, as
    Telegram's user id is). Only a None or ``"pass"`` sender may amend a claim by replying.
    """

    channel: str
    source_key: str
    sender: Sender
    text: str
    received_at: dt.datetime
    attachments: tuple[Attachment, ...] = ()
    reply_context: dict[str, Any] = field(default_factory=dict)
    dropped: tuple[str, ...] = ()
    sender_verdict: str | None = None

    @property
    def may_amend(self) -> bool:
        """Whether this sender is trusted enough for a reply to change a claim."""
        return self.sender_verdict in (None, "pass")


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
    """What became of a mail: ``claimed`` (with the claim), ``unknown_sender`` or
    ``nothing_to_claim``; ``duplicate`` when this message was handled before."""

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
