"""The tables: members, claims, evidence, decisions' audit trail, the outbox, processed keys,
and the Telegram inbox (updates stored before they are confirmed), mail bounce state and the
product's own secrets.

Balances are never stored: they are derived from accepted claims by the rules engine. The
points awarded are stored with each decision so that a later rule change does not silently
rewrite history.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, Index, LargeBinary, Text, UniqueConstraint
from sqlmodel import Field, SQLModel


def utcnow() -> dt.datetime:
    """Now, in UTC, timezone-aware."""
    return dt.datetime.now(dt.UTC)


class Member(SQLModel, table=True):
    """A member of a professional body (or its secretary)."""

    __tablename__ = "member"

    id: int | None = Field(default=None, primary_key=True)
    membership_no: str = Field(unique=True, index=True, max_length=64)
    name: str = Field(max_length=200)
    email: str | None = Field(default=None, index=True, max_length=320)
    scheme: str = Field(max_length=32)
    grade: str | None = Field(default=None, max_length=64)
    joined: dt.date
    role: str = Field(default="member", max_length=16)
    telegram_user_id: int | None = Field(
        default=None, sa_column=Column(BigInteger, unique=True, nullable=True)
    )
    diploma_start: dt.date | None = None
    nudges_muted: bool = False
    created_at: dt.datetime = Field(default_factory=utcnow)
    updated_at: dt.datetime = Field(default_factory=utcnow)


class Dispensation(SQLModel, table=True):
    """A member's request for, and the secretary's decision on, relief from a period's target."""

    __tablename__ = "dispensation"
    __table_args__ = (UniqueConstraint("member_id", "period_key"),)

    id: int | None = Field(default=None, primary_key=True)
    member_id: int = Field(foreign_key="member.id", index=True)
    period_key: int
    status: str = Field(default="granted", max_length=16)  # requested | granted | refused
    reason: str = ""
    decided_by: int | None = Field(default=None, foreign_key="member.id")
    decided_at: dt.datetime | None = None
    created_at: dt.datetime = Field(default_factory=utcnow)


class InviteToken(SQLModel, table=True):
    """A single-use, expiring token that links a Telegram user to a member (sha256 stored)."""

    __tablename__ = "invite_token"

    id: int | None = Field(default=None, primary_key=True)
    token_sha256: str = Field(unique=True, max_length=64)
    member_id: int = Field(foreign_key="member.id", index=True)
    expires_at: dt.datetime
    used_at: dt.datetime | None = None
    created_at: dt.datetime = Field(default_factory=utcnow)


class Claim(SQLModel, table=True):
    """One claimed activity, from draft to decision."""

    __tablename__ = "claim"
    __table_args__ = (Index("ix_claim_member_status", "member_id", "status"),)

    id: int | None = Field(default=None, primary_key=True)
    member_id: int = Field(foreign_key="member.id", index=True)
    channel: str = Field(max_length=16)  # telegram | email | cli
    source_key: str = Field(unique=True, max_length=255)
    raw_text: str = ""
    kind: str = Field(max_length=32)
    hours: float | None = None
    start_date: dt.date
    end_date: dt.date | None = None
    title: str = Field(default="", max_length=300)
    provider: str | None = Field(default=None, max_length=16)
    has_test: bool = False
    co_authors: int | None = None
    confidence: float | None = None
    extracted: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    reflections: dict[str, Any] = Field(
        default_factory=dict, sa_column=Column(JSON, nullable=False)
    )
    category_override: str | None = Field(default=None, max_length=64)
    status: str = Field(default="draft", max_length=16, index=True)
    proposed_points: float | None = None
    awarded_points: float | None = None
    decided_by: int | None = Field(default=None, foreign_key="member.id")
    decided_at: dt.datetime | None = None
    decision_reason: str | None = None
    submitted_at: dt.datetime | None = None
    card_chat_id: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    card_message_id: int | None = None
    # who sent it, for mail (issue 10): pass | fail | none, the From domain and the reasons
    verification: str | None = Field(default=None, max_length=8)
    verification_domain: str | None = Field(default=None, max_length=253)
    verification_reasons: list[str] | None = Field(
        default=None, sa_column=Column(JSON, nullable=True)
    )
    # an earlier claim of the member's this one repeats (issue 15): same file, photo or activity
    duplicate_of: int | None = Field(default=None, index=True)
    created_at: dt.datetime = Field(default_factory=utcnow)
    updated_at: dt.datetime = Field(default_factory=utcnow)


class ClaimMailId(SQLModel, table=True):
    """A Message-ID local part the product minted for a mail about a claim
    (``cpd.claims.threads``): a reply that refers to it answers that claim."""

    __tablename__ = "claim_mail_id"

    id: int | None = Field(default=None, primary_key=True)
    claim_id: int = Field(foreign_key="claim.id", index=True)
    local_part: str = Field(unique=True, max_length=64)
    created_at: dt.datetime = Field(default_factory=utcnow)


