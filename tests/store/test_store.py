"""The store's contracts, on SQLite and PostgreSQL: idempotent ingest, conditional final writes,
atomic claims with fencing, and lease expiry."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from labelwise.domain import ItemStatus
from labelwise.errors import ConflictError, NotFoundError
from labelwise.review.decisions import record_decision
from labelwise.spec import ProjectSpec, ReviewSpec
from labelwise.store.batch_writer import NewItem, ingest_batch
from labelwise.store.batches import summarize_batch
from labelwise.store.decisions import (
    DecisionRow,
    ReviewerClaim,
    insert_decision,
    lock_held_item,
    pass_to_next_reviewer,
    reviewers_decisions,
)
from labelwise.store.keys import Principal, Role
from labelwise.store.labeling import (
    claim_delivered_items,
    find_expired_leases,
    reassign_expired,
    record_outcomes,
)
from labelwise.store.models import Item
from labelwise.store.projects import ProjectRecord, create_project, get_project, update_project
from labelwise.store.review_queue import claim_next_item
from tests.conftest import outcome

SPEC = ProjectSpec.model_validate(
    {
        "task": {"labels": ["positive", "negative"], "guidelines": "Sentiment."},
        "model": {"name": "m"},
        "routing": {"accept_threshold": 0.8},
    }
)
ALICE = Principal(key_id=1, name="alice", role=Role.REVIEWER, team="acme")
BOB = Principal(key_id=2, name="bob", role=Role.REVIEWER, team="acme")


@pytest.fixture
def project(engine: Engine) -> ProjectRecord:
    with Session(engine) as session:
        return create_project(session, team="acme", name="sentiment", spec=SPEC)


def ingest(engine: Engine, project: ProjectRecord, items: list[NewItem], lease_until: float = 1e12):
    with Session(engine) as session:
        return ingest_batch(
            session, project=project, items=items, chunk_size=2, lease_until=lease_until
        )


def test_ingest_is_idempotent_per_external_id(engine: Engine, project: ProjectRecord) -> None:
    first = ingest(engine, project, [NewItem({"text": t}, external_id=t) for t in "abcde"])
    assert (first.received, first.created) == (5, 5)
    assert sorted(len(ids) for ids in first.chunks.values()) == [1, 2, 2]
    again = ingest(
        engine,
        project,
        [NewItem({"text": "a"}, "a"), NewItem({"text": "f"}, "f"), NewItem({"text": "f"}, "f")],
    )
    assert (again.received, again.created) == (3, 1)
    with Session(engine) as session:
        assert len(session.execute(select(Item.id)).all()) == 6


def test_items_without_external_id_are_always_new(engine: Engine, project: ProjectRecord) -> None:
    ingest(engine, project, [NewItem({"text": "x"}), NewItem({"text": "x"})])
    result = ingest(engine, project, [NewItem({"text": "x"})])
    assert result.created == 1


def test_other_team_cannot_see_project(engine: Engine, project: ProjectRecord) -> None:
    with Session(engine) as session, pytest.raises(NotFoundError):
        get_project(session, team="globex", project_id=project.id)


def test_edits_make_versions_and_merge_under_the_lock(
    engine: Engine, project: ProjectRecord
) -> None:
    routing = SPEC.routing.model_copy(update={"accept_threshold": 0.5})
    task = SPEC.task.model_copy(update={"guidelines": "Be strict."})
    with Session(engine) as session:
        first = update_project(
            session, team="acme", project_id=project.id, name=None, changes={"routing": routing}
        )
    with Session(engine) as session:
        # An edit of another part keeps the first edit: the merge reads the locked row.
        second = update_project(
            session, team="acme", project_id=project.id, name="renamed", changes={"task": task}
        )
    with Session(engine) as session:
        same = update_project(
            session, team="acme", project_id=project.id, name=None, changes={"task": task}
        )
    assert (first.version, second.version, same.version) == (2, 3, 3)
    assert second.spec.routing.accept_threshold == 0.5
    assert second.spec.task.guidelines == "Be strict." and second.name == "renamed"


def test_final_write_happens_once(engine: Engine, project: ProjectRecord) -> None:
    result = ingest(engine, project, [NewItem({"text": "a"}, "a")])
    (item_id,) = [i for ids in result.chunks.values() for i in ids]
    with engine.begin() as connection:
        assert (
            record_outcomes(
                connection, [outcome(item_id, result.batch_id, ItemStatus.ACCEPTED)], now=1.0
            )
            == 1
        )
    with engine.begin() as connection:
        # A second delivery of the same item changes nothing.
        assert (
            record_outcomes(
                connection,
                [outcome(item_id, result.batch_id, ItemStatus.REVIEW, "negative")],
                now=2.0,
            )
            == 0
        )
    with Session(engine) as session:
        summary = summarize_batch(session, team="acme", batch_id=result.batch_id)
        item = session.get(Item, item_id)
    assert summary.counts["accepted"] == 1 and summary.status == "completed"
    assert summary.usage["prompt_tokens"] == 10 and summary.usage["cached_tokens"] == 4
    assert (item.label_value, item.label_source) == ("positive", "model")


def test_claim_by_job_skips_items_handed_on(engine: Engine, project: ProjectRecord) -> None:
    result = ingest(engine, project, [NewItem({"text": "a"}, "a")], lease_until=0.0)
    job_id, ids = next(iter(result.chunks.items()))
    with engine.begin() as connection:
        expired = find_expired_leases(connection, now=time.time(), limit=10)
        assert [e.id for e in expired] == ids
        assert (
            reassign_expired(
                connection, item_ids=ids, job_id="new", now=time.time(), lease_until=1e12
            )
            == ids
        )
        # A racing reconciler gets nothing: the lease is no longer expired.
        assert (
            reassign_expired(
                connection, item_ids=ids, job_id="other", now=time.time(), lease_until=1e12
            )
            == []
        )
        assert (
            claim_delivered_items(connection, job_id=job_id, item_ids=ids, lease_until=1e12) == []
        )
        claimed = claim_delivered_items(connection, job_id="new", item_ids=ids, lease_until=1e12)
    assert [c.id for c in claimed] == ids


def _to_review(engine: Engine, project: ProjectRecord, n: int) -> list[int]:
    result = ingest(engine, project, [NewItem({"text": str(i)}, str(i)) for i in range(n)])
    ids = sorted(i for chunk in result.chunks.values() for i in chunk)
    with engine.begin() as connection:
        record_outcomes(
            connection, [outcome(i, result.batch_id, ItemStatus.REVIEW) for i in ids], now=1.0
        )
    return ids


def test_claims_are_exclusive_and_fenced(engine: Engine, project: ProjectRecord) -> None:
    ids = _to_review(engine, project, 2)
    now = time.time()
    with engine.begin() as connection:
        first = claim_next_item(
            connection, project_id=project.id, principal=ALICE, now=now, lease_seconds=60
        )
        second = claim_next_item(
            connection, project_id=project.id, principal=BOB, now=now, lease_seconds=60
        )
        third = claim_next_item(
            connection, project_id=project.id, principal=BOB, now=now, lease_seconds=60
        )
    assert first is not None and second is not None and third is None
    assert {first.item_id, second.item_id} == set(ids)
    with engine.begin() as connection, pytest.raises(ConflictError):
        # Bob may not use Alice's token.
        record_decision(
            connection,
            item_id=first.item_id,
            principal=BOB,
            token=first.claim_token,
            value="negative",
            unlabelable=False,
            now=now,
            policy=ReviewSpec(),
            task=project.spec.task,
        )


def test_expired_claim_returns_to_queue_and_old_token_is_stale(
    engine: Engine, project: ProjectRecord
) -> None:
    _to_review(engine, project, 1)
    now = time.time()
    with engine.begin() as connection:
        stale = claim_next_item(
            connection, project_id=project.id, principal=ALICE, now=now, lease_seconds=1
        )
    later = now + 5
    with engine.begin() as connection:
        fresh = claim_next_item(
            connection, project_id=project.id, principal=BOB, now=later, lease_seconds=60
        )
    assert stale is not None and fresh is not None
    assert fresh.item_id == stale.item_id and fresh.fence == stale.fence + 1
    with engine.begin() as connection, pytest.raises(ConflictError):
        record_decision(
            connection,
            item_id=stale.item_id,
            principal=ALICE,
            token=stale.claim_token,
            value="negative",
            unlabelable=False,
            now=later,
            policy=ReviewSpec(),
            task=project.spec.task,
        )
    with engine.begin() as connection:
        record_decision(
            connection,
            item_id=fresh.item_id,
            principal=BOB,
            token=fresh.claim_token,
            value="negative",
            unlabelable=False,
            now=later,
            policy=ReviewSpec(),
            task=project.spec.task,
        )
    with Session(engine) as session:
        item = session.get(Item, fresh.item_id)
    assert (item.status, item.label_value, item.label_source, item.labeled_by) == (
        "reviewed",
        "negative",
        "human",
        "bob",
    )


def _claimed(engine: Engine, project: ProjectRecord, principal: Principal) -> ReviewerClaim:
    _to_review(engine, project, 1)
    now = time.time()
    with engine.begin() as connection:
        taken = claim_next_item(
            connection, project_id=project.id, principal=principal, now=now, lease_seconds=60
        )
    assert taken is not None
    return ReviewerClaim(taken.item_id, principal, taken.claim_token, now)


def test_a_reviewer_decides_an_item_once(engine: Engine, project: ProjectRecord) -> None:
    claim = _claimed(engine, project, ALICE)
    with engine.connect() as connection:
        transaction = connection.begin()
        held = lock_held_item(connection, claim)
        insert_decision(
            connection, claim, held, value="negative", unlabelable=False, adjudication=False
        )
        assert reviewers_decisions(connection, claim.item_id) == [
            DecisionRow("alice", "negative", False)
        ]
        with pytest.raises(ConflictError) as again:
            insert_decision(
                connection, claim, held, value="positive", unlabelable=False, adjudication=False
            )
        assert again.value.code == "already_decided"
        transaction.rollback()


def test_an_item_passed_on_lets_go_of_the_claim(engine: Engine, project: ProjectRecord) -> None:
    claim = _claimed(engine, project, ALICE)
    with engine.begin() as connection:
        held = lock_held_item(connection, claim)
        insert_decision(connection, claim, held, value=None, unlabelable=True, adjudication=False)
        pass_to_next_reviewer(connection, claim, to_adjudicator=True)
    with engine.begin() as connection:
        assert reviewers_decisions(connection, claim.item_id) == [DecisionRow("alice", None, True)]
        with pytest.raises(ConflictError) as stale:
            lock_held_item(connection, claim)
        assert stale.value.code == "stale_claim"
    with Session(engine) as session:
        item = session.get(Item, claim.item_id)
    assert (item.status, item.reason, item.claim_token) == ("review", "disagreement", None)
