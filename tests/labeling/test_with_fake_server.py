"""Workers on the default aiohttp transport against the project's own fake LLM server, with the
faults a real provider has: 429 with Retry-After, 500s, truncated JSON, and no logprobs at all."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from labelwise.api.app import create_app
from labelwise.labeling.worker import run_worker
from labelwise.store.models import Prediction
from labelwise.testing.fake_llm import FakeLLMConfig, running_fake_llm
from tests.conftest import PROJECT, Keys, make_settings

TOPICS = ["positive", "negative", "neutral", "no idea"]


def label_batch(
    database_url: str,
    queue_name: str,
    keys: Keys,
    config: FakeLLMConfig,
    n: int,
    definition: dict[str, Any] = PROJECT,
    **settings_overrides: Any,
) -> tuple[dict[str, Any], list[dict[str, Any]], dict[str, int]]:
    with running_fake_llm(config) as base_url:
        settings = make_settings(
            database_url,
            queue_name,
            openai_base_url=base_url,
            llm_transport="aiohttp",
            **settings_overrides,
        )
        with TestClient(create_app(settings)) as client:
            project = client.post(
                "/v1/projects", json=definition, headers=keys.auth("admin")
            ).json()
            items = [
                {"external_id": f"i{k}", "data": {"text": f"review {k}: {TOPICS[k % 4]}"}}
                for k in range(n)
            ]
            batch = client.post(
                f"/v1/projects/{project['id']}/batches",
                json={"items": items},
                headers=keys.auth("admin"),
            ).json()
            run_worker(settings, burst=True)
            summary = client.get(f"/v1/batches/{batch['id']}", headers=keys.auth("admin")).json()
            page = client.get(
                f"/v1/batches/{batch['id']}/items", params={"limit": n}, headers=keys.auth("admin")
            ).json()
        stats = httpx.get(base_url.removesuffix("/v1") + "/stats").json()
    return summary, page["items"], stats


def test_faulty_provider_every_item_ends_accepted_or_in_review(
    database_url: str, queue_name: str, keys: Keys
) -> None:
    config = FakeLLMConfig(
        latency_ms=1,
        rate_429=0.2,
        retry_after_seconds=0.01,
        rate_500=0.1,
        rate_truncate=0.1,
        seed=7,
    )
    summary, items, stats = label_batch(database_url, queue_name, keys, config, 60)
    assert summary["status"] == "completed"
    assert summary["counts"]["accepted"] + summary["counts"]["review"] == 60
    assert {i["status"] for i in items} <= {"accepted", "review"}
    assert {i["reason"] for i in items} <= {None, "low_confidence", "truncated", "llm_error"}
    for item in items:
        if item["status"] == "accepted":
            assert item["label"]["confidence"] >= 0.8
    assert stats["rate_limited"] > 0 and stats["server_error"] > 0 and stats["truncated"] > 0
    # Bounded: retries and re-asks cost well under two requests per item at these fault rates.
    assert stats["requests"] < 2 * 60


def test_without_logprobs_confidence_comes_from_agreement(
    database_url: str, queue_name: str, keys: Keys, engine: Engine
) -> None:
    config = FakeLLMConfig(latency_ms=0, logprobs=False, seed=1)
    summary, _items, stats = label_batch(database_url, queue_name, keys, config, 8)
    assert summary["status"] == "completed"
    with Session(engine) as session:
        methods = session.scalars(select(Prediction.method)).all()
    assert methods == ["agreement"] * 8
    settings = make_settings(database_url, queue_name)
    assert stats["requests"] == 8 * settings.llm_agreement_samples


def test_multi_label_items_get_a_label_set_and_per_label_confidence(
    database_url: str, queue_name: str, keys: Keys, engine: Engine
) -> None:
    definition = {
        **PROJECT,
        "task": {"labels": ["positive", "negative", "neutral"], "multi_label": True},
        "routing": {"accept_threshold": 0.5},
    }
    config = FakeLLMConfig(latency_ms=0, seed=2)
    summary, items, _stats = label_batch(database_url, queue_name, keys, config, 8, definition)
    assert summary["status"] == "completed"
    for item in items:
        value = item["prediction"]["value"]
        assert isinstance(value, list) and set(value) <= {"positive", "negative", "neutral"}
    # "review 0: positive" names one label: the fake model is sure it applies.
    assert "positive" in items[0]["prediction"]["value"]
    with Session(engine) as session:
        rows = session.execute(select(Prediction.confidence, Prediction.per_label)).all()
    for confidence, per_label in rows:
        assert set(per_label) == {"positive", "negative", "neutral"}
        assert confidence == min(per_label.values())


def test_a_rationale_comes_before_the_label_and_leaves_its_confidence_alone(
    database_url: str, queue_name: str, keys: Keys
) -> None:
    config = FakeLLMConfig(latency_ms=0, seed=3)
    _summary, plain, _stats = label_batch(database_url, queue_name, keys, config, 8)
    reasoned = {**PROJECT, "task": {**PROJECT["task"], "rationale": True}}
    _summary, with_reason, _stats = label_batch(database_url, queue_name, keys, config, 8, reasoned)
    for before, after in zip(plain, with_reason, strict=True):
        # The fake's belief about the label does not depend on the reasoning, so the confidence
        # read at the label's tokens must come out the same with a rationale in front of it.
        assert after["prediction"]["method"] == "logprob"
        assert after["prediction"]["value"] == before["prediction"]["value"]
        assert after["prediction"]["confidence"] == pytest.approx(
            before["prediction"]["confidence"]
        )
        assert after["prediction"]["rationale"] and before["prediction"]["rationale"] is None
