"""batch mode: provider batches, and each batch's mode

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29 03:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("batches", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("mode", sa.String(length=20), nullable=False, server_default="online")
        )
    op.create_table(
        "provider_batches",
        sa.Column("id", BigId, primary_key=True),
        sa.Column("project_id", sa.BigInteger(), nullable=False),
        sa.Column("batch_id", sa.BigInteger(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("base_url", sa.String(length=500), nullable=False),
        sa.Column("provider_batch_id", sa.String(length=200), nullable=False),
        sa.Column("input_file_id", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=40), nullable=False),
        sa.Column("requests", sa.JSON(), nullable=False),
        sa.Column("copies", sa.JSON(), nullable=False),
        sa.Column("counts", sa.JSON(), nullable=True),
        sa.Column("submitted_at", sa.Float(), nullable=False),
        sa.Column("finished_at", sa.Float(), nullable=True),
    )
    op.create_index("ix_provider_batches_open", "provider_batches", ["finished_at"])
    op.create_index("ix_provider_batches_batch_id", "provider_batches", ["batch_id"])


def downgrade() -> None:
    op.drop_index("ix_provider_batches_batch_id", table_name="provider_batches")
    op.drop_index("ix_provider_batches_open", table_name="provider_batches")
    op.drop_table("provider_batches")
    with op.batch_alter_table("batches", schema=None) as batch_op:
        batch_op.drop_column("mode")
