"""The review queue's order, on SQLite and PostgreSQL: items of a random sample first (rank -1),
then the least confident (rank = confidence), unranked items last, ties by id; a claim reads
the queue's head through `ix_items_review_order` instead of sorting the queue; and a claim or
count can be kept to one batch."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Connection, Engine, event, text, update
from sqlalchemy.orm import Session

from labelwise.domain import ItemStatus
from labelwise.errors import ReviewReason
from labelwise.spec import ProjectSpec
from labelwise.store.keys import Principal, Role
from labelwise.store.models import Batch, Item
from labelwise.store.projects import ProjectRecord, create_project
from labelwise.store.review_queue import claim_next_item, count_waiting

SPEC = ProjectSpec.model_validate(
    {
        "task": {"labels": ["positive", "negative"], "guidelines": "Sentiment."},
        "model": {"name": "m"},
        "routing": {"accept_threshold": 0.8},
    }
)
ALICE = Principal(key_id=1, name="alice", role=Role.REVIEWER, team="acme")
BOB = Principal(key_id=2, name="bob", role=Role.REVIEWER, team="acme")
# Ranks in arrival order, scrambled so that neither id order nor insertion order is the answer.
RANKS: list[float | None] = [0.7, None, -1.0, 0.2, 0.45, -1.0, 0.2, None, 0.0, 0.9]


@pytest.fixture
def project(engine: Engine) -> ProjectRecord:
    with Session(engine) as session:
        return create_project(session, team="acme", name="sentiment", spec=SPEC)


def new_batch(engine: Engine, project: ProjectRecord) -> int:
    with Session(engine) as session:
        batch = Batch(project_id=project.id, team=project.team, received=0)
        session.add(batch)
        session.commit()
        return batch.id


def waiting(
    engine: Engine,
    project: ProjectRecord,
    ranks: list[float | None],
    *,
    batch_id: int | None = None,
    status: ItemStatus = ItemStatus.REVIEW,
) -> list[int]:
    """Items placed in `status` with the given review ranks, written directly: the order is the
    queue's business, whoever set the ranks."""
    batch_id = batch_id or new_batch(engine, project)
    with Session(engine) as session:
        rows = [
            Item(
                project_id=project.id,
                batch_id=batch_id,
                data={"text": f"item {i}"},
                status=status.value,
                reason=ReviewReason.LOW_CONFIDENCE.value,
                version=1,
                review_rank=rank,
            )
            for i, rank in enumerate(ranks)
        ]
        session.add_all(rows)
        session.commit()
        return [row.id for row in rows]


def review_order(ids: list[int], ranks: list[float | None]) -> list[int]:
    """The order the queue must serve: ranked lowest first, unranked last, ties by id."""
    pairs = sorted(zip(ids, ranks, strict=True), key=lambda p: (p[1] is None, p[1] or 0, p[0]))
    return [item_id for item_id, _rank in pairs]


def claim(
    engine: Engine,
    project: ProjectRecord,
    who: Principal = ALICE,
    *,
    now: float | None = None,
    lease: float = 60,
    batch_id: int | None = None,
) -> int | None:
    with engine.begin() as connection:
        taken = claim_next_item(
            connection,
            project_id=project.id,
            principal=who,
            now=time.time() if now is None else now,
            lease_seconds=lease,
            batch_id=batch_id,
        )
    return None if taken is None else taken.item_id


def claim_all(engine: Engine, project: ProjectRecord, **kwargs: Any) -> list[int]:
    served: list[int] = []
    while (item_id := claim(engine, project, **kwargs)) is not None:
        served.append(item_id)
    return served


def test_samples_come_first_then_the_least_confident_then_unranked_items(
    engine: Engine, project: ProjectRecord
) -> None:
    ids = waiting(engine, project, RANKS)
    served = claim_all(engine, project)
    assert served == review_order(ids, RANKS)
    # Spelled out: the two sample items (rank -1) in arrival order, 0.0, the 0.2 tie by id, ...
    by_rank = dict(zip(ids, RANKS, strict=True))
    assert [by_rank[i] for i in served] == [-1.0, -1.0, 0.0, 0.2, 0.2, 0.45, 0.7, 0.9, None, None]
    assert served[:2] == [ids[2], ids[5]] and served[3:5] == [ids[3], ids[6]]
    assert served[-2:] == [ids[1], ids[7]]


def test_the_order_holds_across_batches_and_ignores_other_statuses_and_projects(
    engine: Engine, project: ProjectRecord
) -> None:
    later = waiting(engine, project, [-1.0, 0.1])  # a later batch's sample still comes first
    earlier = waiting(engine, project, [0.5, None])
    ids, ranks = later + earlier, [-1.0, 0.1, 0.5, None]
    with Session(engine) as session:
        other = create_project(session, team="acme", name="other", spec=SPEC)
    waiting(engine, other, [-5.0])
    waiting(engine, project, [-5.0, -5.0], status=ItemStatus.ACCEPTED)
    assert claim_all(engine, project) == review_order(ids, ranks)


