"""gold items, stored calibrations, consensus scores

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28 15:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("items", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("gold", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.create_index("ix_items_project_gold", ["project_id", "gold"], unique=False)
    # An absent ground truth was written as JSON `null`; from now on it is SQL NULL.
    op.execute("UPDATE items SET ground_truth = NULL WHERE CAST(ground_truth AS TEXT) = 'null'")
    op.execute("UPDATE items SET gold = true WHERE ground_truth IS NOT NULL OR status = 'reviewed'")
    with op.batch_alter_table("project_versions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("calibration", sa.JSON(), nullable=True))
        batch_op.add_column(
            sa.Column("calibration_stale", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    with op.batch_alter_table("predictions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("scores", sa.JSON(), nullable=True))
    # Every version with gold is recalibrated by the next reconciler pass.
    op.execute("UPDATE project_versions SET calibration_stale = true")


def downgrade() -> None:
    with op.batch_alter_table("predictions", schema=None) as batch_op:
        batch_op.drop_column("scores")
    with op.batch_alter_table("project_versions", schema=None) as batch_op:
        batch_op.drop_column("calibration_stale")
        batch_op.drop_column("calibration")
    with op.batch_alter_table("items", schema=None) as batch_op:
        batch_op.drop_index("ix_items_project_gold")
        batch_op.drop_column("gold")
