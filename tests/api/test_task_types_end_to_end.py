"""Every registered task type labeled end to end: the example projects posted to the API,
labeled by workers against the project's fake LLM, their values, confidences and parts read
back from the items API and the export."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from labelwise.api.app import create_app
from labelwise.labeling.worker import run_worker
from labelwise.tasks import TASK_TYPES
from labelwise.testing.fake_llm import FakeLLMConfig, running_fake_llm
from tests.conftest import Keys, make_settings

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
EXAMPLE_OF = {
    "spans": "tweets_ner",
    "extraction": "invoices",
    "rating": "reviews",
    "pairwise": "answers",
}
ITEMS = 6


def example(name: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    definition = json.loads((EXAMPLES / name / "project.json").read_text(encoding="utf-8"))
    lines = (EXAMPLES / name / "items.jsonl").read_text(encoding="utf-8").splitlines()
    return definition, [json.loads(line) for line in lines[:ITEMS]]


def check_value(kind: str, value: Any, data: dict[str, Any], task: dict[str, Any]) -> None:
    """The value has the shape the task type's contract promises."""
    if kind == "spans":
        assert isinstance(value, list)
        for span in value:
            assert data["text"][span["start"] : span["end"]] == span["text"]
    elif kind == "extraction":
        assert set(value) == set(task["schema"]["properties"])
    elif kind == "rating":
        assert task["scale"]["min"] <= value <= task["scale"]["max"]
    else:
        assert value in ("a", "b", "tie")


@pytest.mark.parametrize("logprobs", [True, False], ids=["logprobs", "samples"])
@pytest.mark.parametrize("kind", sorted(EXAMPLE_OF))
def test_each_task_type_is_labeled_end_to_end(
    database_url: str, queue_name: str, keys: Keys, kind: str, logprobs: bool
) -> None:
    """With logprobs, confidence is read from them; without (as some providers answer), from
    the agreement of samples of each view's request."""
    assert kind in TASK_TYPES
    definition, items = example(EXAMPLE_OF[kind])
    with running_fake_llm(FakeLLMConfig(latency_ms=1, logprobs=logprobs)) as base_url:
        settings = make_settings(
            database_url, queue_name, openai_base_url=base_url, llm_transport="aiohttp"
        )
        with TestClient(create_app(settings)) as client:
            created = client.post("/v1/projects", json=definition, headers=keys.auth("admin"))
            assert created.status_code == 201, created.text
            batch = client.post(
                f"/v1/projects/{created.json()['id']}/batches",
                json={"items": items},
                headers=keys.auth("admin"),
            )
            assert batch.status_code == 202, batch.text
            run_worker(settings, burst=True)
            batch_id = batch.json()["id"]
            page = client.get(f"/v1/batches/{batch_id}/items", headers=keys.auth("admin")).json()
            exported = client.get(f"/v1/batches/{batch_id}/export", headers=keys.auth("admin"))
    labeled = page["items"]
    assert len(labeled) == ITEMS
    for item in labeled:
        prediction = item["prediction"]
        assert prediction is not None and prediction["error"] is None, item
        assert item["status"] in ("accepted", "review")
        check_value(kind, prediction["value"], item["data"], definition["task"])
        assert prediction["confidence"] is None or 0 <= prediction["confidence"] <= 1
        assert prediction["method"] == ("logprob" if logprobs else "agreement"), prediction
        # A rating's parts are its logprob distribution over the scale: none from samples.
        assert prediction["parts"] is not None or (kind == "rating" and not logprobs)
    records = [json.loads(line) for line in exported.text.splitlines()]
    parts_of = {item["external_id"]: item["prediction"]["parts"] for item in labeled}
    assert len(records) == ITEMS
    for record in records:
        assert record["prediction"].get("parts") == parts_of[record["external_id"]]
