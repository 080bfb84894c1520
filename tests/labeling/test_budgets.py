"""Spend limits hold on every path: batches, sync labels and relabels reserve before any call,
concurrent reservations cannot share headroom, the ledger only grows, workers stop calling once
a project has spent its limit, and only admins move prices and limits."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import respx
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select, update

from labelwise.labeling.worker import run_worker
from labelwise.store.models import Item, Prediction, Project
from tests.conftest import PROJECT, Keys
from tests.labeling.test_worker import post_batch

# Dollars per million tokens: a sync call of one short item costs about $0.0002 here.
PRICE = {"prompt": 1.0, "completion": 4.0}


def priced_project(client: TestClient, keys: Keys, limit: float | None) -> dict[str, Any]:
    definition = {
        **PROJECT,
        "model": {**PROJECT["model"], "price": PRICE},
        "spend_limit_usd": limit,
        "result_cache": "off",
    }
    response = client.post("/v1/projects", json=definition, headers=keys.auth("admin"))
    assert response.status_code == 201, response.text
    return response.json()


def texts(n: int, prefix: str) -> list[dict[str, Any]]:
    return [{"external_id": f"{prefix}{k}", "data": {"text": f"good {k} " * 20}} for k in range(n)]


def spent(client: TestClient, keys: Keys, project: dict[str, Any]) -> float:
    body = client.get(f"/v1/projects/{project['id']}", headers=keys.auth("submitter")).json()
    return body["spent_usd"]


def test_sync_labels_stop_at_the_limit(
    client: TestClient, keys: Keys, engine: Engine, llm_api: respx.MockRouter
) -> None:
    project = priced_project(client, keys, limit=0.002)
    url = f"/v1/projects/{project['id']}/label"
    answered = []
    for k in range(40):
        response = client.post(
            url, json={"items": texts(1, f"s{k}-")}, headers=keys.auth("submitter")
        )
        answered.append(response.status_code)
        if response.status_code == 402:
            assert response.json()["error"]["code"] == "spend_limit_exceeded"
            break
        assert response.status_code == 200, response.text
    assert answered[-1] == 402 and answered.count(200) >= 2
    calls = llm_api.calls.call_count
    # Refused calls store nothing and call nothing.
    again = client.post(url, json={"items": texts(1, "late")}, headers=keys.auth("submitter"))
    assert again.status_code == 402 and llm_api.calls.call_count == calls
    with engine.connect() as connection:
        stored = connection.execute(select(func.count()).select_from(Item)).scalar_one()
    assert stored == answered.count(200)
    assert 0 < spent(client, keys, project) <= 0.002


def test_concurrent_posts_cannot_share_headroom(
    client: TestClient, keys: Keys, engine: Engine
) -> None:
    project = priced_project(client, keys, limit=1.0)
    url = f"/v1/projects/{project['id']}/batches"
    estimate = client.post(
        f"/v1/projects/{project['id']}/estimate",
        json={"items": texts(20, "e")},
        headers=keys.auth("submitter"),
    ).json()["cost_usd"]
    # Each batch fits alone; only four fit together.
    limit = estimate * 4.5
    client.patch(
        f"/v1/projects/{project['id']}", json={"spend_limit_usd": limit}, headers=keys.auth("admin")
    )
    fits = 4

    def post(k: int) -> int:
        batch = {"items": texts(20, f"c{k}-")}
        return client.post(url, json=batch, headers=keys.auth("submitter")).status_code

    with ThreadPoolExecutor(max_workers=12) as pool:
        codes = list(pool.map(post, range(12)))
    assert sorted(set(codes)) == [202, 402]
    assert codes.count(202) <= fits
    with engine.connect() as connection:
        waiting = connection.execute(select(func.count()).select_from(Item)).scalar_one()
    assert waiting == 20 * codes.count(202)


def test_relabels_reserve_and_the_ledger_keeps_what_was_spent(
    client: TestClient, keys: Keys, engine: Engine, settings: Any, llm_api: respx.MockRouter
) -> None:
    project = priced_project(client, keys, limit=10.0)
    post_batch(client, keys, project, {f"u{k}": f"unsure {k} " * 20 for k in range(5)})
    run_worker(settings, burst=True)
    before = spent(client, keys, project)
    assert before > 0
    relabel = f"/v1/projects/{project['id']}/review-queue/relabel"
    assert client.post(relabel, headers=keys.auth("submitter")).status_code == 202
    run_worker(settings, burst=True)
    # The queue was labeled again: the new calls add to the ledger, the old ones stay in it.
    after = spent(client, keys, project)
    assert after > before * 1.5
    with engine.connect() as connection:
        predictions = connection.execute(select(func.sum(Prediction.cost_usd))).scalar_one()
    assert after > predictions

    # With the limit at what was spent, the next relabel is refused and requeues nothing.
    with engine.begin() as connection:
        connection.execute(update(Project).values(spend_limit_usd=after))
    refused = client.post(relabel, headers=keys.auth("submitter"))
    assert refused.status_code == 402, refused.text
    with engine.connect() as connection:
        pending = connection.execute(
            select(func.count()).select_from(Item).where(Item.status == "pending")
        ).scalar_one()
    assert pending == 0


def test_workers_make_no_call_once_the_limit_is_spent(
    client: TestClient, keys: Keys, engine: Engine, settings: Any, llm_api: respx.MockRouter
) -> None:
    project = priced_project(client, keys, limit=5.0)
    batch_id = post_batch(client, keys, project, {f"g{k}": f"good {k}" for k in range(4)})
    # Spent elsewhere in the meantime (other batches, estimates that fell short).
    with engine.begin() as connection:
        connection.execute(update(Project).values(spent_usd=5.0))
    run_worker(settings, burst=True)
    assert llm_api.calls.call_count == 0
    items = client.get(f"/v1/batches/{batch_id}/items", headers=keys.auth("submitter")).json()
    assert {(i["status"], i["reason"]) for i in items["items"]} == {("review", "spend_limit")}


def test_only_admins_move_prices_and_limits(client: TestClient, keys: Keys) -> None:
    project = priced_project(client, keys, limit=1.0)
    url = f"/v1/projects/{project['id']}"
    for change in (
        {"spend_limit_usd": None},
        {"spend_limit_usd": 100.0},
        {"model": {**PROJECT["model"], "price": {"prompt": 0.0, "completion": 0.0}}},
    ):
        refused = client.patch(url, json=change, headers=keys.auth("submitter"))
        assert refused.status_code == 403, (change, refused.text)
    # A model change that leaves the price out keeps the price in force.
    kept = client.patch(
        url,
        json={"model": {**PROJECT["model"], "temperature": 0.5}},
        headers=keys.auth("submitter"),
    )
    assert kept.status_code == 200, kept.text
    assert kept.json()["model"]["price"]["prompt"] == PRICE["prompt"]
    created = client.post(
        "/v1/projects",
        json={**PROJECT, "spend_limit_usd": 1000.0},
        headers=keys.auth("submitter"),
    )
    assert created.status_code == 403
    lifted = client.patch(url, json={"spend_limit_usd": None}, headers=keys.auth("admin"))
    assert lifted.status_code == 200 and lifted.json()["spend_limit_usd"] is None
    assert lifted.json()["spent_usd"] == 0.0


def test_a_submitter_cannot_carry_a_cheap_price_to_another_model(
    client: TestClient, keys: Keys
) -> None:
    project = priced_project(client, keys, limit=1.0)
    url = f"/v1/projects/{project['id']}"
    dearer = client.patch(url, json={"model": {"name": "o1-pro"}}, headers=keys.auth("submitter"))
    assert dearer.status_code == 403, dearer.text
    voter = {"name": "o1-pro", "price": {"prompt": 0.0}}
    priced_voter = client.patch(
        url, json={"consensus": {"models": [voter]}}, headers=keys.auth("submitter")
    )
    assert priced_voter.status_code == 403, priced_voter.text
    # An admin may; the price is then the table's, and without one a limit cannot hold.
    moved = client.patch(url, json={"model": {"name": "o1-pro"}}, headers=keys.auth("admin"))
    assert moved.status_code == 200 and moved.json()["model"]["price"] is None
    refused = client.post(
        f"/v1/projects/{project['id']}/batches",
        json={"items": texts(1, "p")},
        headers=keys.auth("submitter"),
    )
    assert refused.status_code == 422 and "no price" in refused.json()["error"]["message"]


def test_under_a_limit_voters_must_cost_what_the_model_costs(
    client: TestClient, keys: Keys
) -> None:
    project = priced_project(client, keys, limit=1.0)
    url = f"/v1/projects/{project['id']}"
    unpriced = {"consensus": {"models": [{"name": "o1-pro"}]}}
    assert client.patch(url, json=unpriced, headers=keys.auth("submitter")).status_code == 200
    refused = client.post(
        f"/v1/projects/{project['id']}/label",
        json={"items": texts(1, "v")},
        headers=keys.auth("submitter"),
    )
    assert refused.status_code == 422, refused.text
    assert "consensus voter 'o1-pro'" in refused.json()["error"]["message"]
