"""What an evidence file says: its OCR text, kept with the file and shown to the secretary.

``ocr_status`` is NULL until the file has been read (the OCR worker's queue), then ``read``,
``no_text``, ``refused`` (a decompression bomb, too many pixels), ``failed`` (tesseract
missing, a page over its time, a broken file) or ``unsupported``; ``ocr_note`` says why.

Revision ID: 0013_evidence_text
Revises: 0012_instances
Create Date: 2026-12-02
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0013_evidence_text"
down_revision = "0012_instances"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("evidence_file", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("ocr_status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True)
        )
        batch_op.add_column(sa.Column("ocr_text", sa.Text(), nullable=True))
        batch_op.add_column(
            sa.Column("ocr_engine", sqlmodel.sql.sqltypes.AutoString(length=60), nullable=True)
        )
        batch_op.add_column(sa.Column("ocr_confidence", sa.Float(), nullable=True))
        batch_op.add_column(
            sa.Column("ocr_note", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=True)
        )
        batch_op.add_column(sa.Column("ocr_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))
        batch_op.create_index("ix_evidence_file_ocr_status", ["ocr_status"])


def downgrade() -> None:
    with op.batch_alter_table("evidence_file", schema=None) as batch_op:
        batch_op.drop_index("ix_evidence_file_ocr_status")
        for column in ("ocr_at", "ocr_note", "ocr_confidence", "ocr_engine", "ocr_text"):
            batch_op.drop_column(column)
        batch_op.drop_column("ocr_status")
