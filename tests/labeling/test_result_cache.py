"""The result cache: the same content under the same version is labeled once, within a batch
and across batches, as the project asks."""

from __future__ import annotations

from typing import Any

import pytest
import respx
from fastapi.testclient import TestClient

from labelwise.labeling.worker import run_worker
from labelwise.settings import Settings
from tests.conftest import PROJECT, Keys
from tests.labeling.conftest import items_of, post


def batch(prefix: str, texts: list[str]) -> list[dict[str, Any]]:
    return [{"external_id": f"{prefix}{i}", "data": {"text": t}} for i, t in enumerate(texts)]


@pytest.mark.parametrize(
    ("scope", "first_calls", "second_calls"),
    [
        # Three identical items and two others: three calls; the repeat costs nothing.
        ("project", 3, 0),
        # Reuse within a batch only: the second batch labels its content once again.
        ("batch", 3, 1),
        ("off", 5, 2),
    ],
)
def test_identical_items_are_labeled_once(
    client: TestClient,
    keys: Keys,
    settings: Settings,
    llm_api: respx.MockRouter,
    scope: str,
    first_calls: int,
    second_calls: int,
) -> None:
    definition = {**PROJECT, "result_cache": scope}
    project = client.post("/v1/projects", json=definition, headers=keys.auth("admin")).json()
    assert project["result_cache"] == scope
    first = post(client, keys, project["id"], batch("a", ["good", "good", "good", "bad", "unsure"]))
    run_worker(settings, burst=True)
    assert llm_api.calls.call_count == first_calls
    second = post(client, keys, project["id"], batch("b", ["good", "good"]))
    run_worker(settings, burst=True)
    assert llm_api.calls.call_count == first_calls + second_calls

    labeled = items_of(client, keys, first) + items_of(client, keys, second)
    goods = [i for i in labeled if i["data"]["text"] == "good"]
    # Every copy carries the same label and confidence, and is routed like the original.
    assert {(i["status"], i["prediction"]["value"]) for i in goods} == {("accepted", "positive")}
    assert [i["prediction"]["confidence"] for i in goods] == [pytest.approx(0.95)] * len(goods)
    hits = sum(i["prediction"]["cache_hit"] for i in labeled)
    assert hits == 7 - first_calls - second_calls
    usage = client.get(f"/v1/batches/{second}", headers=keys.auth("admin")).json()["usage"]
    assert usage["cache_hits"] == 2 - second_calls
    if scope == "project":
        assert usage["prompt_tokens"] == 0 and usage["cost_usd"] == 0.0
