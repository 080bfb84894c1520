"""Reviewed items of a project, as few-shot examples for the learning loop."""

from __future__ import annotations

from sqlalchemy import Connection, select

from labelwise.domain import Example, ItemStatus, LabelSource
from labelwise.store.models import Item

items = Item.__table__

# The newest reviewed items make the pool: enough for any project's neighbours, bounded in memory.
MAX_EXAMPLES = 5000


def reviewed_examples(
    connection: Connection, *, project_id: int, limit: int = MAX_EXAMPLES
) -> list[Example]:
    rows = connection.execute(
        select(items.c.id, items.c.data, items.c.label_value)
        .where(
            items.c.project_id == project_id,
            items.c.status == ItemStatus.REVIEWED.value,
            items.c.label_source == LabelSource.HUMAN.value,
        )
        .order_by(items.c.labeled_at.desc())
        .limit(limit)
    ).all()
    return [Example(item_id, data, label) for item_id, data, label in rows if label is not None]
