"""The whole pipeline against a real OpenAI-compatible server nobody here wrote: llama.cpp's
server with the embedded SmolLM2 model. Runs wherever `labelwise local setup` has been run
(`.ci/run` does it); elsewhere it is skipped, and pytest's summary prints why."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from labelwise.api.app import create_app
from labelwise.labeling.worker import run_worker
from labelwise.local.model import LocalModel, LocalModelUnavailable, find_local_model
from labelwise.local.stack import start_local_server
from labelwise.local.supervisor import ProcessGroup
from labelwise.store.db import make_engine
from labelwise.store.keys import Role, create_key
from labelwise.store.migrate import upgrade
from labelwise.store.models import Prediction
from tests.conftest import make_settings

ROOT = Path(__file__).resolve().parents[2]
N_ITEMS = 12
SPAN_ITEMS = 6


@pytest.fixture(scope="module")
def local_model() -> LocalModel:
    try:
        return find_local_model()
    except LocalModelUnavailable as exc:
        pytest.skip(f"embedded model not installed: {exc}")


@pytest.fixture(scope="module")
def local_server(local_model: LocalModel) -> Iterator[str]:
    group = ProcessGroup()
    try:
        # One thread: CI shares two cores with the test process; contention slows llama.cpp badly.
        yield start_local_server(group, local_model, threads=1, parallel=2, context=2048)
    finally:
        group.stop()


def test_a_batch_is_labeled_by_the_real_model(
    local_server: str, tmp_path: Path, queue_name: str
) -> None:
    # One store is enough here (SQLite); both stores are covered by the other tests.
    database_url = f"sqlite:///{tmp_path / 'local.db'}"
    engine = make_engine(database_url)
    upgrade(engine)
    with Session(engine) as session:
        key = create_key(session, name="ada", role=Role.ADMIN, team="acme")
    auth = {"Authorization": f"Bearer {key}"}
    project = json.loads((ROOT / "examples/news/project.json").read_text())
    labels = {label["name"] for label in project["task"]["labels"]}
    lines = (ROOT / "examples/news/items.jsonl").read_text().splitlines()[:N_ITEMS]
    items = [
        {"external_id": r["id"], "data": {"text": r["text"]}, "ground_truth": r["label"]}
        for r in map(json.loads, lines)
    ]
    settings = make_settings(
        database_url,
        queue_name,
        openai_base_url=local_server,
        llm_transport="aiohttp",
        llm_concurrency=2,
        llm_timeout_seconds=300,
    )
    with TestClient(create_app(settings)) as client:
        created = client.post("/v1/projects", json=project, headers=auth).json()
        batch = client.post(
            f"/v1/projects/{created['id']}/batches",
            json={"items": items},
            headers=auth,
        ).json()
        run_worker(settings, burst=True)
        summary = client.get(f"/v1/batches/{batch['id']}", headers=auth).json()
        page = client.get(
            f"/v1/batches/{batch['id']}/items", params={"limit": N_ITEMS}, headers=auth
        ).json()

    assert summary["status"] == "completed"
    assert summary["counts"]["accepted"] + summary["counts"]["review"] == N_ITEMS
    assert summary["usage"]["prompt_tokens"] > 0
    with Session(engine) as session:
        predictions = session.execute(
            select(
                Prediction.value, Prediction.confidence, Prediction.method, Prediction.error_kind
            )
        ).all()
    parsed = [p for p in predictions if p.error_kind is None]
    # Structured output: the grammar-constrained answers parse, and hold labels of the project.
    assert len(parsed) >= N_ITEMS - 1, predictions
    assert all(p.value in labels for p in parsed)
    # Confidence from the real server's logprobs, renormalized over the allowed labels.
    assert all(p.method == "logprob" for p in parsed)
    assert all(0.0 <= p.confidence <= 1.0 for p in parsed)
    assert {i["status"] for i in page["items"]} <= {"accepted", "review"}
    engine.dispose()


def test_a_spans_project_is_labeled_by_the_real_model(
    local_server: str, tmp_path: Path, queue_name: str
) -> None:
    """Entities in short posts: every item ends accepted or in review, and every span the model's
    answer left in a value points at its own text, whatever the small model made of the task."""
    database_url = f"sqlite:///{tmp_path / 'spans.db'}"
    engine = make_engine(database_url)
    upgrade(engine)
    with Session(engine) as session:
        key = create_key(session, name="ada", role=Role.ADMIN, team="acme")
    auth = {"Authorization": f"Bearer {key}"}
    project = json.loads((ROOT / "examples/tweets_ner/project.json").read_text(encoding="utf-8"))
    # A small model on two shared cores: a short answer budget keeps a rambling list of entities
    # from taking minutes (a cut-off answer goes to review as `truncated`).
    project["model"]["max_tokens"] = 160
    lines = (ROOT / "examples/tweets_ner/items.jsonl").read_text(encoding="utf-8").splitlines()
    items = [
        {"external_id": r["external_id"], "data": r["data"]}
        for r in map(json.loads, lines[:SPAN_ITEMS])
    ]
    texts = {item["external_id"]: item["data"]["text"] for item in items}
    settings = make_settings(
        database_url,
        queue_name,
        openai_base_url=local_server,
        llm_transport="aiohttp",
        llm_concurrency=2,
        llm_timeout_seconds=300,
    )
    with TestClient(create_app(settings)) as client:
        created = client.post("/v1/projects", json=project, headers=auth)
        assert created.status_code == 201, created.text
        batch = client.post(
            f"/v1/projects/{created.json()['id']}/batches",
            json={"items": items},
            headers=auth,
        ).json()
        run_worker(settings, burst=True)
        summary = client.get(f"/v1/batches/{batch['id']}", headers=auth).json()
        exported = client.get(f"/v1/batches/{batch['id']}/export", headers=auth)

    assert summary["status"] == "completed"
    assert summary["counts"]["accepted"] + summary["counts"]["review"] == SPAN_ITEMS
    records = [json.loads(line) for line in exported.text.splitlines()]
    assert len(records) == SPAN_ITEMS
    labels = {label["name"] for label in project["task"]["labels"]}
    for record in records:
        prediction = record["prediction"] or {}
        text = texts[record["external_id"]]
        for span in prediction.get("value") or []:
            assert text[span["start"] : span["end"]] == span["text"]
            assert span["label"] in labels
    engine.dispose()
