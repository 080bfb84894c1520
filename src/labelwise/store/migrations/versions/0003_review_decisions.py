"""review decisions: several reviewers per item

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28 16:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "review_decisions",
        sa.Column("id", BigId, nullable=False),
        sa.Column("item_id", BigId, nullable=False),
        sa.Column("project_id", sa.BigInteger(), nullable=False),
        sa.Column("reviewer_id", sa.BigInteger(), nullable=False),
        sa.Column("reviewer_name", sa.String(length=200), nullable=False),
        sa.Column("value", sa.JSON(none_as_null=True), nullable=True),
        sa.Column("unlabelable", sa.Boolean(), nullable=False),
        sa.Column("adjudication", sa.Boolean(), nullable=False),
        sa.Column("claim_token", sa.String(length=80), nullable=False),
        sa.Column("undo_until", sa.Float(), nullable=False),
        sa.Column("claimed_at", sa.Float(), nullable=True),
        sa.Column("decided_at", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(["item_id"], ["items.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("item_id", "reviewer_id", name="uq_review_decisions_item_reviewer"),
    )
    with op.batch_alter_table("review_decisions", schema=None) as batch_op:
        batch_op.create_index("ix_review_decisions_item_id", ["item_id"], unique=False)
        batch_op.create_index(
            "ix_review_decisions_project_reviewer", ["project_id", "reviewer_id"], unique=False
        )
    with op.batch_alter_table("items", schema=None) as batch_op:
        batch_op.add_column(sa.Column("claimed_at", sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("items", schema=None) as batch_op:
        batch_op.drop_column("claimed_at")
    op.drop_table("review_decisions")
