"""The Telegram inbox: each update is stored, keyed by update_id, before it is confirmed.

Revision ID: 0003_telegram_inbox
Revises: 0002
Create Date: 2026-12-01
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0003_telegram_inbox"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "telegram_inbox",
        sa.Column("update_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("received_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("handled_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("outcome", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.PrimaryKeyConstraint("update_id"),
    )
    op.create_index(
        "ix_telegram_inbox_handled_update", "telegram_inbox", ["handled_at", "update_id"]
    )


def downgrade() -> None:
    op.drop_index("ix_telegram_inbox_handled_update", table_name="telegram_inbox")
    op.drop_table("telegram_inbox")
