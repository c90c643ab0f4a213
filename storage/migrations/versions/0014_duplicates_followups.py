"""Duplicates, follow-ups and the body's events (issue 15).

``claim.duplicate_of`` names an earlier claim of the member's that a claim repeats (a plain
indexed integer, no foreign key: the retention purge may remove the earlier claim);
``evidence_file.phash`` is an image's perceptual hash; ``follow_up`` is the ledger of
follow-ups told (unique per subject, follow-up and due day); ``body_event`` holds the events a
secretary imports for auto-approval.

Revision ID: 0014_duplicates_followups
Revises: 0013_evidence_text
Create Date: 2026-12-02
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0014_duplicates_followups"
down_revision = "0013_evidence_text"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("claim", sa.Column("duplicate_of", sa.Integer(), nullable=True))
    op.create_index("ix_claim_duplicate_of", "claim", ["duplicate_of"])
    op.add_column(
        "evidence_file",
        sa.Column("phash", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
    )
    op.create_table(
        "follow_up",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("subject", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("claim_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["member_id"], ["member.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("subject", "kind", "due_on"),
    )
    op.create_index("ix_follow_up_member_id", "follow_up", ["member_id"])
    op.create_index("ix_follow_up_claim_id", "follow_up", ["claim_id"])
    op.create_table(
        "body_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("scheme", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("title", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("points", sa.Float(), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("scheme", "day", "title"),
    )
    op.create_index("ix_body_event_day", "body_event", ["day"])


def downgrade() -> None:
    op.drop_index("ix_body_event_day", table_name="body_event")
    op.drop_table("body_event")
    op.drop_index("ix_follow_up_claim_id", table_name="follow_up")
    op.drop_index("ix_follow_up_member_id", table_name="follow_up")
    op.drop_table("follow_up")
    with op.batch_alter_table("evidence_file") as batch:
        batch.drop_column("phash")
    op.drop_index("ix_claim_duplicate_of", table_name="claim")
    # Not a batch: on SQLite a batch recreates the table, and dropping the old ``claim`` fails
    # while other tables' rows refer to it. SQLite (3.35+) drops an unindexed column in place.
    op.drop_column("claim", "duplicate_of")
