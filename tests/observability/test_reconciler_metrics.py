"""The reconciler's counts in the worker's metrics, and its log lines, against a real Redis and
both stores: leases found expired, items given more time, redelivered, sent to review."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from redis.exceptions import ConnectionError as RedisConnectionError
from sqlalchemy import Engine, update

from labelwise.labeling.queue import Delivery, connect
from labelwise.labeling.reconciler import reconcile_once
from labelwise.observability.metrics import WORKER_REGISTRY
from labelwise.settings import Settings
from labelwise.store.models import Item
from tests.conftest import Keys
from tests.observability.capture import json_lines

COUNTERS = {
    "expired": "labelwise_reconciler_expired_leases_total",
    "extended": "labelwise_reconciler_extended_items_total",
    "redelivered": "labelwise_reconciler_redelivered_items_total",
    "exhausted": "labelwise_reconciler_exhausted_items_total",
}


def counts() -> dict[str, float]:
    values = {key: WORKER_REGISTRY.get_sample_value(name) or 0.0 for key, name in COUNTERS.items()}
    for outcome in ("ok", "failed"):
        labels = {"outcome": outcome}
        passes = WORKER_REGISTRY.get_sample_value("labelwise_reconciler_passes_total", labels)
        values[f"passes_{outcome}"] = passes or 0.0
    return values


def grown(before: dict[str, float]) -> dict[str, float]:
    after = counts()
    return {key: after[key] - before[key] for key in after if after[key] != before[key]}


def post(client: TestClient, keys: Keys, project: dict[str, Any], n: int) -> list[int]:
    items = [{"external_id": f"k{i}", "data": {"text": "good"}} for i in range(n)]
    response = client.post(
        f"/v1/projects/{project['id']}/batches", json={"items": items}, headers=keys.auth("admin")
    )
    assert response.status_code == 202, response.text
    page = client.get(f"/v1/batches/{response.json()['id']}/items", headers=keys.auth("admin"))
    return sorted(item["id"] for item in page.json()["items"])


def expire_leases(engine: Engine, **values: Any) -> None:
    with engine.begin() as connection:
        connection.execute(update(Item).values(lease_expires_at=0.0, **values))


def test_redeliveries_are_counted_and_logged_under_their_new_job(
    client: TestClient,
    keys: Keys,
    project: dict[str, Any],
    settings: Settings,
    engine: Engine,
) -> None:
    ids = post(client, keys, project, 5)
    delivery = Delivery(connect(settings.redis_url), settings.queue_name)
    before = counts()
    expire_leases(engine)
    reconcile_once(settings, engine, delivery)  # the job still waits in the queue
    assert grown(before) == {"expired": 5, "extended": 5, "passes_ok": 1}

    before = counts()
    delivery.queue.empty()  # Redis lost the queue
    expire_leases(engine)
    with json_lines("labelwise.labeling.reconciler") as captured:
        reconcile_once(settings, engine, delivery)
    assert grown(before) == {"expired": 5, "redelivered": 5, "passes_ok": 1}
    [line] = captured.with_message("items redelivered")
    assert sorted(line["item_ids"]) == ids and line["items"] == 5
    assert line["job_id"] in delivery.queue.job_ids


def test_items_out_of_deliveries_are_counted_as_sent_to_review(
    client: TestClient,
    keys: Keys,
    project: dict[str, Any],
    settings: Settings,
    engine: Engine,
) -> None:
    [item_id] = post(client, keys, project, 1)
    expire_leases(engine, deliveries=settings.max_deliveries)
    before = counts()
    with json_lines("labelwise.labeling.reconciler") as captured:
        reconcile_once(settings, engine, Delivery(connect(settings.redis_url), settings.queue_name))
    assert grown(before) == {"expired": 1, "exhausted": 1, "passes_ok": 1}
    [line] = captured.with_message("items sent to review after max deliveries")
    assert line["item_ids"] == [item_id] and line["level"] == "WARNING"


def test_a_pass_that_fails_midway_is_counted_failed(
    client: TestClient,
    keys: Keys,
    project: dict[str, Any],
    settings: Settings,
    engine: Engine,
) -> None:
    post(client, keys, project, 2)
    expire_leases(engine)
    unreachable = Delivery(connect("redis://127.0.0.1:1/0"), settings.queue_name)
    before = counts()
    with pytest.raises(RedisConnectionError):
        reconcile_once(settings, engine, unreachable)
    assert grown(before) == {"expired": 2, "passes_failed": 1}
