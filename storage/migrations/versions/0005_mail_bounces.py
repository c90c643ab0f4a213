"""Mail bounce state per member address (VERP DSNs), the product's own secrets, and an index
that reads due outbox rows of a channel in id order (batches of reminder mail).

Revision ID: 0005_mail_bounces
Revises: 0004_mail_verification
Create Date: 2026-12-01
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0005_mail_bounces"
down_revision = "0004_mail_verification"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "mail_bounce",
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("address", sqlmodel.sql.sqltypes.AutoString(length=320), nullable=False),
        sa.Column("hard_bounces", sa.Integer(), nullable=False),
        sa.Column("soft_bounces", sa.Integer(), nullable=False),
        sa.Column("bouncing", sa.Boolean(), nullable=False),
        sa.Column("last_status", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("last_bounce_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["member_id"], ["member.id"]),
        sa.PrimaryKeyConstraint("member_id"),
    )
    op.create_index("ix_mail_bounce_address", "mail_bounce", ["address"])
    op.create_table(
        "app_secret",
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("value", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )
    op.create_index("ix_outbox_pending", "outbox", ["status", "channel", "id"])


def downgrade() -> None:
    op.drop_index("ix_outbox_pending", table_name="outbox")
    op.drop_table("app_secret")
    op.drop_index("ix_mail_bounce_address", table_name="mail_bounce")
    op.drop_table("mail_bounce")
