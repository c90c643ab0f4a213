"""Mail threading data out of the claim's NLP result: ``claim_mail_id`` (the Message-ID local
parts minted for mails about a claim, unique) and ``claim_mail_origin`` (the Message-ID and
References of the member's mail a claim came from).

Outbox recipients become roles (issue 12 item 2): a row addressed to a member's Telegram user
id or registered address (pending or not) is addressed ``member:<id>``, any other mail address
``stranger:<address>``; other Telegram chats (the secretary chat) stay as they are, which the
senders still take as an address. The downgrade writes the addresses back, and a pending row
for ``secretaries`` (which no earlier release can resolve) is given up with the reason.

Existing threading values are moved: ``claim.extracted["mail_ids"]`` into ``claim_mail_id`` and
``claim.extracted["reply"]`` (its ``message_id`` and ``references``) into
``claim_mail_origin``, and both keys are removed from ``extracted``. The downgrade moves them
back.

Revision ID: 0008_intake_threads
Revises: 0007_evidence_unique
Create Date: 2026-12-02
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0008_intake_threads"
down_revision = "0007_evidence_unique"
branch_labels = None
depends_on = None

CLAIM = sa.table("claim", sa.column("id", sa.Integer), sa.column("extracted", sa.JSON))
MAIL_ID = sa.table(
    "claim_mail_id",
    sa.column("id", sa.Integer),
    sa.column("claim_id", sa.Integer),
    sa.column("local_part", sa.String),
    sa.column("created_at", sqlmodel.sql.sqltypes.UTCDateTime),
)
ORIGIN = sa.table(
    "claim_mail_origin",
    sa.column("claim_id", sa.Integer),
    sa.column("message_id", sa.String),
    sa.column("thread_references", sa.Text),
)
OUTBOX = sa.table(
    "outbox",
    sa.column("id", sa.Integer),
    sa.column("channel", sa.String),
    sa.column("recipient", sa.String),
    sa.column("status", sa.String),
    sa.column("last_error", sa.String),
)
MEMBER = sa.table(
    "member",
    sa.column("id", sa.Integer),
    sa.column("telegram_user_id", sa.BigInteger),
    sa.column("email", sa.String),
)
NO_SECRETARIES = "downgraded: 'secretaries' has no address before 0008"


def _extracted(value: Any) -> dict[str, Any]:
    if isinstance(value, str):
        value = json.loads(value)
    return dict(value) if isinstance(value, dict) else {}


def _members(connection: sa.Connection) -> list[tuple[int, int | None, str | None]]:
    rows = connection.execute(sa.select(MEMBER.c.id, MEMBER.c.telegram_user_id, MEMBER.c.email))
    return [(i, t, e) for i, t, e in rows.all()]


def _recipients_to_roles(connection: sa.Connection) -> None:
    by_chat: dict[str, int] = {}
    by_mail: dict[str, int] = {}
    for member_id, telegram, email in _members(connection):
        if telegram is not None:
            by_chat.setdefault(str(telegram), member_id)
        if email:
            by_mail.setdefault(email.strip().lower(), member_id)
    rows = connection.execute(sa.select(OUTBOX.c.id, OUTBOX.c.channel, OUTBOX.c.recipient))
    for row_id, channel, recipient in rows.all():
        if recipient == "secretaries" or recipient.startswith(("member:", "stranger:")):
            continue
        if channel == "telegram":
            member_id = by_chat.get(recipient.strip())
            role = f"member:{member_id}" if member_id is not None else None
        else:
            member_id = by_mail.get(recipient.strip().lower())
            role = f"member:{member_id}" if member_id is not None else f"stranger:{recipient}"
        if role is not None:
            connection.execute(
                OUTBOX.update().where(OUTBOX.c.id == row_id).values(recipient=role[:320])
            )


def _roles_to_recipients(connection: sa.Connection) -> None:
    contacts = {i: (t, e) for i, t, e in _members(connection)}
    rows = connection.execute(
        sa.select(OUTBOX.c.id, OUTBOX.c.channel, OUTBOX.c.recipient, OUTBOX.c.status)
    )
    for row_id, channel, recipient, status in rows.all():
        values: dict[str, Any] = {}
        if recipient == "secretaries":
            if status == "pending":
                values = {"status": "dead", "last_error": NO_SECRETARIES}
        elif recipient.startswith("stranger:"):
            values = {"recipient": recipient[len("stranger:") :]}
        elif recipient.startswith("member:") and recipient[len("member:") :].isdigit():
            telegram, email = contacts.get(int(recipient[len("member:") :]), (None, None))
            address = (
                (str(telegram) if telegram is not None else None)
                if channel == "telegram"
                else email
            )
            values = {"recipient": address or ""}
        if values:
            connection.execute(OUTBOX.update().where(OUTBOX.c.id == row_id).values(**values))


def upgrade() -> None:
    _recipients_to_roles(op.get_bind())
    op.create_table(
        "claim_mail_id",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("claim_id", sa.Integer(), nullable=False),
        sa.Column("local_part", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["claim_id"], ["claim.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("local_part"),
    )
    op.create_index("ix_claim_mail_id_claim_id", "claim_mail_id", ["claim_id"])
    op.create_table(
        "claim_mail_origin",
        sa.Column("claim_id", sa.Integer(), nullable=False),
        sa.Column("message_id", sqlmodel.sql.sqltypes.AutoString(length=998), nullable=True),
        sa.Column("thread_references", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.ForeignKeyConstraint(["claim_id"], ["claim.id"]),
        sa.PrimaryKeyConstraint("claim_id"),
    )
    connection = op.get_bind()
    now = dt.datetime.now(dt.UTC)
    seen: set[str] = set()
    rows = connection.execute(sa.select(CLAIM.c.id, CLAIM.c.extracted).order_by(CLAIM.c.id))
    for claim_id, raw in rows.all():
        extracted = _extracted(raw)
        if "mail_ids" not in extracted and "reply" not in extracted:
            continue
        ids = [str(i) for i in extracted.pop("mail_ids", None) or [] if str(i) not in seen]
        seen.update(ids)
        if ids:
            connection.execute(
                MAIL_ID.insert(),
                [{"claim_id": claim_id, "local_part": i, "created_at": now} for i in ids],
            )
        reply = extracted.pop("reply", None)
        if isinstance(reply, dict) and (reply.get("message_id") or reply.get("references")):
            connection.execute(
                ORIGIN.insert().values(
                    claim_id=claim_id,
                    message_id=reply.get("message_id"),
                    thread_references=reply.get("references"),
                )
            )
        connection.execute(CLAIM.update().where(CLAIM.c.id == claim_id).values(extracted=extracted))


def downgrade() -> None:
    connection = op.get_bind()
    _roles_to_recipients(connection)
    ids: dict[int, list[str]] = {}
    for claim_id, local in connection.execute(
        sa.select(MAIL_ID.c.claim_id, MAIL_ID.c.local_part).order_by(MAIL_ID.c.id)
    ).all():
        ids.setdefault(claim_id, []).append(local)
    origins = {
        claim_id: {"message_id": message_id, "references": references}
        for claim_id, message_id, references in connection.execute(
            sa.select(ORIGIN.c.claim_id, ORIGIN.c.message_id, ORIGIN.c.thread_references)
        ).all()
    }
    for claim_id in sorted({*ids, *origins}):
        raw = connection.execute(
            sa.select(CLAIM.c.extracted).where(CLAIM.c.id == claim_id)
        ).scalar_one_or_none()
        extracted = _extracted(raw)
        if claim_id in ids:
            extracted["mail_ids"] = ids[claim_id]
        if claim_id in origins:
            extracted["reply"] = origins[claim_id]
        connection.execute(CLAIM.update().where(CLAIM.c.id == claim_id).values(extracted=extracted))
    op.drop_table("claim_mail_origin")
    op.drop_index("ix_claim_mail_id_claim_id", table_name="claim_mail_id")
    op.drop_table("claim_mail_id")
