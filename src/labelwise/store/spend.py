"""What a project has spent and has waiting: the store's side of estimates and spend limits.

`projects.spent_usd` is a ledger: every LLM call's cost is added when its outcome is written, and
nothing ever takes it back (a relabel replaces a prediction, never the money it cost). Reading it
for a reservation locks the project's row, so two reservations never both see the same headroom.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, bindparam, func, select, update
from sqlalchemy.orm import Session

from labelwise.domain import ItemStatus
from labelwise.store.models import Batch, Item, Project

projects = Project.__table__


@dataclass(frozen=True)
class Budget:
    spent_usd: float
    limit_usd: float | None


def spent_usd(session: Session, *, project_id: int) -> float:
    """Every LLM call the project's items have cost, in every version, relabels included."""
    total = session.execute(
        select(Project.spent_usd).where(Project.id == project_id)
    ).scalar_one_or_none()
    return float(total or 0.0)


def lock_budget(session: Session, *, project_id: int) -> Budget:
    """The project's spend and limit, its row locked until the transaction ends (PostgreSQL: a
    row lock; SQLite: every writing transaction already holds the database's write lock).

    `FOR NO KEY UPDATE`, not `FOR UPDATE`: the caller has already inserted rows that reference
    the project, which holds `FOR KEY SHARE` on it; two such callers asking for `FOR UPDATE`
    would deadlock, while `NO KEY UPDATE` only makes the second one wait."""
    spent, limit = session.execute(
        select(Project.spent_usd, Project.spend_limit_usd)
        .where(Project.id == project_id)
        .with_for_update(key_share=True)
    ).one()
    return Budget(float(spent or 0.0), limit)


def over_budget(connection: Connection, project_ids: Iterable[int]) -> set[int]:
    """The projects among `project_ids` that have spent their whole limit."""
    wanted = sorted(set(project_ids))
    if not wanted:
        return set()
    rows = connection.execute(
        select(projects.c.id).where(
            projects.c.id.in_(wanted),
            projects.c.spend_limit_usd.is_not(None),
            projects.c.spent_usd >= projects.c.spend_limit_usd,
        )
    )
    return {project_id for (project_id,) in rows}


def add_spend(connection: Connection, costs: Iterable[tuple[int, float]]) -> None:
    """Add what LLM calls cost to their projects' ledgers (`costs`: batch id and cost)."""
    by_batch: dict[int, float] = defaultdict(float)
    for batch_id, cost in costs:
        if cost:
            by_batch[batch_id] += cost
    if not by_batch:
        return
    by_project: dict[int, float] = defaultdict(float)
    for batch_id, project_id in connection.execute(
        select(Batch.id, Batch.project_id).where(Batch.id.in_(sorted(by_batch)))
    ):
        by_project[project_id] += by_batch[batch_id]
    # In project order, so writers whose rows span several projects lock them in one order.
    connection.execute(
        update(projects)
        .where(projects.c.id == bindparam("b_project"))
        .values(spent_usd=projects.c.spent_usd + bindparam("b_cost")),
        [{"b_project": p, "b_cost": c} for p, c in sorted(by_project.items())],
    )


def waiting_items(
    session: Session,
    *,
    project_id: int,
    excluding_batch: int | None = None,
    excluding_owners: Sequence[str] = (),
) -> int:
    """Items still to be labeled: money already committed, if not yet spent. The exclusions
    are the items of the reservation being decided, already written in its transaction."""
    query = (
        select(func.count())
        .select_from(Item)
        .where(Item.project_id == project_id, Item.status == ItemStatus.PENDING.value)
    )
    if excluding_batch is not None:
        query = query.where(Item.batch_id != excluding_batch)
    if excluding_owners:
        query = query.where(Item.lease_owner.not_in(list(excluding_owners)))
    return int(session.execute(query).scalar_one())


def recent_item_data(session: Session, *, project_id: int, limit: int) -> list[dict[str, Any]]:
    """The data of the project's latest items: a sample when an estimate is given a count."""
    rows = session.execute(
        select(Item.data).where(Item.project_id == project_id).order_by(Item.id.desc()).limit(limit)
    )
    return [data for (data,) in rows]


def item_data(session: Session, *, item_ids: list[int]) -> list[dict[str, Any]]:
    rows = session.execute(select(Item.data).where(Item.id.in_(item_ids)))
    return [data for (data,) in rows]
