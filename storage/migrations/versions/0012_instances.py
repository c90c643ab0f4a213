"""Several instances on one database: outbox leases, the scheduled jobs' ledger, the bot's
conversation state in the database.

* ``outbox.lease_owner`` / ``outbox.lease_until``: on PostgreSQL a sender claims due rows
  (``FOR UPDATE SKIP LOCKED``) for a while; only the lease holder marks them sent, and a row
  whose holder died is due again when its lease runs out.
* ``job_run``: one row per (job, scheduled time), inserted ``ON CONFLICT DO NOTHING`` by the
  instance that runs that schedule.
* ``bot_state``: the Telegram conversations and user/chat data (pickled), so that the
  instance that takes over dispatching Telegram updates continues every conversation.

Revision ID: 0012_instances
Revises: 0009_web_ops
Create Date: 2026-12-02
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0012_instances"
down_revision = "0009_web_ops"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("outbox") as batch_op:
        batch_op.add_column(
            sa.Column("lease_owner", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=True)
        )
        batch_op.add_column(
            sa.Column("lease_until", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True)
        )
    op.create_table(
        "job_run",
        sa.Column("job", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("scheduled_for", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("owner", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
        sa.Column("claimed_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("finished_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("job", "scheduled_for"),
    )
    op.create_table(
        "bot_state",
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
        sa.Column("key", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("value", sa.LargeBinary(), nullable=False),
        sa.Column("updated_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("kind", "key"),
    )


def downgrade() -> None:
    op.drop_table("bot_state")
    op.drop_table("job_run")
    with op.batch_alter_table("outbox") as batch_op:
        batch_op.drop_column("lease_until")
        batch_op.drop_column("lease_owner")