def test_a_lapsed_claim_returns_to_its_place_and_decided_items_are_not_served_again(
    engine: Engine, project: ProjectRecord
) -> None:
    ids = waiting(engine, project, [0.3, -1.0, 0.1])
    now = time.time()
    first = claim(engine, project, now=now, lease=10)
    assert first == ids[1]
    # While Alice holds the sample item, Bob gets the next in order.
    assert claim(engine, project, BOB, now=now) == ids[2]
    # Once her lease lapses, the sample item is the head of the queue again.
    assert claim(engine, project, BOB, now=now + 20) == ids[1]
    assert claim(engine, project, BOB, now=now + 20) == ids[0]


def test_ranks_set_after_arrival_reorder_the_queue(engine: Engine, project: ProjectRecord) -> None:
    """Routing and re-routing write the rank on the item; the next claim follows it."""
    ids = waiting(engine, project, [None, None, None])
    with engine.begin() as connection:
        connection.execute(update(Item).where(Item.id == ids[2]).values(review_rank=-1.0))
        connection.execute(update(Item).where(Item.id == ids[1]).values(review_rank=0.4))
    assert claim_all(engine, project) == [ids[2], ids[1], ids[0]]


def test_a_claim_and_a_count_can_keep_to_one_batch(engine: Engine, project: ProjectRecord) -> None:
    first_batch = new_batch(engine, project)
    second_batch = new_batch(engine, project)
    first = waiting(engine, project, [0.2, -1.0, None], batch_id=first_batch)
    second = waiting(engine, project, [0.1, -1.0, 0.6], batch_id=second_batch)
    now = time.time()
    with engine.connect() as connection:
        counts = [
            count_waiting(
                connection, project_id=project.id, now=now, principal=ALICE, batch_id=batch
            )
            for batch in (first_batch, second_batch, None)
        ]
    assert counts == [3, 3, 6]
    served = claim_all(engine, project, batch_id=second_batch)
    assert served == review_order(second, [0.1, -1.0, 0.6])
    with engine.connect() as connection:
        left = count_waiting(
            connection, project_id=project.id, now=time.time(), principal=ALICE, batch_id=None
        )
    assert left == 3
    # A batch id of another project serves nothing from it.
    with Session(engine) as session:
        other = create_project(session, team="acme", name="other", spec=SPEC)
    assert claim(engine, other, batch_id=first_batch) is None
    assert claim_all(engine, project, batch_id=first_batch) == review_order(
        first, [0.2, -1.0, None]
    )


# --- The claim reads the index in order -----------------------------------------------------


@pytest.fixture
def statements(engine: Engine) -> Iterator[list[tuple[str, Any]]]:
    """The SQL statements the engine sends while the test runs."""
    sent: list[tuple[str, Any]] = []

    def keep(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        sent.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", keep)
    yield sent
    event.remove(engine, "before_cursor_execute", keep)


def _claim_statement(engine: Engine, project: ProjectRecord, sent: list[tuple[str, Any]]) -> Any:
    with engine.connect() as connection:
        transaction = connection.begin()
        claim_next_item(
            connection, project_id=project.id, principal=ALICE, now=time.time(), lease_seconds=60
        )
        transaction.rollback()
    updates = [s for s in sent if s[0].lstrip().upper().startswith("UPDATE ITEMS")]
    assert len(updates) == 1, sent
    return updates[0]


def _plan(connection: Connection, statement: str, parameters: Any) -> list[str]:
    """SQLite: the opcodes of the compiled statement; PostgreSQL: EXPLAIN's lines."""
    cursor = connection.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    if connection.dialect.name == "postgresql":
        # Make any sort cost-prohibitive: a plan that still has one cannot avoid it.
        cursor.execute("SET LOCAL enable_sort = off")
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("EXPLAIN " + statement, parameters)
        return [row[0] for row in cursor.fetchall()]
    cursor.execute("EXPLAIN " + statement, parameters)
    plan = [row[1] for row in cursor.fetchall()]
    cursor.execute("EXPLAIN QUERY PLAN " + statement, parameters)
    return plan + [row[3] for row in cursor.fetchall()]


def test_the_claim_reads_the_review_order_index_without_sorting(
    engine: Engine, project: ProjectRecord, statements: list[tuple[str, Any]]
) -> None:
    waiting(engine, project, RANKS * 20)
    with engine.begin() as connection:
        connection.execute(text("ANALYZE"))
    statement, parameters = _claim_statement(engine, project, statements)
    with engine.begin() as connection:
        plan = _plan(connection, statement, parameters)
    joined = "\n".join(plan)
    assert "ix_items_review_order" in joined, joined
    if engine.dialect.name == "postgresql":
        assert "Sort" not in joined, joined
    else:
        assert not {"Sort", "SorterOpen", "SorterSort", "SorterInsert"} & set(plan), joined
        assert "TEMP B-TREE" not in joined, joined