class ClaimMailOrigin(SQLModel, table=True):
    """The member's mail a claim came from: the product's mails about the claim are threaded
    under its ``message_id`` and ``thread_references``."""

    __tablename__ = "claim_mail_origin"

    claim_id: int = Field(foreign_key="claim.id", primary_key=True)
    message_id: str | None = Field(default=None, max_length=998)
    thread_references: str | None = None


class MailHold(SQLModel, table=True):
    """A claim by mail held ``unverified`` until the member confirms it (issue 10).

    ``secret_sha256`` is the digest of the single-use secret mailed to the registered
    address (None when the member confirms with a Telegram button); ``expires_at`` ends the
    hold; ``used_at`` is set once it is confirmed.
    """

    __tablename__ = "mail_hold"

    id: int | None = Field(default=None, primary_key=True)
    claim_id: int = Field(foreign_key="claim.id", unique=True)
    secret_sha256: str | None = Field(default=None, unique=True, max_length=64)
    expires_at: dt.datetime = Field(index=True)
    used_at: dt.datetime | None = None
    created_at: dt.datetime = Field(default_factory=utcnow)


class EvidenceFile(SQLModel, table=True):
    """A file attached to a claim, stored under the data directory by its sha256."""

    __tablename__ = "evidence_file"
    __table_args__ = (Index("uq_evidence_file_claim_sha256", "claim_id", "sha256", unique=True),)

    id: int | None = Field(default=None, primary_key=True)
    claim_id: int = Field(foreign_key="claim.id", index=True)
    original_name: str = Field(default="", max_length=255)
    content_type: str = Field(default="application/octet-stream", max_length=127)
    size: int
    sha256: str = Field(max_length=64, index=True)
    stored_path: str = Field(max_length=500)
    # perceptual hash of an image (64 bits as 16 hex digits; None: not an image, or too big)
    phash: str | None = Field(default=None, max_length=16)
    created_at: dt.datetime = Field(default_factory=utcnow)
    # What the file says (migration 0013): None until the OCR worker has read it.
    ocr_status: str | None = Field(default=None, max_length=16, index=True)
    ocr_text: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    ocr_engine: str | None = Field(default=None, max_length=60)
    ocr_confidence: float | None = None
    ocr_note: str | None = Field(default=None, max_length=300)
    ocr_at: dt.datetime | None = None


class AuditEntry(SQLModel, table=True):
    """One line of the append-only audit log (updates and deletes are refused by triggers)."""

    __tablename__ = "audit_log"

    id: int | None = Field(default=None, primary_key=True)
    at: dt.datetime = Field(default_factory=utcnow, index=True)
    actor: str = Field(max_length=120)
    action: str = Field(max_length=64)
    claim_id: int | None = Field(default=None, foreign_key="claim.id", index=True)
    member_id: int | None = Field(default=None, foreign_key="member.id", index=True)
    details: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class OutboxMessage(SQLModel, table=True):
    """A notification waiting to be delivered (written in the same transaction as its cause)."""

    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_due", "status", "next_attempt_at"),
        Index("ix_outbox_pending", "status", "channel", "id"),  # due mail in id order, in batches
    )

    id: int | None = Field(default=None, primary_key=True)
    dedup_key: str = Field(unique=True, max_length=255)
    channel: str = Field(max_length=16)  # telegram | email
    recipient: str = Field(max_length=320)
    template: str = Field(max_length=64)
    payload: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    status: str = Field(default="pending", max_length=16)  # pending | sent | dead
    attempts: int = 0
    next_attempt_at: dt.datetime = Field(default_factory=utcnow)
    sent_at: dt.datetime | None = None
    lease_owner: str | None = Field(default=None, max_length=120)  # PostgreSQL: who sends it
    lease_until: dt.datetime | None = None  # ... until when (then it is due again)
    last_error: str | None = None
    created_at: dt.datetime = Field(default_factory=utcnow)


class ProcessedMessage(SQLModel, table=True):
    """An inbound message already handled (Telegram update, Message-ID, IMAP UIDVALIDITY/UID)."""

    __tablename__ = "processed_message"

    key: str = Field(primary_key=True, max_length=255)
    channel: str = Field(max_length=16)
    outcome: str = Field(default="", max_length=64)
    claim_id: int | None = Field(default=None, foreign_key="claim.id")
    processed_at: dt.datetime = Field(default_factory=utcnow)


