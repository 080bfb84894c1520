"""A model cascade through the whole stack: a project names a cheap model and a stronger one,
each behind a fake LLM server of its own; workers label a batch, and the items the cheap model
is unsure of are settled by the strong one, each step billed at its own model's price."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from labelwise.api.app import create_app
from labelwise.cost.pricing import cost_usd
from labelwise.domain import Usage
from labelwise.labeling.worker import run_worker
from labelwise.spec import Price
from labelwise.store.models import Prediction
from labelwise.testing.fake_llm import FakeLLMConfig, running_fake_llm
from tests.conftest import Keys, make_settings

CHEAP = {"prompt": 0.05, "completion": 0.2}
STRONG = {"prompt": 2.5, "completion": 10.0}
# The fake is sure of an item whose text names a label, unsure otherwise.
TOPICS = ["positive", "negative", "neutral", "no idea"]
N = 16


def definition(strong_url: str, **fields: Any) -> dict[str, Any]:
    return {
        "name": "cascade",
        "task": {"labels": ["positive", "negative"], "guidelines": "Is the review happy?"},
        "model": {"name": "cheap", "price": CHEAP},
        "cascade": {
            "model": {"name": "strong", "base_url": strong_url, "price": STRONG},
            "escalate_below": 0.85,
        },
        "routing": {"accept_threshold": 0.8},
        "result_cache": "off",
        **fields,
    }


def items(n: int) -> list[dict[str, Any]]:
    return [
        {"external_id": f"i{k}", "data": {"text": f"review {k}: {TOPICS[k % 4]}"}} for k in range(n)
    ]


def named(external_id: str) -> bool:
    return int(external_id[1:]) % 4 < 2


@pytest.fixture
def servers() -> Iterator[tuple[str, str]]:
    with (
        running_fake_llm(FakeLLMConfig(latency_ms=0, accuracy_hint=0.97)) as cheap_url,
        running_fake_llm(FakeLLMConfig(latency_ms=0, seed=3)) as strong_url,
    ):
        yield cheap_url, strong_url


@pytest.fixture
def cascade_client(
    database_url: str, queue_name: str, servers: tuple[str, str]
) -> Iterator[TestClient]:
    cheap_url, strong_url = servers
    settings = make_settings(
        database_url,
        queue_name,
        openai_base_url=cheap_url,
        allowed_llm_base_urls=[strong_url],
        llm_transport="aiohttp",
    )
    with TestClient(create_app(settings)) as client:
        client.app.state.test_settings = settings  # type: ignore[attr-defined]
        yield client


def requests_to(url: str) -> int:
    return int(httpx.get(url.removesuffix("/v1") + "/stats").json()["requests"])


def test_a_batch_is_settled_by_both_models_and_billed_at_each_price(
    cascade_client: TestClient, keys: Keys, servers: tuple[str, str], engine: Engine
) -> None:
    client, (cheap_url, strong_url) = cascade_client, servers
    created = client.post("/v1/projects", json=definition(strong_url), headers=keys.auth("admin"))
    assert created.status_code == 201, created.text
    project = created.json()
    assert project["cascade"]["model"]["name"] == "strong"
    assert project["cascade"]["escalate_below"] == 0.85
    batch = client.post(
        f"/v1/projects/{project['id']}/batches",
        json={"items": items(N)},
        headers=keys.auth("admin"),
    ).json()
    run_worker(client.app.state.test_settings, burst=True)  # type: ignore[attr-defined]
    summary = client.get(f"/v1/batches/{batch['id']}", headers=keys.auth("admin")).json()
    page = client.get(
        f"/v1/batches/{batch['id']}/items", params={"limit": N}, headers=keys.auth("admin")
    ).json()["items"]
    assert summary["status"] == "completed"
    models = {item["external_id"]: item["prediction"]["model"] for item in page}
    assert models == {eid: "cheap" if named(eid) else "strong" for eid in models}
    assert requests_to(cheap_url) == N and requests_to(strong_url) == N // 2
    for item in page:
        assert item["status"] in {"accepted", "review"}
        assert item["prediction"]["value"] in {"positive", "negative"}
    with Session(engine) as session:
        rows = session.execute(
            select(Prediction.model, Prediction.prompt_tokens, Prediction.completion_tokens,
                   Prediction.cost_usd)
        ).all()  # fmt: skip
    cheap_costs = [cost for model, _p, _c, cost in rows if model == "cheap"]
    for model, prompt, completion, cost in rows:
        price = Price(**(CHEAP if model == "cheap" else STRONG))
        own = cost_usd(Usage(prompt, 0, completion), price)
        if model == "cheap":
            assert cost == pytest.approx(own)
        else:
            # The strong model's call at its price, plus the cheap model's first try at its own.
            first = cost - own
            assert min(cheap_costs) * 0.5 < first < max(cheap_costs) * 2
    assert summary["usage"]["cost_usd"] == pytest.approx(sum(r.cost_usd for r in rows), abs=1e-6)
    exported = b"".join(
        client.get(f"/v1/batches/{batch['id']}/export", headers=keys.auth("admin")).iter_bytes()
    )
    records = [json.loads(line) for line in exported.splitlines()]
    assert {r["external_id"]: r["prediction"]["model"] for r in records} == models


def test_synchronous_labels_go_through_the_cascade_too(
    cascade_client: TestClient, keys: Keys, servers: tuple[str, str]
) -> None:
    project = cascade_client.post(
        "/v1/projects", json=definition(servers[1]), headers=keys.auth("admin")
    ).json()
    response = cascade_client.post(
        f"/v1/projects/{project['id']}/label",
        json={"items": items(4)},
        headers=keys.auth("submitter"),
    )
    assert response.status_code == 200, response.text
    got = [item["prediction"]["model"] for item in response.json()["items"]]
    assert got == ["cheap", "cheap", "strong", "strong"]


def test_the_estimate_adds_the_second_step_for_every_item_as_the_bound(
    cascade_client: TestClient, keys: Keys, servers: tuple[str, str]
) -> None:
    def estimate(fields: dict[str, Any]) -> dict[str, Any]:
        project = cascade_client.post(
            "/v1/projects", json=definition(servers[1], **fields), headers=keys.auth("admin")
        ).json()
        response = cascade_client.post(
            f"/v1/projects/{project['id']}/estimate",
            json={"items": items(N)},
            headers=keys.auth("submitter"),
        )
        assert response.status_code == 200, response.text
        return response.json()

    with_cascade = estimate({})
    alone = estimate({"cascade": None})
    step = with_cascade["cascade"]
    assert alone["cascade"] is None
    assert step["model"] == "strong" and step["escalated_share"] == 1.0 and step["items"] == N
    assert step["price"] == {**STRONG, "cached_prompt": None}
    assert step["cost_usd"] == step["cost_usd_all_escalated"]
    assert with_cascade["cost_usd"] == pytest.approx(alone["cost_usd"] + step["cost_usd"])
    assert with_cascade["requests"] == alone["requests"] + N
    # The same prompts, priced at fifty times the cheap model's rates.
    assert step["cost_usd"] == pytest.approx(alone["cost_usd"] * 50, rel=0.05)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"consensus": {"samples": 2}}, "use either cascade or consensus"),
        ({"cascade": {"model": {"name": "cheap"}}}, "must differ from the project's model"),
        ({"cascade": {"model": {"name": "strong"}, "escalate_below": 0}}, "escalate_below"),
        ({"cascade": {"model": {"name": "strong"}, "extra": 1}}, "extra"),
    ],
)
def test_a_cascade_that_cannot_work_is_refused_with_422(
    cascade_client: TestClient,
    keys: Keys,
    servers: tuple[str, str],
    fields: dict[str, Any],
    message: str,
) -> None:
    response = cascade_client.post(
        "/v1/projects", json=definition(servers[1], **fields), headers=keys.auth("admin")
    )
    assert response.status_code == 422, response.text
    assert message in response.json()["error"]["message"]
