"""Claims remember when they were submitted and where the secretary's card was posted.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

import sqlalchemy as sa
import sqlmodel  # noqa: F401
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("claim", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("submitted_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True)
        )
        batch_op.add_column(sa.Column("card_chat_id", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("card_message_id", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("claim", schema=None) as batch_op:
        batch_op.drop_column("card_message_id")
        batch_op.drop_column("card_chat_id")
        batch_op.drop_column("submitted_at")
