"""Sign-in links for the web desk and portal: single use, expiring, only the sha256 stored.

Revision ID: 0006_web_tokens
Revises: 0005_mail_bounces
Create Date: 2026-12-01
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0006_web_tokens"
down_revision = "0005_mail_bounces"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "web_token",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_sha256", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("expires_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("used_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["member_id"], ["member.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_sha256"),
    )
    op.create_index("ix_web_token_member_id", "web_token", ["member_id"])


def downgrade() -> None:
    op.drop_index("ix_web_token_member_id", table_name="web_token")
    op.drop_table("web_token")
