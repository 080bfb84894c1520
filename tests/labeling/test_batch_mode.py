"""Batch mode end to end against the fake LLM's files and batches endpoints: the items are
submitted as a provider batch, its answers labeled with the same confidence and routing as
online answers at the batch price, and what the provider failed is labeled online."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from labelwise.api.app import create_app
from labelwise.labeling.queue import Delivery, connect
from labelwise.labeling.reconciler import reconcile_once
from labelwise.labeling.worker import run_worker
from labelwise.settings import Settings
from labelwise.store.db import make_engine
from labelwise.store.models import Project, ProviderBatch
from labelwise.testing.fake_llm import FakeLLMConfig, running_fake_llm
from tests.conftest import PROJECT, Keys, make_settings

N = 24
PRICE = {"prompt": 1.0, "completion": 4.0}
TOPICS = ["positive", "negative", "neutral"]


def items() -> list[dict[str, Any]]:
    return [
        {"external_id": f"i{k}", "data": {"text": f"review {k}: {TOPICS[k % 3]}"}} for k in range(N)
    ]


def run_until_done(settings: Settings, client: TestClient, keys: Keys, batch_id: int) -> None:
    """What the workers and their reconciler threads do, step by step."""
    delivery = Delivery(connect(settings.redis_url), settings.queue_name)
    engine = make_engine(settings.database_url)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            run_worker(settings, burst=True)
            summary = client.get(f"/v1/batches/{batch_id}", headers=keys.auth("admin")).json()
            if summary["status"] == "completed":
                return
            time.sleep(0.1)
            reconcile_once(settings, engine, delivery)
        raise AssertionError("the batch did not complete")
    finally:
        engine.dispose()


def label(
    database_url: str, queue_name: str, keys: Keys, config: FakeLLMConfig, mode: str, size: int
) -> tuple[dict[str, Any], dict[str, dict[str, Any]], dict[str, int], list[ProviderBatch]]:
    with running_fake_llm(config) as base_url:
        settings = make_settings(
            database_url, f"{queue_name}-{mode}", openai_base_url=base_url, llm_transport="aiohttp"
        )
        with TestClient(create_app(settings)) as client:
            definition = {
                **PROJECT,
                "model": {**PROJECT["model"], "price": PRICE},
                "items_per_request": size,
                "result_cache": "off",
            }
            project = client.post("/v1/projects", json=definition, headers=keys.auth("admin"))
            project_id = project.json()["id"]
            posted = client.post(
                f"/v1/projects/{project_id}/batches",
                params={"mode": mode},
                json={"items": items()},
                headers=keys.auth("admin"),
            )
            assert posted.status_code == 202, posted.text
            batch_id = posted.json()["id"]
            run_until_done(settings, client, keys, batch_id)
            summary = client.get(f"/v1/batches/{batch_id}", headers=keys.auth("admin")).json()
            page = client.get(
                f"/v1/batches/{batch_id}/items", params={"limit": N}, headers=keys.auth("admin")
            ).json()["items"]
        stats = httpx.get(base_url.removesuffix("/v1") + "/stats").json()
    engine = make_engine(database_url)
    with Session(engine) as session:
        rows = list(
            session.execute(
                select(ProviderBatch).where(ProviderBatch.project_id == project_id)
            ).scalars()
        )
    engine.dispose()
    return summary, {i["external_id"]: i for i in page}, stats, rows


@pytest.mark.parametrize("size", [1, 4])
def test_a_provider_batch_labels_as_online_does_at_the_batch_price(
    database_url: str, queue_name: str, keys: Keys, size: int
) -> None:
    config = FakeLLMConfig(latency_ms=1, seed=2, confidence_spread=0.3)
    online, online_items, _, _ = label(database_url, queue_name, keys, config, "online", size)
    batch, batch_items, _, rows = label(database_url, queue_name, keys, config, "batch", size)
    assert batch["mode"] == "batch" and online["mode"] == "online"
    [provider_batch] = batch["provider_batches"]
    assert provider_batch["status"] == "completed" and provider_batch["requests"] == N // size
    assert provider_batch["counts"] == {"answered": N // size, "labeled": N, "sent_online": 0}
    assert online["provider_batches"] == []
    assert batch["counts"] == online["counts"]
    for external_id, item in online_items.items():
        other = batch_items[external_id]
        assert (other["status"], other["reason"]) == (item["status"], item["reason"])
        assert other["prediction"]["value"] == item["prediction"]["value"]
        assert other["prediction"]["confidence"] == pytest.approx(
            item["prediction"]["confidence"], abs=1e-9
        )
    assert batch["usage"]["prompt_tokens"] == online["usage"]["prompt_tokens"]
    assert batch["usage"]["cost_usd"] == pytest.approx(online["usage"]["cost_usd"] / 2, rel=1e-3)
    [row] = rows
    assert row.status == "completed" and len(row.requests) == N // size
    assert row.counts == {"answered": N // size, "labeled": N, "sent_online": 0}


def test_requests_the_provider_failed_are_labeled_online(
    database_url: str, queue_name: str, keys: Keys
) -> None:
    config = FakeLLMConfig(latency_ms=1, seed=9, rate_500=0.3)
    summary, labeled, stats, [row] = label(database_url, queue_name, keys, config, "batch", 1)
    assert summary["status"] == "completed"
    assert all(item["prediction"] is not None for item in labeled.values())
    failed = row.counts["sent_online"]
    assert failed > 0 and row.counts["labeled"] == N - failed
    # Online, a 500 is retried; the items the batch failed cost about one request each more.
    assert stats["requests"] >= N + failed


def test_identical_items_are_submitted_once_and_labeled_before_are_not_submitted(
    database_url: str, queue_name: str, keys: Keys
) -> None:
    texts = ["review: positive", "review: negative", "review: positive", "review: positive"]
    with running_fake_llm(FakeLLMConfig(latency_ms=1, seed=3)) as base_url:
        settings = make_settings(
            database_url, queue_name, openai_base_url=base_url, llm_transport="aiohttp"
        )
        with TestClient(create_app(settings)) as client:
            project = client.post("/v1/projects", json=PROJECT, headers=keys.auth("admin")).json()
            batches = []
            for prefix in ("a", "b"):
                posted = client.post(
                    f"/v1/projects/{project['id']}/batches",
                    params={"mode": "batch"},
                    json={
                        "items": [
                            {"external_id": f"{prefix}{k}", "data": {"text": text}}
                            for k, text in enumerate(texts)
                        ]
                    },
                    headers=keys.auth("admin"),
                ).json()
                run_until_done(settings, client, keys, posted["id"])
                batches.append(
                    client.get(
                        f"/v1/batches/{posted['id']}/items", headers=keys.auth("admin")
                    ).json()["items"]
                )
        stats = httpx.get(base_url.removesuffix("/v1") + "/stats").json()
    first, second = batches
    # Two distinct texts: two requests in the provider batch, and none for the second batch.
    assert stats["requests"] == 2
    assert sum(item["prediction"]["cache_hit"] for item in first) == 2
    assert all(item["prediction"]["cache_hit"] for item in second)
    by_text = {item["data"]["text"]: item["prediction"]["value"] for item in first}
    assert all(item["prediction"]["value"] == by_text[item["data"]["text"]] for item in second)
    engine = make_engine(database_url)
    with Session(engine) as session:
        rows = session.execute(select(ProviderBatch)).scalars().all()
    engine.dispose()
    assert len(rows) == 1 and len(rows[0].requests) == 2
    assert sum(len(ids) for ids in rows[0].copies.values()) == 2


def test_a_project_at_its_limit_submits_no_provider_batch(
    database_url: str, queue_name: str, keys: Keys
) -> None:
    with running_fake_llm(FakeLLMConfig(latency_ms=1)) as base_url:
        settings = make_settings(
            database_url, queue_name, openai_base_url=base_url, llm_transport="aiohttp"
        )
        with TestClient(create_app(settings)) as client:
            definition = {
                **PROJECT,
                "model": {**PROJECT["model"], "price": PRICE},
                "spend_limit_usd": 10.0,
                "result_cache": "off",
            }
            project_id = client.post(
                "/v1/projects", json=definition, headers=keys.auth("admin")
            ).json()["id"]
            posted = client.post(
                f"/v1/projects/{project_id}/batches",
                params={"mode": "batch"},
                json={"items": items()},
                headers=keys.auth("admin"),
            ).json()
            # Spent elsewhere between the post and the submission.
            engine = make_engine(database_url)
            with engine.begin() as connection:
                connection.execute(update(Project).values(spent_usd=10.0))
            run_worker(settings, burst=True)
            page = client.get(
                f"/v1/batches/{posted['id']}/items", params={"limit": N}, headers=keys.auth("admin")
            ).json()["items"]
        stats = httpx.get(base_url.removesuffix("/v1") + "/stats").json()
    with Session(engine) as session:
        assert session.execute(select(ProviderBatch)).first() is None
    engine.dispose()
    assert {(i["status"], i["reason"]) for i in page} == {("review", "spend_limit")}
    assert stats["requests"] == 0
