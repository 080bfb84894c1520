"""samples with known probabilities, the review order, and a batch's dataset-error guarantee

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01 19:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("items", schema=None) as batch_op:
        batch_op.add_column(sa.Column("sampled", sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column("sample_probability", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("review_rank", sa.Float(), nullable=True))
        batch_op.create_index(
            "ix_items_review_order", ["project_id", "status", "review_rank", "id"], unique=False
        )
    with op.batch_alter_table("batches", schema=None) as batch_op:
        batch_op.add_column(sa.Column("guarantee", sa.JSON(), nullable=True))
        batch_op.add_column(
            sa.Column("awaiting_sample", sa.Boolean(), nullable=False, server_default="0")
        )


def downgrade() -> None:
    with op.batch_alter_table("batches", schema=None) as batch_op:
        batch_op.drop_column("awaiting_sample")
        batch_op.drop_column("guarantee")
    with op.batch_alter_table("items", schema=None) as batch_op:
        batch_op.drop_index("ix_items_review_order")
        batch_op.drop_column("review_rank")
        batch_op.drop_column("sample_probability")
        batch_op.drop_column("sampled")
