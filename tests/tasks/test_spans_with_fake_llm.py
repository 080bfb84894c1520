"""Spans end to end: a worker labels items through the fake LLM, and the stored values are
spans that point into each item's text, with per-span parts."""

from __future__ import annotations

from typing import Any

import httpx
from fastapi.testclient import TestClient

from labelwise.api.app import create_app
from labelwise.labeling.worker import run_worker
from labelwise.testing.fake_llm import FakeLLMConfig, running_fake_llm
from tests.conftest import PROJECT, Keys, make_settings

DEFINITION = {
    **PROJECT,
    "name": "people and places",
    "task": {
        "type": "spans",
        "labels": [
            {"name": "PER", "description": "a person"},
            {"name": "LOC", "description": "a place"},
        ],
    },
}
TEXTS = [
    "Ann Lee flew from Paris to Köln with Ann Lee's brother.",
    "nothing to see here",
    "👋🏽 Zoë met José in São Paulo.",
]


def test_spans_are_labeled_through_the_fake_llm(
    database_url: str, queue_name: str, keys: Keys
) -> None:
    """Each span is scored by the answer's logprobs and stored with its parts."""
    with running_fake_llm(FakeLLMConfig()) as base_url:
        settings = make_settings(
            database_url, queue_name, openai_base_url=base_url, llm_transport="aiohttp"
        )
        with TestClient(create_app(settings)) as client:
            project = client.post("/v1/projects", json=DEFINITION, headers=keys.auth("admin"))
            assert project.status_code == 201, project.text
            items = [{"external_id": f"i{k}", "data": {"text": t}} for k, t in enumerate(TEXTS)]
            batch = client.post(
                f"/v1/projects/{project.json()['id']}/batches",
                json={"items": items},
                headers=keys.auth("admin"),
            ).json()
            run_worker(settings, burst=True)
            page = client.get(f"/v1/batches/{batch['id']}/items", headers=keys.auth("admin")).json()
            conll = client.get(
                f"/v1/batches/{batch['id']}/export",
                params={"format": "conll"},
                headers=keys.auth("admin"),
            )
        httpx.get(base_url.removesuffix("/v1") + "/stats")
    found = 0
    for item in page["items"]:
        prediction: dict[str, Any] = item["prediction"]
        text = item["data"]["text"]
        assert prediction is not None and prediction["value"] is not None, item
        for span in prediction["value"]:
            assert text[span["start"] : span["end"]] == span["text"]
            assert span["label"] in {"PER", "LOC"}
            found += 1
        assert prediction["method"] == "logprob"
        assert prediction["confidence"] is not None
        parts = prediction.get("parts") or []
        assert [p["start"] for p in parts] == [s["start"] for s in prediction["value"]]
        assert all(p["confidence"] is not None for p in parts)
    assert found > 0
    assert conll.status_code == 200 and conll.text.startswith("# tokenization: ")
