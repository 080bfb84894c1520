"""Cost before labeling: estimates from rendered prompts, prices from the project or the
operator's table, and the spend limit that refuses a batch before anything is stored."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from labelwise.api.app import create_app
from labelwise.labeling.worker import run_worker
from labelwise.testing.fake_llm import FakeLLMConfig, running_fake_llm
from tests.conftest import PROJECT, Keys, make_settings

PRICE = {"prompt": 1.0, "cached_prompt": 0.5, "completion": 4.0}
WORDS = ["positive", "negative", "meh", "wonderful", "awful"]


def items(n: int, prefix: str = "i") -> list[dict[str, Any]]:
    return [
        {
            "external_id": f"{prefix}{k}",
            "data": {"text": f"Review {k}: it was {WORDS[k % 5]}" + " and so on" * (k % 7)},
        }
        for k in range(n)
    ]


def project_with(client: TestClient, keys: Keys, **fields: Any) -> dict[str, Any]:
    definition = {**PROJECT, "result_cache": "off", **fields}
    response = client.post("/v1/projects", json=definition, headers=keys.auth("admin"))
    assert response.status_code == 201, response.text
    return response.json()


@pytest.mark.parametrize("items_per_request", [1, 10])
def test_the_estimate_matches_what_labeling_then_costs(
    database_url: str, queue_name: str, keys: Keys, items_per_request: int
) -> None:
    with running_fake_llm(FakeLLMConfig(latency_ms=1)) as base_url:
        settings = make_settings(
            database_url, queue_name, openai_base_url=base_url, llm_transport="aiohttp"
        )
        with TestClient(create_app(settings)) as client:
            model = {**PROJECT["model"], "price": PRICE}
            project = project_with(client, keys, model=model, items_per_request=items_per_request)
            sample = items(40)
            response = client.post(
                f"/v1/projects/{project['id']}/estimate",
                json={"items": sample},
                headers=keys.auth("submitter"),
            )
            assert response.status_code == 200, response.text
            estimate = response.json()
            batch = client.post(
                f"/v1/projects/{project['id']}/batches",
                json={"items": sample},
                headers=keys.auth("admin"),
            ).json()
            run_worker(settings, burst=True)
            usage = client.get(f"/v1/batches/{batch['id']}", headers=keys.auth("admin")).json()[
                "usage"
            ]
    assert estimate["tokenizer"] == "cl100k_base"
    assert estimate["items"] == 40 and estimate["sample_size"] == 40
    assert estimate["requests"] == 40 // items_per_request
    # The same prompts, counted by the same tokenizer: the estimate is the bill.
    assert estimate["prompt_tokens"] == pytest.approx(usage["prompt_tokens"], rel=0.02)
    # Answers are sized by the schema, not by max_tokens; the fake spells them its own way.
    assert estimate["completion_tokens"] == pytest.approx(usage["completion_tokens"], rel=0.6)
    assert estimate["cost_usd"] == pytest.approx(usage["cost_usd"], rel=0.25)
    assert estimate["price"] == PRICE


def test_several_items_per_request_are_estimated_cheaper(client: TestClient, keys: Keys) -> None:
    per_item = {}
    for size in (1, 10):
        project = project_with(client, keys, items_per_request=size)
        response = client.post(
            f"/v1/projects/{project['id']}/estimate",
            json={"items": items(20), "count": 100_000},
            headers=keys.auth("admin"),
        )
        estimate = response.json()
        assert estimate["items"] == 100_000 and estimate["sample_size"] == 20
        assert estimate["price"] is None and estimate["cost_usd"] is None
        per_item[size] = estimate["prompt_tokens_per_item"]
    assert per_item[10] < per_item[1] / 3


def test_a_count_alone_samples_the_projects_own_items(client: TestClient, keys: Keys) -> None:
    project = project_with(client, keys)
    url = f"/v1/projects/{project['id']}/estimate"
    empty = client.post(url, json={"count": 1000}, headers=keys.auth("admin"))
    assert empty.status_code == 422
    assert "no items yet" in empty.json()["error"]["message"]
    client.post(
        f"/v1/projects/{project['id']}/batches",
        json={"items": items(5)},
        headers=keys.auth("admin"),
    )
    estimate = client.post(url, json={"count": 1000}, headers=keys.auth("admin")).json()
    assert estimate["items"] == 1000 and estimate["sample_size"] == 5
    assert client.post(url, json={}, headers=keys.auth("admin")).status_code == 422
    other = client.post(url, json={"count": 10}, headers=keys.auth("other_team"))
    assert other.status_code == 404


def test_a_batch_over_the_spend_limit_is_refused_before_it_is_stored(
    client: TestClient, keys: Keys
) -> None:
    model = {**PROJECT["model"], "price": PRICE}
    project = project_with(client, keys, model=model, spend_limit_usd=0.01)
    assert project["spend_limit_usd"] == 0.01
    url = f"/v1/projects/{project['id']}/batches"
    estimate = client.post(
        f"/v1/projects/{project['id']}/estimate",
        json={"items": items(10)},
        headers=keys.auth("admin"),
    ).json()
    # About $0.001 per 10 items here: 10 fit, and the 100 after them do not.
    assert 0.0005 < estimate["cost_usd"] < 0.005
    assert (
        client.post(url, json={"items": items(10)}, headers=keys.auth("admin")).status_code == 202
    )
    refused = client.post(url, json={"items": items(100, "j")}, headers=keys.auth("admin"))
    assert refused.status_code == 402
    error = refused.json()["error"]
    assert error["code"] == "spend_limit_exceeded"
    assert "10 items waiting" in error["message"] and "$0.0100" in error["message"]
    # Nothing of the refused batch was stored: refused again, still 10 items waiting.
    again = client.post(url, json={"items": items(100, "j")}, headers=keys.auth("admin"))
    assert again.status_code == 402 and "10 items waiting" in again.json()["error"]["message"]
    # Raising the limit (which makes no new version) lets it in.
    raised = client.patch(
        f"/v1/projects/{project['id']}", json={"spend_limit_usd": 1.0}, headers=keys.auth("admin")
    ).json()
    assert raised["version"] == project["version"] and raised["spend_limit_usd"] == 1.0
    assert (
        client.post(url, json={"items": items(100, "j")}, headers=keys.auth("admin")).status_code
        == 202
    )
    removed = client.patch(
        f"/v1/projects/{project['id']}", json={"spend_limit_usd": None}, headers=keys.auth("admin")
    ).json()
    assert removed["spend_limit_usd"] is None


def test_a_spend_limit_needs_a_price(client: TestClient, keys: Keys) -> None:
    project = project_with(client, keys, spend_limit_usd=5.0)
    refused = client.post(
        f"/v1/projects/{project['id']}/batches",
        json={"items": items(3)},
        headers=keys.auth("admin"),
    )
    assert refused.status_code == 422
    assert "LABELWISE_PRICES" in refused.json()["error"]["message"]
