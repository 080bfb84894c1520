"""A target_error project: a batch's sample goes to reviewers first, the other items wait for it,
and the cut the reviewed sample certifies decides what keeps the model's label.

With `scored_llm`, `good` items are labeled positive at 0.85 (right) and `meh` items positive at
0.6 (wrong: reviewers correct them to negative).
"""

from __future__ import annotations

from typing import Any

import respx
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from labelwise.labeling.queue import Delivery, connect
from labelwise.labeling.reconciler import reconcile_once
from labelwise.labeling.worker import run_worker
from labelwise.settings import Settings
from tests.conftest import PROJECT, Keys
from tests.labeling.conftest import items_of, post


def _project(client: TestClient, keys: Keys, **routing: Any) -> int:
    body = {**PROJECT, "routing": {"target_error": 0.1, **routing}}
    response = client.post("/v1/projects", json=body, headers=keys.auth("admin"))
    assert response.status_code == 201, response.text
    return response.json()["id"]


def _batch(client: TestClient, keys: Keys, batch_id: int) -> dict[str, Any]:
    return client.get(f"/v1/batches/{batch_id}", headers=keys.auth("admin")).json()


def _review_all(client: TestClient, keys: Keys, project_id: int) -> list[str | None]:
    """Answer every item the queue serves, truthfully; the reasons in the order served."""
    served = []
    while True:
        response = client.post(
            "/v1/review/claim", json={"project_id": project_id}, headers=keys.auth("reviewer")
        )
        if response.status_code == 204:
            return served
        claim = response.json()
        served.append(claim["item"]["reason"])
        meh = claim["item"]["data"]["text"] == "meh"
        decision = {"decision": "correct", "value": "negative"} if meh else {"decision": "accept"}
        answered = client.post(
            f"/v1/review/{claim['item']['id']}",
            json={"claim_token": claim["claim_token"], **decision},
            headers=keys.auth("reviewer"),
        )
        assert answered.status_code == 200, answered.text


def _reconcile(settings: Settings, engine: Engine) -> int:
    delivery = Delivery(connect(settings.redis_url), settings.queue_name)
    return reconcile_once(settings, engine, delivery).guarantees_settled


ITEMS = [{"external_id": f"g{i}", "data": {"text": "good"}} for i in range(80)] + [
    {"external_id": f"m{i}", "data": {"text": "meh"}} for i in range(20)
]


def _settled(
    client: TestClient, keys: Keys, settings: Settings, engine: Engine, *, sample_size: int
) -> tuple[int, int]:
    """A project and batch of ITEMS, labeled, its sample (or everything served) reviewed and
    the guarantee settled: (project id, batch id)."""
    project_id = _project(client, keys, sample_size=sample_size)
    batch_id = post(client, keys, project_id, ITEMS)
    run_worker(settings, burst=True)
    _review_all(client, keys, project_id)
    _reconcile(settings, engine)
    return project_id, batch_id


