"""Asks for a mailed web sign-in link, counted per address and per client (hashed keys).

Revision ID: 0009_web_ops
Revises: 0008_intake_threads
Create Date: 2026-12-02
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0009_web_ops"
down_revision = "0008_intake_threads"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "web_signin_attempt",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_web_signin_attempt_key_at", "web_signin_attempt", ["key", "at"])
    op.create_index("ix_web_signin_attempt_at", "web_signin_attempt", ["at"])


def downgrade() -> None:
    op.drop_index("ix_web_signin_attempt_at", table_name="web_signin_attempt")
    op.drop_index("ix_web_signin_attempt_key_at", table_name="web_signin_attempt")
    op.drop_table("web_signin_attempt")