class TelegramInboxUpdate(SQLModel, table=True):
    """A Telegram update as received, stored before its ``getUpdates`` offset (or a webhook's
    200) confirms it to the Bot API; handled from here, once (``update_id`` is unique)."""

    __tablename__ = "telegram_inbox"
    __table_args__ = (Index("ix_telegram_inbox_handled_update", "handled_at", "update_id"),)

    update_id: int = Field(
        sa_column=Column(BigInteger, primary_key=True, autoincrement=False, nullable=False)
    )
    payload: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    received_at: dt.datetime = Field(default_factory=utcnow)
    attempts: int = 0
    handled_at: dt.datetime | None = None
    outcome: str = Field(default="", max_length=32)


class MailBounce(SQLModel, table=True):
    """What delivery status notifications said about a member's mail address (VERP bounces).

    The state belongs to ``address``: when the member's address changes it no longer applies
    (and an import of a new address deletes it)."""

    __tablename__ = "mail_bounce"

    member_id: int = Field(foreign_key="member.id", primary_key=True)
    address: str = Field(max_length=320, index=True)
    hard_bounces: int = 0
    soft_bounces: int = 0
    bouncing: bool = False
    last_status: str = Field(default="", max_length=32)
    last_bounce_at: dt.datetime = Field(default_factory=utcnow)


class AppSecret(SQLModel, table=True):
    """A secret the product made for itself (e.g. the key of unsubscribe and bounce tokens),
    kept in the database so that every ``cpd run`` sharing it agrees."""

    __tablename__ = "app_secret"

    name: str = Field(primary_key=True, max_length=64)
    value: str = Field(max_length=128)
    created_at: dt.datetime = Field(default_factory=utcnow)


class WebToken(SQLModel, table=True):
    """A single-use, expiring sign-in link for the web desk and portal (sha256 stored)."""

    __tablename__ = "web_token"

    id: int | None = Field(default=None, primary_key=True)
    token_sha256: str = Field(unique=True, max_length=64)
    member_id: int = Field(foreign_key="member.id", index=True)
    expires_at: dt.datetime
    used_at: dt.datetime | None = None
    created_at: dt.datetime = Field(default_factory=utcnow)


class WebSigninAttempt(SQLModel, table=True):
    """One ask for a mailed sign-in link, counted against a limit: ``key`` is the sha256 of
    what is limited (``address:<lower-cased address>`` or ``ip:<client address>``), never the
    address itself. Kept an hour or so (older rows are deleted as new ones come)."""

    __tablename__ = "web_signin_attempt"
    __table_args__ = (Index("ix_web_signin_attempt_key_at", "key", "at"),)

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=64)
    at: dt.datetime = Field(default_factory=utcnow, index=True)


class FollowUp(SQLModel, table=True):
    """The ledger of follow-ups queued (issue 15): one row per (subject, follow-up, due day),
    inserted ``ON CONFLICT DO NOTHING`` in the transaction that queues its message, so each is
    told exactly once. ``subject`` is ``claim:<id>`` or ``member:<id>``."""

    __tablename__ = "follow_up"
    __table_args__ = (UniqueConstraint("subject", "kind", "due_on"),)

    id: int | None = Field(default=None, primary_key=True)
    subject: str = Field(max_length=64)
    kind: str = Field(max_length=32)  # impact | window | draft_reminder | draft_expiry
    due_on: dt.date
    member_id: int = Field(foreign_key="member.id", index=True)
    claim_id: int | None = Field(default=None, index=True)
    created_at: dt.datetime = Field(default_factory=utcnow)


class BodyEvent(SQLModel, table=True):
    """One of the body's own events (``cpd events import``): a claim that matches it may be
    accepted at once when the scheme turns auto-approval on."""

    __tablename__ = "body_event"
    __table_args__ = (UniqueConstraint("scheme", "day", "title"),)

    id: int | None = Field(default=None, primary_key=True)
    scheme: str = Field(max_length=32)
    day: dt.date = Field(index=True)
    title: str = Field(max_length=300)
    kind: str = Field(default="training", max_length=32)
    points: float
    created_at: dt.datetime = Field(default_factory=utcnow)


class JobRun(SQLModel, table=True):
    """A scheduled job's run for one scheduled time: the instance that inserted the row runs
    it; the others, finding it, do nothing (see ``storage.job_ledger``)."""

    __tablename__ = "job_run"

    job: str = Field(primary_key=True, max_length=64)
    scheduled_for: dt.datetime = Field(primary_key=True)
    owner: str = Field(max_length=120)
    claimed_at: dt.datetime = Field(default_factory=utcnow)
    finished_at: dt.datetime | None = None


class BotState(SQLModel, table=True):
    """One piece of the Telegram bot's persisted state (a conversation's states, one user's or
    chat's data), pickled by the bot: shared by the instances that take turns dispatching."""

    __tablename__ = "bot_state"

    kind: str = Field(primary_key=True, max_length=80)
    key: str = Field(primary_key=True, max_length=200)
    value: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    updated_at: dt.datetime = Field(default_factory=utcnow)
