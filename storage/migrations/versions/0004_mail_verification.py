"""Who sent a mail: the verdict, domain and reasons on each claim, and held claims' secrets.

Revision ID: 0004_mail_verification
Revises: 0003_telegram_inbox
Create Date: 2026-12-01
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0004_mail_verification"
down_revision = "0003_telegram_inbox"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("claim") as batch:
        batch.add_column(
            sa.Column("verification", sqlmodel.sql.sqltypes.AutoString(length=8), nullable=True)
        )
        batch.add_column(
            sa.Column(
                "verification_domain", sqlmodel.sql.sqltypes.AutoString(length=253), nullable=True
            )
        )
        batch.add_column(sa.Column("verification_reasons", sa.JSON(), nullable=True))
    op.create_table(
        "mail_hold",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("claim_id", sa.Integer(), nullable=False),
        sa.Column("secret_sha256", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("expires_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("used_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["claim_id"], ["claim.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("claim_id"),
        sa.UniqueConstraint("secret_sha256"),
    )
    op.create_index("ix_mail_hold_expires_at", "mail_hold", ["expires_at"])


def downgrade() -> None:
    op.drop_index("ix_mail_hold_expires_at", table_name="mail_hold")
    op.drop_table("mail_hold")
    with op.batch_alter_table("claim") as batch:
        batch.drop_column("verification_reasons")
        batch.drop_column("verification_domain")
        batch.drop_column("verification")
