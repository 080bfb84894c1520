"""A target_precision project routes by the threshold its gold supports, once there is enough."""

from __future__ import annotations

import json
import math
from typing import Any

import httpx
import pytest
import respx
from fastapi.testclient import TestClient

from labelwise.settings import Settings
from labelwise.worker import run_worker
from tests.conftest import PROJECT, Keys
from tests.llm.fakes import completion, single_label_tokens
from tests.worker.conftest import statuses

CALIBRATED_PROJECT = {**PROJECT, "routing": {"target_precision": 0.9}}


def answer(request: httpx.Request) -> httpx.Response:
    """`good` items: positive at 0.85, and right; `meh` items: positive at 0.6, and wrong."""
    item = next(
        m["content"] for m in json.loads(request.content)["messages"] if m["role"] == "user"
    )
    p = 0.85 if "good" in item else 0.6
    tokens = single_label_tokens(
        "positive", [("positive", math.log(p)), ("negative", math.log(1 - p))]
    )
    return httpx.Response(200, json=completion('{"label":"positive"}', tokens=tokens))


@pytest.fixture
def llm() -> Any:
    with respx.mock(base_url="http://llm.test/v1", assert_all_called=False) as router:
        router.post("/chat/completions").mock(side_effect=answer)
        yield router


GOLD = [
    {"external_id": f"g{i}", "data": {"text": "good"}, "ground_truth": "positive"}
    for i in range(40)
] + [
    {"external_id": f"m{i}", "data": {"text": "meh"}, "ground_truth": "negative"}
    for i in range(10)
]


def unlabeled(prefix: str) -> list[dict[str, Any]]:
    return [
        {"external_id": f"{prefix}-good", "data": {"text": "good"}},
        {"external_id": f"{prefix}-meh", "data": {"text": "meh"}},
    ]


def post(client: TestClient, keys: Keys, project_id: int, items: list[dict[str, Any]]) -> int:
    response = client.post(
        f"/v1/projects/{project_id}/batches", json={"items": items}, headers=keys.auth("admin")
    )
    assert response.status_code == 202, response.text
    return response.json()["id"]


def test_gold_turns_the_target_into_a_calibrated_threshold(
    client: TestClient, keys: Keys, settings: Settings, llm: respx.MockRouter
) -> None:
    project = client.post(
        "/v1/projects", json=CALIBRATED_PROJECT, headers=keys.auth("admin")
    ).json()
    calibration = client.get(
        f"/v1/projects/{project['id']}/calibration", headers=keys.auth("admin")
    )
    assert calibration.json()["calibrated"] is False
    assert calibration.json()["threshold"] is None
    assert calibration.json()["reason"] == "no gold scored by this version yet"

    # Labeled before any gold: nothing is accepted on the model's word alone.
    early = post(client, keys, project["id"], unlabeled("early"))
    run_worker(settings, burst=True)
    assert set(statuses(_items(client, keys, early)).values()) == {("review", "uncalibrated")}

    first = post(client, keys, project["id"], GOLD)
    run_worker(settings, burst=True)
    # Gold is routed by the threshold it produced, like everything else of its version.
    assert set(statuses(_items(client, keys, first)).values()) == {
        ("accepted", None),
        ("review", "low_confidence"),
    }
    # ...and the items labeled before it were routed again.
    assert statuses(_items(client, keys, early)) == {
        "early-good": ("accepted", None),
        "early-meh": ("review", "low_confidence"),
    }

    body = client.get(
        f"/v1/projects/{project['id']}/calibration", headers=keys.auth("admin")
    ).json()
    assert body["calibrated"] is True and body["threshold"] == pytest.approx(0.85)
    assert body["expected_precision"] == 1.0 and body["expected_coverage"] == pytest.approx(0.8)
    assert body["precision_interval"][0] >= 0.9 and body["gold"] == 50

    second = post(client, keys, project["id"], unlabeled("new"))
    run_worker(settings, burst=True)
    assert statuses(_items(client, keys, second)) == {
        "new-good": ("accepted", None),
        "new-meh": ("review", "low_confidence"),
    }


def _items(client: TestClient, keys: Keys, batch_id: int) -> list[dict[str, Any]]:
    return client.get(
        f"/v1/batches/{batch_id}/items", params={"limit": 100}, headers=keys.auth("admin")
    ).json()["items"]
