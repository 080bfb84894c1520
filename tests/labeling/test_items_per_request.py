"""Several items per request, end to end against the fake LLM server: each item answered and
scored on its own, as if asked alone, for a fraction of the requests and prompt tokens."""

from __future__ import annotations

import math

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from labelwise.store.db import make_engine
from labelwise.store.models import Prediction
from labelwise.testing.fake_llm import FakeLLMConfig
from tests.conftest import PROJECT, Keys
from tests.labeling.test_with_fake_server import label_batch

N = 23


def packed(size: int, **extra: object) -> dict[str, object]:
    return {**PROJECT, "items_per_request": size, "result_cache": "off", **extra}


def by_id(items: list[dict[str, object]]) -> dict[str, dict[str, object]]:
    return {str(i["external_id"]): i for i in items}


@pytest.mark.parametrize("multi_label", [False, True])
def test_a_pack_labels_each_item_as_if_it_were_asked_alone(
    database_url: str, queue_name: str, keys: Keys, multi_label: bool
) -> None:
    config = FakeLLMConfig(latency_ms=1, seed=3, confidence_spread=0.3)
    task = {**PROJECT["task"], "multi_label": multi_label}
    _, alone, alone_stats = label_batch(
        database_url, queue_name, keys, config, N, {**packed(1), "task": task}
    )
    summary, together, stats = label_batch(
        database_url, queue_name, keys, config, N, {**packed(5), "task": task}
    )
    assert summary["status"] == "completed"
    assert stats["requests"] == math.ceil(N / 5) and alone_stats["requests"] == N
    one, five = by_id(alone), by_id(together)
    for external_id, item in one.items():
        other = five[external_id]
        assert other["prediction"]["value"] == item["prediction"]["value"]
        assert other["prediction"]["confidence"] == pytest.approx(
            item["prediction"]["confidence"], abs=1e-9
        )
        assert other["status"] == item["status"]
    # The static prompt is paid once per request: far fewer prompt tokens per item.
    assert summary["usage"]["prompt_tokens"] < 0.5 * alone_stats["prompt_tokens"]


def test_items_left_out_of_the_answer_are_asked_alone(
    database_url: str, queue_name: str, keys: Keys
) -> None:
    config = FakeLLMConfig(latency_ms=1, seed=5, rate_drop_item=0.3)
    summary, items, stats = label_batch(database_url, queue_name, keys, config, N, packed(10))
    assert summary["status"] == "completed"
    assert all(i["prediction"]["value"] is not None for i in items)
    packs = math.ceil(N / 10)
    # Every item left out cost exactly one more request, alone.
    assert packs < stats["requests"] < packs + N
    engine = make_engine(database_url)
    with Session(engine) as session:
        tokens = session.execute(select(Prediction.prompt_tokens)).scalars().all()
    engine.dispose()
    # Items asked again alone carry their own prompt besides their share of the pack's.
    assert len(set(tokens)) > 2
    assert sum(tokens) == summary["usage"]["prompt_tokens"]


def test_consensus_needs_one_item_per_request(client: TestClient, keys: Keys) -> None:
    definition = packed(5, consensus={"samples": 2})
    response = client.post("/v1/projects", json=definition, headers=keys.auth("admin"))
    assert response.status_code == 422
    assert "items_per_request" in response.json()["error"]["message"]
    created = client.post("/v1/projects", json=packed(5), headers=keys.auth("admin")).json()
    assert created["items_per_request"] == 5
    edit = client.patch(
        f"/v1/projects/{created['id']}",
        json={"consensus": {"samples": 2}},
        headers=keys.auth("admin"),
    )
    assert edit.status_code == 422


def test_without_logprobs_a_pack_is_scored_by_the_agreement_of_its_samples(
    database_url: str, queue_name: str, keys: Keys
) -> None:
    config = FakeLLMConfig(latency_ms=1, seed=6, logprobs=False)
    summary, items, stats = label_batch(database_url, queue_name, keys, config, 12, packed(4))
    assert summary["status"] == "completed"
    # Three packs, each asked once and sampled four more times (llm_agreement_samples = 5).
    assert stats["requests"] == 3 * 5
    for item in items:
        prediction = item["prediction"]
        assert prediction["method"] == "agreement"
        assert prediction["confidence"] in {0.2, 0.4, 0.6, 0.8, 1.0}
