"""An LLM faked at the HTTP edge that answers like a real provider, item by item.

The item text decides the answer: `good` -> confident positive, `bad` -> confident negative,
`unsure` -> positive at 60%, `broken` -> HTTP 500 every time, `garbled` -> an answer outside the
schema every time.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import respx
from fastapi.testclient import TestClient

from tests.conftest import PROJECT, Keys
from tests.llm.fakes import BASE_URL, completion, error, single_label_tokens


def _answer(label: str, p: float, other: str) -> httpx.Response:
    tokens = single_label_tokens(label, [(label, math.log(p)), (other, math.log(1 - p))])
    return httpx.Response(
        200, json=completion(json.dumps({"label": label}, separators=(",", ":")), tokens=tokens)
    )


def fake_llm_answer(request: httpx.Request) -> httpx.Response:
    body = json.loads(request.content)
    # The item is the first user message; a re-ask appends more after it.
    item = next(m["content"] for m in body["messages"] if m["role"] == "user")
    if "broken" in item:
        return error(500, "upstream exploded")
    if "garbled" in item:
        return httpx.Response(200, json=completion('{"label": "maybe"}'))
    if "bad" in item:
        return _answer("negative", 0.97, "positive")
    if "unsure" in item:
        return _answer("positive", 0.6, "negative")
    return _answer("positive", 0.95, "negative")


@pytest.fixture
def llm_api() -> Iterator[respx.MockRouter]:
    with respx.mock(base_url=BASE_URL, assert_all_called=False) as router:
        router.post("/chat/completions").mock(side_effect=fake_llm_answer)
        yield router


def statuses(items: list[dict[str, Any]]) -> dict[str, tuple[str, str | None]]:
    return {i["external_id"]: (i["status"], i["reason"]) for i in items}


CALIBRATED_PROJECT = {**PROJECT, "routing": {"target_precision": 0.9}}
"""A project routed by calibration; with `scored_llm`, gold sets its threshold at 0.85."""


MEH_GUIDELINE = "A meh review is negative."


def good_or_meh_answer(request: httpx.Request) -> httpx.Response:
    """`good` items: positive at 0.85, and right; `meh` items: positive at 0.6, and wrong,
    unless the guidelines say `MEH_GUIDELINE`: then negative at 0.9, and right."""
    messages = json.loads(request.content)["messages"]
    item = next(m["content"] for m in messages if m["role"] == "user")
    system = next(m["content"] for m in messages if m["role"] == "system")
    label, other, p = "positive", "negative", 0.85 if "good" in item else 0.6
    if "meh" in item and MEH_GUIDELINE in system:
        label, other, p = "negative", "positive", 0.9
    tokens = single_label_tokens(label, [(label, math.log(p)), (other, math.log(1 - p))])
    return httpx.Response(200, json=completion(json.dumps({"label": label}), tokens=tokens))


@pytest.fixture
def scored_llm() -> Iterator[respx.MockRouter]:
    with respx.mock(base_url="http://llm.test/v1", assert_all_called=False) as router:
        router.post("/chat/completions").mock(side_effect=good_or_meh_answer)
        yield router


GOLD = [
    {"external_id": f"g{i}", "data": {"text": "good"}, "ground_truth": "positive"}
    for i in range(40)
] + [
    {"external_id": f"m{i}", "data": {"text": "meh"}, "ground_truth": "negative"} for i in range(10)
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


def items_of(client: TestClient, keys: Keys, batch_id: int) -> list[dict[str, Any]]:
    return client.get(
        f"/v1/batches/{batch_id}/items", params={"limit": 500}, headers=keys.auth("admin")
    ).json()["items"]