def test_the_sample_certifies_a_cut_and_the_held_items_follow_it(
    client: TestClient, keys: Keys, settings: Settings, engine: Engine, scored_llm: respx.MockRouter
) -> None:
    project_id = _project(client, keys, sample_size=40)
    batch_id = post(client, keys, project_id, ITEMS)
    run_worker(settings, burst=True)

    items = items_of(client, keys, batch_id)
    sampled = [i for i in items if i["reason"] == "guarantee_sample"]
    held = [i for i in items if i["status"] == "held"]
    assert len(sampled) + len(held) == 100 and 20 <= len(sampled) <= 60
    # Until the sample is reviewed, nothing of the batch is accepted.
    assert not [i for i in items if i["status"] == "accepted"]
    batch = _batch(client, keys, batch_id)
    guarantee = batch["guarantee"]
    assert guarantee["state"] == "sampling" and guarantee["rate"] == 0.4
    assert guarantee["waiting_for_sample"] == len(held) and guarantee["expected_sample"] == 40
    assert batch["counts"]["held"] == len(held)
    refused = client.post(f"/v1/batches/{batch_id}/relabel", headers=keys.auth("admin"))
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "guaranteed_batch"

    # The sample is all the queue serves now; answering it settles the batch on the next pass.
    assert set(_review_all(client, keys, project_id)) == {"guarantee_sample"}
    assert _reconcile(settings, engine) == 1

    guarantee = _batch(client, keys, batch_id)["guarantee"]
    assert guarantee["state"] == "certified" and guarantee["waiting_for_sample"] == 0
    # The sampled meh items were all wrong at 0.6: the cut sits just above them.
    assert 0.6 < guarantee["cut"] <= 0.85 and guarantee["error_bound"] <= 0.1
    after = {i["external_id"]: i for i in items_of(client, keys, batch_id)}
    for item in held:
        now = after[item["external_id"]]
        if item["data"]["text"] == "good":
            assert (now["status"], now["label"]["value"]) == ("accepted", "positive")
        else:
            assert (now["status"], now["reason"]) == ("review", "low_confidence")
    # Reviewers then clear what fell below the cut; no wrong label is left in the batch.
    _review_all(client, keys, project_id)
    final = items_of(client, keys, batch_id)
    wrong = [i for i in final if i["data"]["text"] == "meh" and i["label"]["value"] != "negative"]
    assert not wrong and _reconcile(settings, engine) == 0


def test_a_sample_too_small_to_certify_sends_everything_to_review(
    client: TestClient, keys: Keys, settings: Settings, engine: Engine, scored_llm: respx.MockRouter
) -> None:
    # One item in a hundred drawn: even no sampled error could not rule out 11 wrong labels.
    _, batch_id = _settled(client, keys, settings, engine, sample_size=1)

    guarantee = _batch(client, keys, batch_id)["guarantee"]
    assert guarantee["state"] == "uncertified" and guarantee["cut"] is None
    statuses = {i["status"] for i in items_of(client, keys, batch_id)}
    assert statuses <= {"review", "reviewed"} and "accepted" not in statuses


def test_each_batch_draws_its_own_sample_and_waits_for_it(
    client: TestClient, keys: Keys, settings: Settings, engine: Engine, scored_llm: respx.MockRouter
) -> None:
    project_id, first = _settled(client, keys, settings, engine, sample_size=40)
    assert _batch(client, keys, first)["guarantee"]["state"] == "certified"
    # A second batch draws its own sample and waits for it: one batch's cut is not another's.
    second = post(client, keys, project_id, [{"data": {"text": "good"}}] * 3)
    run_worker(settings, burst=True)
    assert _batch(client, keys, second)["guarantee"]["state"] == "sampling"
    assert {i["status"] for i in items_of(client, keys, second)} <= {"held", "review"}


def test_a_target_error_needs_a_valid_policy(client: TestClient, keys: Keys) -> None:
    bad = [
        {"target_error": 0.05, "target_precision": 0.9},
        {"target_error": 0},
        {"target_error": 0.05, "guarantee": 1.0},
        {"accept_threshold": 0.8, "sample_size": 100},
    ]
    for routing in bad:
        response = client.post(
            "/v1/projects", json={**PROJECT, "routing": routing}, headers=keys.auth("admin")
        )
        assert response.status_code == 422, routing


def test_relabeling_the_review_queue_leaves_a_guaranteed_batch_alone(
    client: TestClient, keys: Keys, settings: Settings, engine: Engine, scored_llm: respx.MockRouter
) -> None:
    project_id, batch_id = _settled(client, keys, settings, engine, sample_size=40)
    below_cut = [i for i in items_of(client, keys, batch_id) if i["reason"] == "low_confidence"]
    assert below_cut
    response = client.post(
        f"/v1/projects/{project_id}/review-queue/relabel", headers=keys.auth("submitter")
    )
    assert response.status_code == 202 and response.json()["relabeled"] == 0
