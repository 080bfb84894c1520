"""The learning loop end to end: reviewers' decisions become examples in the prompts of similar
items, accuracy on gold rises with them, and relabeling the review queue shrinks it."""

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

from labelwise.labeling.worker import run_worker
from labelwise.settings import Settings
from tests.conftest import PROJECT, Keys
from tests.labeling.conftest import items_of, post
from tests.llm.fakes import completion, single_label_tokens

EXAMPLE = re.compile(r"<example>\n(.*?)\n</example>\nAnswer: (.*?)\n", re.DOTALL)


class LearningModel:
    """Labels `meh` items positive at 0.6 (wrong), unless its prompt shows a reviewed `meh`
    example answered negative: then negative at 0.95. Records every user prompt."""

    def __init__(self) -> None:
        self.prompts: list[str] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        messages = json.loads(request.content)["messages"]
        user = next(m["content"] for m in messages if m["role"] == "user")
        self.prompts.append(user)
        taught = any(
            "meh" in data and json.loads(answer) == {"label": "negative"}
            for data, answer in EXAMPLE.findall(user)
        )
        label, p = ("negative", 0.95) if taught else ("positive", 0.6)
        other = "positive" if label == "negative" else "negative"
        tokens = single_label_tokens(label, [(label, math.log(p)), (other, math.log(1 - p))])
        return httpx.Response(200, json=completion(json.dumps({"label": label}), tokens=tokens))


@pytest.fixture
def model() -> Iterator[LearningModel]:
    learning = LearningModel()
    with respx.mock(base_url="http://llm.test/v1", assert_all_called=False) as router:
        router.post("/chat/completions").mock(side_effect=learning)
        yield learning


def states(items: list[dict[str, Any]]) -> list[tuple[str, str | None]]:
    return sorted((i["status"], i["reason"]) for i in items)


def test_reviews_teach_similar_items(
    client: TestClient, keys: Keys, settings: Settings, model: LearningModel
) -> None:
    definition = {**PROJECT, "routing": {"accept_threshold": 0.9}}
    project_id = client.post("/v1/projects", json=definition, headers=keys.auth("admin")).json()[
        "id"
    ]
    # The reviewer's claims are limited to the queue's batch.
    queue = post(
        client,
        keys,
        project_id,
        [{"external_id": f"q{i}", "data": {"text": f"a meh review number {i}"}} for i in range(8)],
    )
    gold = post(
        client,
        keys,
        project_id,
        [
            {
                "external_id": f"g{i}",
                "data": {"text": f"gold meh review {i}"},
                "ground_truth": "negative",
            }
            for i in range(4)
        ],
    )
    run_worker(settings, burst=True)
    assert states(items_of(client, keys, queue)) == [("review", "low_confidence")] * 8

    # A reviewer corrects three of the queued items.
    for _ in range(3):
        claim = client.post(
            "/v1/review/claim",
            json={"project_id": project_id, "batch_id": queue},
            headers=keys.auth("reviewer"),
        ).json()
        client.post(
            f"/v1/review/{claim['item']['id']}",
            json={"claim_token": claim["claim_token"], "decision": "correct", "value": "negative"},
            headers=keys.auth("reviewer"),
        )

    # Version 2 learns from reviews: two similar reviewed items in each prompt.
    task = {**definition["task"], "examples_from_reviews": 2}
    edited = client.patch(
        f"/v1/projects/{project_id}", json={"task": task}, headers=keys.auth("admin")
    )
    assert edited.json()["version"] == 2
    client.post(f"/v1/batches/{gold}/relabel", headers=keys.auth("admin"))
    requeued = client.post(
        f"/v1/projects/{project_id}/review-queue/relabel", headers=keys.auth("admin")
    )
    assert requeued.status_code == 202, requeued.text
    # The five queued items nobody reviewed (the gold is already being relabeled).
    assert requeued.json() == {"id": project_id, "version": 2, "relabeled": 5}
    run_worker(settings, burst=True)

    after = items_of(client, keys, queue)
    assert sum(i["status"] == "reviewed" for i in after) == 3
    # The rest were labeled again with the reviewers' examples: accepted, the queue is empty.
    assert [(i["status"], i["label"]["value"]) for i in after if i["status"] != "reviewed"] == [
        ("accepted", "negative")
    ] * 5
    shown = [p for p in model.prompts if "<example>" in p]
    assert shown and all(len(EXAMPLE.findall(p)) == 2 for p in shown)
    # An item is never shown its own answer: its text appears once, in the <item> block.
    for prompt in shown:
        own = prompt.split("<item>")[1]
        assert own.strip().removesuffix("</item>").strip() not in prompt.split("<item>")[0]

    # The report compares the versions on the same gold: accuracy rose with the examples.
    versions = {
        v["version"]: v["gold"]["accuracy"]["value"]
        for v in client.get(
            f"/v1/projects/{project_id}/quality", headers=keys.auth("admin")
        ).json()["versions"]
    }
    assert versions == {1: 0.0, 2: 1.0}
