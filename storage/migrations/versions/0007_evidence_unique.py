"""A claim holds a file once: a unique key on evidence_file (claim_id, sha256).

Evidence rows were added after a check for the same content on the claim; two writers could
both pass the check. The key lets the insert be ``ON CONFLICT DO NOTHING``. Rows that repeat
a claim's file (only a race could have written them) are removed first, the oldest kept: the
file on disk is the same, named by its sha256.

Revision ID: 0007_evidence_unique
Revises: 0006_web_tokens
Create Date: 2026-12-02
"""

from alembic import op

revision = "0007_evidence_unique"
down_revision = "0006_web_tokens"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        "DELETE FROM evidence_file WHERE id NOT IN "
        "(SELECT keep FROM (SELECT MIN(id) AS keep FROM evidence_file "
        "GROUP BY claim_id, sha256) AS oldest)"
    )
    op.create_index(
        "uq_evidence_file_claim_sha256", "evidence_file", ["claim_id", "sha256"], unique=True
    )


def downgrade() -> None:
    op.drop_index("uq_evidence_file_claim_sha256", table_name="evidence_file")
