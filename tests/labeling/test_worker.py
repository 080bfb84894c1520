"""Workers against a real Redis and both stores: fan-out, routing, exactly-once final writes,
and recovery of work that Redis or a worker lost."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
import respx
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select, update
from sqlalchemy.orm import Session

from labelwise.labeling.chunk_run import ChunkRun
from labelwise.labeling.queue import Delivery, connect
from labelwise.labeling.reconciler import reconcile_once
from labelwise.labeling.stopping import GracefulStop
from labelwise.labeling.worker import WorkerRuntime, run_worker
from labelwise.settings import Settings
from labelwise.store.models import Item, Prediction
from tests.conftest import Keys
from tests.labeling.conftest import statuses

TEXTS = {
    "a": "good product",
    "b": "bad product",
    "c": "unsure about it",
    "d": "broken request",
    "e": "garbled answer",
    "f": "good again",
}


def post_batch(
    client: TestClient, keys: Keys, project: dict[str, Any], texts: dict[str, str]
) -> int:
    items = [{"external_id": k, "data": {"text": v}} for k, v in texts.items()]
    response = client.post(
        f"/v1/projects/{project['id']}/batches",
        json={"items": items},
        headers=keys.auth("submitter"),
    )
    assert response.status_code == 202, response.text
    return response.json()["id"]


def batch_items(client: TestClient, keys: Keys, batch_id: int) -> list[dict[str, Any]]:
    page = client.get(f"/v1/batches/{batch_id}/items", headers=keys.auth("submitter")).json()
    return page["items"]


def test_batch_is_labeled_and_routed(
    client: TestClient,
    keys: Keys,
    project: dict[str, Any],
    settings: Settings,
    llm_api: respx.MockRouter,
) -> None:
    batch_id = post_batch(client, keys, project, TEXTS)
    run_worker(settings, burst=True)

    summary = client.get(f"/v1/batches/{batch_id}", headers=keys.auth("submitter")).json()
    assert summary["status"] == "completed"
    assert summary["counts"] | {"total": 0} == {
        "total": 0,
        "pending": 0,
        "accepted": 3,
        "review": 3,
        "reviewed": 0,
        "failed": 0,
        "held": 0,
    }
    assert summary["usage"]["prompt_tokens"] > 0
    items = batch_items(client, keys, batch_id)
    assert statuses(items) == {
        "a": ("accepted", None),
        "b": ("accepted", None),
        "c": ("review", "low_confidence"),
        "d": ("review", "llm_error"),
        "e": ("review", "invalid_output"),
        "f": ("accepted", None),
    }
    by_id = {i["external_id"]: i for i in items}
    assert by_id["b"]["label"] == {
        "value": "negative",
        "confidence": pytest.approx(0.97),
        "source": "model",
        "labeled_by": None,
    }
    assert by_id["c"]["label"] is None
    assert by_id["c"]["prediction"]["confidence"] == pytest.approx(0.6)
    assert by_id["c"]["prediction"]["method"] == "logprob"
    assert by_id["d"]["prediction"]["error"]
    # The 500s were retried to the bound, the garbled answer re-asked once: bounded, not endless.
    assert llm_api.calls.call_count == 4 + settings.llm_max_attempts + 1 + settings.llm_max_reasks


def test_every_prediction_records_its_version(
    client: TestClient,
    keys: Keys,
    project: dict[str, Any],
    settings: Settings,
    engine: Engine,
    llm_api: respx.MockRouter,
) -> None:
    client.patch(
        f"/v1/projects/{project['id']}",
        json={"routing": {"accept_threshold": 0.5}},
        headers=keys.auth("admin"),
    )
    batch_id = post_batch(client, keys, project, {"u": "unsure"})
    run_worker(settings, burst=True)
    assert statuses(batch_items(client, keys, batch_id)) == {"u": ("accepted", None)}
    with Session(engine) as session:
        assert session.scalars(select(Prediction.version)).all() == [2]


def test_a_chunk_delivered_twice_is_written_once(
    client: TestClient,
    keys: Keys,
    project: dict[str, Any],
    settings: Settings,
    engine: Engine,
    llm_api: respx.MockRouter,
) -> None:
    batch_id = post_batch(client, keys, project, {f"k{i}": "good" for i in range(10)})
    with Session(engine) as session:
        rows = session.execute(
            select(Item.id, Item.lease_owner).where(Item.batch_id == batch_id)
        ).all()
    job_id = rows[0][1]
    ids = [r[0] for r in rows]
    runtime = WorkerRuntime.start(settings)
    try:

        async def both() -> list[int]:
            first = ChunkRun(settings, runtime.engine, runtime.labeler, job_id)
            second = ChunkRun(settings, runtime.engine, runtime.labeler, job_id)
            return await asyncio.gather(first.run(ids), second.run(ids))

        runtime.loop.run_until_complete(both())
    finally:
        runtime.close()
    with Session(engine) as session:
        assert session.scalar(select(func.count()).select_from(Prediction)) == 10
        assert (
            session.scalar(select(func.count()).select_from(Item).where(Item.status == "accepted"))
            == 10
        )


def test_reconciler_redelivers_what_redis_lost(
    client: TestClient,
    keys: Keys,
    project: dict[str, Any],
    settings: Settings,
    engine: Engine,
    llm_api: respx.MockRouter,
) -> None:
    batch_id = post_batch(client, keys, project, {f"k{i}": "good" for i in range(5)})
    delivery = Delivery(connect(settings.redis_url), settings.queue_name)
    # While the job waits in the queue, an expired lease is only extended, not delivered again.
    with engine.begin() as connection:
        connection.execute(update(Item).values(lease_expires_at=0.0))
    report = reconcile_once(settings, engine, delivery)
    assert (report.redelivered, report.still_queued) == (0, 5)
    # Redis restarts empty: the queue is gone, the items are still pending in the store.
    delivery.queue.empty()
    with engine.begin() as connection:
        connection.execute(update(Item).values(lease_expires_at=0.0))
    report = reconcile_once(settings, engine, delivery)
    assert report.redelivered == 5
    assert reconcile_once(settings, engine, delivery).redelivered == 0  # leases are fresh again
    run_worker(settings, burst=True)
    summary = client.get(f"/v1/batches/{batch_id}", headers=keys.auth("submitter")).json()
    assert summary["status"] == "completed" and summary["counts"]["accepted"] == 5


def test_poison_items_go_to_review_after_max_deliveries(
    client: TestClient, keys: Keys, project: dict[str, Any], settings: Settings, engine: Engine
) -> None:
    batch_id = post_batch(client, keys, project, {"p": "good"})
    with engine.begin() as connection:
        connection.execute(
            update(Item).values(lease_expires_at=0.0, deliveries=settings.max_deliveries)
        )
    report = reconcile_once(
        settings, engine, Delivery(connect(settings.redis_url), settings.queue_name)
    )
    assert report.sent_to_review == 1
    assert statuses(batch_items(client, keys, batch_id)) == {"p": ("review", "delivery_exhausted")}


def test_synchronous_labeling(
    client: TestClient, keys: Keys, project: dict[str, Any], llm_api: respx.MockRouter
) -> None:
    url = f"/v1/projects/{project['id']}/label"
    items = [{"external_id": "s1", "data": {"text": "good"}}, {"data": {"text": "unsure"}}]
    started = time.perf_counter()
    response = client.post(url, json={"items": items}, headers=keys.auth("submitter"))
    assert response.status_code == 200, response.text
    assert time.perf_counter() - started < 5
    labeled = response.json()["items"]
    assert [(i["status"], i["label"] and i["label"]["value"]) for i in labeled] == [
        ("accepted", "positive"),
        ("review", None),
    ]
    # The same external id again: the stored item comes back, nothing is labeled twice.
    calls = llm_api.calls.call_count
    again = client.post(url, json={"items": items[:1]}, headers=keys.auth("submitter")).json()
    assert again["items"][0]["id"] == labeled[0]["id"] and llm_api.calls.call_count == calls
    too_many = client.post(
        url, json={"items": [{"data": {"text": "x"}}] * 21}, headers=keys.auth("submitter")
    )
    assert too_many.status_code == 413


def test_a_batch_posted_while_redis_is_down_is_delivered_later(
    database_url: str, queue_name: str, keys: Keys, engine: Engine, llm_api: respx.MockRouter
) -> None:
    from labelwise.api.app import create_app
    from tests.conftest import PROJECT, make_settings

    down = make_settings(database_url, queue_name, redis_url="redis://127.0.0.1:1/0")
    with TestClient(create_app(down)) as client:
        project = client.post("/v1/projects", json=PROJECT, headers=keys.auth("admin")).json()
        batch_id = post_batch(client, keys, project, {"r1": "good", "r2": "bad"})
        assert client.get("/readyz").status_code == 503
    with Session(engine) as session:
        assert session.scalars(select(Item.lease_expires_at)).all() == [0.0, 0.0]
    settings = make_settings(database_url, queue_name)
    report = reconcile_once(settings, engine, Delivery(connect(settings.redis_url), queue_name))
    assert report.redelivered == 2
    run_worker(settings, burst=True)
    with TestClient(create_app(settings)) as client:
        summary = client.get(f"/v1/batches/{batch_id}", headers=keys.auth("admin")).json()
    assert summary["status"] == "completed" and summary["counts"]["accepted"] == 2


def test_a_failed_result_write_is_retried_not_lost(
    client: TestClient,
    keys: Keys,
    project: dict[str, Any],
    settings: Settings,
    engine: Engine,
    llm_api: respx.MockRouter,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import labelwise.labeling.chunk_store

    real = labelwise.labeling.chunk_store.record_outcomes
    failures = iter([True])

    def flaky(*args: Any, **kwargs: Any) -> int:
        if next(failures, False):
            raise RuntimeError("database is locked")
        return real(*args, **kwargs)

    monkeypatch.setattr(labelwise.labeling.chunk_store, "record_outcomes", flaky)
    batch_id = post_batch(client, keys, project, {f"w{i}": "good" for i in range(4)})
    run_worker(settings, burst=True)
    summary = client.get(f"/v1/batches/{batch_id}", headers=keys.auth("submitter")).json()
    assert summary["status"] == "completed" and summary["counts"]["accepted"] == 4


class _CountingRuntime:
    """Stands in for a worker's runtime: counts the items it is asked to label."""

    def __init__(self, engine: Engine, settings: Settings) -> None:
        self.engine = engine
        self.delivery = Delivery(connect(settings.redis_url), settings.queue_name)
        self.stop = GracefulStop(settings.stop_grace_seconds)
        self.closed = False

    def run_chunk(self, job_id: str, item_ids: list[int]) -> int:
        return len(item_ids)

    def close(self) -> None:
        self.closed = True


def test_jobs_use_the_runtime_of_the_worker_serving_them(
    settings: Settings, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    from labelwise.labeling import worker

    started: list[_CountingRuntime] = []

    def start(settings: Settings) -> _CountingRuntime:
        started.append(_CountingRuntime(engine, settings))
        return started[-1]

    monkeypatch.setattr(worker.WorkerRuntime, "start", start)
    # Outside `labelwise worker`, each job builds a runtime of its own and closes it.
    assert worker.label_chunk([1, 2]) == 2
    assert worker.label_chunk([3]) == 1
    assert [runtime.closed for runtime in started] == [True, True]
    # Inside it, every job shares the one runtime the worker started with.
    sizes: list[int] = []

    def work(self: Any, **kwargs: Any) -> None:
        sizes.extend([worker.label_chunk([1]), worker.label_chunk([1, 2, 3])])

    monkeypatch.setattr("rq.SimpleWorker.work", work)
    run_worker(settings, burst=True)
    assert sizes == [1, 3]
    assert len(started) == 3 and started[-1].closed
