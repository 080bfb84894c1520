"""Consensus through the whole pipeline: every score is stored, and with `auto` the one that
separates right from wrong best on gold routes the items."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import respx
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from labelwise.labeling.worker import run_worker
from labelwise.settings import Settings
from labelwise.store.models import Prediction
from tests.conftest import PROJECT, Keys
from tests.labeling.conftest import items_of, post, statuses
from tests.llm.fakes import completion, single_label_tokens

CONSENSUS_PROJECT = {
    **PROJECT,
    "routing": {"target_precision": 0.9},
    "consensus": {"samples": 2},
}


def _answer(label: str, p: float) -> httpx.Response:
    other = "negative" if label == "positive" else "positive"
    tokens = single_label_tokens(label, [(label, math.log(p)), (other, math.log(1 - p))])
    return httpx.Response(200, json=completion(json.dumps({"label": label}), tokens=tokens))


def informative_model_noisy_samples(request: httpx.Request) -> httpx.Response:
    """The model at temperature 0 is informative: `good` items positive at 0.95 (right), `bad`
    ones positive at 0.55 (wrong). Samples at a higher temperature are noise that ignores the
    item's truth: items numbered by a multiple of 3 get `negative` at 0.9, the rest `positive`."""
    body = json.loads(request.content)
    item = next(m["content"] for m in body["messages"] if m["role"] == "user")
    if body.get("temperature", 0) > 0:
        number = int(re.search(r"(\d+)", item.split("<item>")[1]).group(1))
        return _answer("negative" if number % 3 == 0 else "positive", 0.9)
    return _answer("positive", 0.95 if "good" in item else 0.55)


@pytest.fixture
def noisy_samples() -> Iterator[respx.MockRouter]:
    with respx.mock(base_url="http://llm.test/v1", assert_all_called=False) as router:
        router.post("/chat/completions").mock(side_effect=informative_model_noisy_samples)
        yield router


def gold(n: int) -> list[dict[str, Any]]:
    return [
        {"external_id": f"g{i}", "data": {"text": f"good {i}"}, "ground_truth": "positive"}
        for i in range(n)
    ] + [
        {"external_id": f"b{i}", "data": {"text": f"bad {i}"}, "ground_truth": "negative"}
        for i in range(n)
    ]


def test_auto_routes_by_the_score_that_separates_best_on_gold(
    client: TestClient,
    keys: Keys,
    settings: Settings,
    engine: Engine,
    noisy_samples: respx.MockRouter,
) -> None:
    project = client.post("/v1/projects", json=CONSENSUS_PROJECT, headers=keys.auth("admin"))
    assert project.status_code == 201, project.text
    project_id = project.json()["id"]
    assert project.json()["consensus"] == {"samples": 2, "models": [], "method": "auto"}
    post(client, keys, project_id, gold(30))
    run_worker(settings, burst=True)
    # Three calls an item: the model and two samples.
    assert noisy_samples.calls.call_count == 60 * 3

    with Session(engine) as session:
        rows = session.execute(select(Prediction.scores, Prediction.method)).all()
    assert all(set(scores) == {"logprob", "agreement", "combined"} for scores, _ in rows)
    # Labeled by the default (combined), then switched: the logprob alone separates perfectly.
    assert {method for _, method in rows} == {"logprob"}

    calibration = client.get(
        f"/v1/projects/{project_id}/calibration", headers=keys.auth("admin")
    ).json()
    assert calibration["confidence_method"] == "logprob"
    assert calibration["threshold"] == pytest.approx(0.95)

    report = client.get(f"/v1/projects/{project_id}/quality", headers=keys.auth("admin")).json()
    methods = {m["method"]: m for m in report["confidence_methods"]}
    assert methods["logprob"]["gold"]["auroc"] == 1.0 and methods["logprob"]["routing"]
    assert methods["combined"]["gold"]["auroc"] < 1.0
    assert methods["agreement"]["gold"]["auroc"] < 1.0
    page = client.get(f"/projects/{project_id}/quality", headers=keys.auth("admin")).text
    assert "Confidence scores compared" in page and "combined" in page

    fresh = post(
        client,
        keys,
        project_id,
        [
            {"external_id": "n3", "data": {"text": "good 3"}},
            {"external_id": "n4", "data": {"text": "bad 4"}},
        ],
    )
    run_worker(settings, burst=True)
    # By the combined score, "good 3" (both samples say negative) would have been labeled
    # negative; by the logprob it is accepted as positive.
    items = items_of(client, keys, fresh)
    assert statuses(items) == {"n3": ("accepted", None), "n4": ("review", "low_confidence")}
    assert {i["external_id"]: i["label"] for i in items}["n3"]["value"] == "positive"


def test_a_consensus_model_must_be_an_allowed_endpoint(client: TestClient, keys: Keys) -> None:
    definition = {
        **CONSENSUS_PROJECT,
        "consensus": {"models": [{"name": "other", "base_url": "https://elsewhere.example/v1"}]},
    }
    response = client.post("/v1/projects", json=definition, headers=keys.auth("admin"))
    assert response.status_code == 422
    assert "elsewhere.example" in response.json()["error"]["message"]
