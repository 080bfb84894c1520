"""A task type's parts and review reasons through the whole flow: written with the prediction,
shown by the items API, the exports and the review claim, and carried by the result cache."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import respx
from fastapi.testclient import TestClient

from labelwise.labeling.worker import run_worker
from labelwise.settings import Settings
from tests.conftest import Keys
from tests.labeling.two_views import TwoViewTask, two_view_llm, two_views

__all__ = ["two_view_llm", "two_views"]  # fixtures

TEXTS = {"agree": "lovely stay", "flip": "flip a coin"}


def post_batch(client: TestClient, keys: Keys, project_id: int, texts: dict[str, str]) -> int:
    items = [{"external_id": k, "data": {"text": v}} for k, v in texts.items()]
    response = client.post(
        f"/v1/projects/{project_id}/batches", json={"items": items}, headers=keys.auth("submitter")
    )
    assert response.status_code == 202, response.text
    return int(response.json()["id"])


def items_of(client: TestClient, keys: Keys, batch_id: int) -> dict[str, dict[str, Any]]:
    page = client.get(f"/v1/batches/{batch_id}/items", headers=keys.auth("submitter")).json()
    return {item["external_id"]: item for item in page["items"]}


def test_parts_and_review_reasons_through_the_flow(
    two_views: TwoViewTask,
    two_view_llm: respx.MockRouter,
    client: TestClient,
    keys: Keys,
    project: dict[str, Any],
    settings: Settings,
) -> None:
    batch_id = post_batch(client, keys, project["id"], TEXTS)
    run_worker(settings, burst=True)
    assert two_view_llm.calls.call_count == 4  # two views of two items
    items = items_of(client, keys, batch_id)
    flip, agree = items["flip"], items["agree"]
    assert (agree["status"], agree["reason"]) == ("accepted", None)
    assert (flip["status"], flip["reason"]) == ("review", "order_disagreement")
    assert flip["label"] is None and flip["prediction"]["value"] == "positive"
    assert [p["label"] for p in flip["prediction"]["parts"]] == ["positive", "negative"]
    assert [p["view"] for p in agree["prediction"]["parts"]] == [1, 2]

    exported = client.get(f"/v1/batches/{batch_id}/export", headers=keys.auth("submitter"))
    records = {r["external_id"]: r for r in map(json.loads, exported.text.splitlines())}
    assert records["flip"]["prediction"]["parts"] == flip["prediction"]["parts"]
    table = client.get(
        f"/v1/batches/{batch_id}/export", params={"format": "csv"}, headers=keys.auth("submitter")
    )
    rows = {row["external_id"]: row for row in csv.DictReader(io.StringIO(table.text))}
    assert json.loads(rows["flip"]["model_parts"]) == flip["prediction"]["parts"]
    assert rows["flip"]["model_label"] == "positive"

    claimed = client.post(
        "/v1/review/claim", json={"project_id": project["id"]}, headers=keys.auth("reviewer")
    )
    assert claimed.status_code == 200, claimed.text
    body = claimed.json()
    assert body["item"]["external_id"] == "flip"
    assert body["prediction"]["parts"] == flip["prediction"]["parts"]
    assert body["item"]["prediction"]["parts"] == flip["prediction"]["parts"]


def test_a_cached_copy_is_routed_for_the_same_reason(
    two_views: TwoViewTask,
    two_view_llm: respx.MockRouter,
    client: TestClient,
    keys: Keys,
    project: dict[str, Any],
    settings: Settings,
) -> None:
    post_batch(client, keys, project["id"], TEXTS)
    run_worker(settings, burst=True)
    calls = two_view_llm.calls.call_count
    again = post_batch(client, keys, project["id"], {"flip2": TEXTS["flip"]})
    run_worker(settings, burst=True)
    assert two_view_llm.calls.call_count == calls  # copied, not asked
    copy = items_of(client, keys, again)["flip2"]
    assert copy["prediction"]["cache_hit"] is True
    assert (copy["status"], copy["reason"]) == ("review", "order_disagreement")
    assert len(copy["prediction"]["parts"]) == 2
