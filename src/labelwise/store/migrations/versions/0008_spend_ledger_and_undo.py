"""a spend ledger per project; the review reason a decision found

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 15:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("projects", schema=None) as batch_op:
        batch_op.add_column(sa.Column("spent_usd", sa.Float(), nullable=False, server_default="0"))
    with op.batch_alter_table("review_decisions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("reason_before", sa.String(length=40), nullable=True))
    # What was spent before the ledger: the predictions that are still there.
    op.execute(
        """
        UPDATE projects SET spent_usd = COALESCE((
            SELECT SUM(predictions.cost_usd) FROM predictions
            JOIN batches ON batches.id = predictions.batch_id
            WHERE batches.project_id = projects.id
        ), 0)
        """
    )


def downgrade() -> None:
    with op.batch_alter_table("review_decisions", schema=None) as batch_op:
        batch_op.drop_column("reason_before")
    with op.batch_alter_table("projects", schema=None) as batch_op:
        batch_op.drop_column("spent_usd")
