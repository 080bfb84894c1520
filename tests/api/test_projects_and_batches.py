"""The HTTP contract for projects and batches: validation, limits, idempotency, isolation."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from labelwise.settings import Settings
from labelwise.store.models import Batch, Item
from tests.conftest import PROJECT, Keys, make_settings


def error_of(response: Any) -> dict[str, str]:
    return response.json()["error"]


def test_create_and_read_project(client: TestClient, keys: Keys, project: dict[str, Any]) -> None:
    assert project["version"] == 1
    assert project["task"]["labels"][0] == {"name": "positive", "description": ""}
    fetched = client.get(f"/v1/projects/{project['id']}", headers=keys.auth("reviewer"))
    assert fetched.json()["name"] == "sentiment"


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda p: p["task"].pop("labels"), "task.labels"),
        (lambda p: p["task"].update(labels=["only-one"]), "task.labels"),
        (lambda p: p["task"].update(labels=["a", "a"]), "task"),
        (lambda p: p["routing"].update(accept_threshold=1.5), "routing.accept_threshold"),
        (lambda p: p.update(routing={}), "routing"),
        (lambda p: p["model"].update(output_mode="xml"), "model.output_mode"),
        (lambda p: p.update(colour="blue"), "colour"),
        (lambda p: p["model"].update(base_url="http://169.254.169.254/v1"), "model.base_url"),
        (lambda p: p["model"].update(api_key_env="AWS_SECRET_ACCESS_KEY"), "model.api_key_env"),
    ],
)
def test_project_validation_names_the_field(
    client: TestClient, keys: Keys, mutate: Any, field: str
) -> None:
    body = json.loads(json.dumps(PROJECT))
    mutate(body)
    response = client.post("/v1/projects", json=body, headers=keys.auth("admin"))
    assert response.status_code == 422
    assert error_of(response)["code"] == "validation_error"
    assert error_of(response)["message"].startswith(field)


def test_editing_makes_a_new_version(
    client: TestClient, keys: Keys, project: dict[str, Any]
) -> None:
    response = client.patch(
        f"/v1/projects/{project['id']}",
        json={"routing": {"accept_threshold": 0.6}},
        headers=keys.auth("admin"),
    )
    assert response.json()["version"] == 2
    same = client.patch(
        f"/v1/projects/{project['id']}", json={"name": "renamed"}, headers=keys.auth("admin")
    )
    assert same.json()["version"] == 2 and same.json()["name"] == "renamed"


def test_auth_and_roles(client: TestClient, keys: Keys, project: dict[str, Any]) -> None:
    assert client.get("/v1/projects").status_code == 401
    bad = client.get("/v1/projects", headers={"Authorization": "Bearer nope"})
    assert bad.status_code == 401 and error_of(bad)["code"] == "unauthorized"
    forbidden = client.post(
        f"/v1/projects/{project['id']}/batches",
        json={"items": [{"data": {"text": "x"}}]},
        headers=keys.auth("reviewer"),
    )
    assert forbidden.status_code == 403


def test_other_team_sees_nothing(client: TestClient, keys: Keys, project: dict[str, Any]) -> None:
    batch = client.post(
        f"/v1/projects/{project['id']}/batches",
        json={"items": [{"data": {"text": "x"}}]},
        headers=keys.auth("submitter"),
    ).json()
    eve = keys.auth("other_team")
    assert client.get("/v1/projects", headers=eve).json() == []
    for path in (
        f"/v1/projects/{project['id']}",
        f"/v1/batches/{batch['id']}",
        f"/v1/batches/{batch['id']}/items",
        f"/v1/batches/{batch['id']}/export",
    ):
        response = client.get(path, headers=eve)
        assert response.status_code == 404, path
    posted = client.post(
        f"/v1/projects/{project['id']}/batches",
        json={"items": [{"data": {"text": "x"}}]},
        headers=eve,
    )
    assert posted.status_code == 404
    claim = client.post("/v1/review/claim", json={"project_id": project["id"]}, headers=eve)
    assert claim.status_code == 404


def test_batch_json_and_ndjson_are_idempotent(
    client: TestClient, keys: Keys, project: dict[str, Any]
) -> None:
    auth = keys.auth("submitter")
    items = [{"external_id": f"r{i}", "data": {"text": f"review {i}"}} for i in range(5)]
    first = client.post(
        f"/v1/projects/{project['id']}/batches", json={"items": items}, headers=auth
    )
    assert first.status_code == 202
    assert first.json() | {"id": 0} == {"id": 0, "items": 5, "created": 5, "existing": 0}
    ndjson = "\n".join(
        json.dumps(i) for i in [*items[:3], {"external_id": "r9", "data": {"text": "new"}}]
    )
    second = client.post(
        f"/v1/projects/{project['id']}/batches",
        content=ndjson,
        headers={**auth, "content-type": "application/x-ndjson"},
    )
    assert second.status_code == 202
    assert (second.json()["created"], second.json()["existing"]) == (1, 3)
    progress = client.get(f"/v1/batches/{first.json()['id']}", headers=auth).json()
    assert progress["status"] == "running"
    assert progress["counts"] == {
        "total": 5,
        "pending": 5,
        "accepted": 0,
        "review": 0,
        "reviewed": 0,
        "failed": 0,
        "held": 0,
    }
    assert progress["usage"] == {
        "prompt_tokens": 0,
        "cached_tokens": 0,
        "completion_tokens": 0,
        "cost_usd": 0.0,
        "cost_per_item_usd": 0.0,
        "cache_hits": 0,
    }


@pytest.mark.parametrize(
    ("body", "content_type", "field"),
    [
        ({"items": [{"data": "not an object"}]}, "application/json", "items.0.data"),
        ({"items": [{"text": "no data"}]}, "application/json", "items.0"),
        ({"items": []}, "application/json", "items"),
        ({"things": []}, "application/json", "body"),
        ('{"data": {"text": "ok"}}\n{"data": 5}', "application/x-ndjson", "items.1.data"),
        ('{"data": {"text": "ok"}}\nnot json', "application/x-ndjson", "line 2"),
        ("{broken", "application/json", "body"),
    ],
)
def test_bad_batches_are_rejected_whole(
    client: TestClient,
    keys: Keys,
    engine: Engine,
    project: dict[str, Any],
    body: Any,
    content_type: str,
    field: str,
) -> None:
    content = body if isinstance(body, str) else json.dumps(body)
    response = client.post(
        f"/v1/projects/{project['id']}/batches",
        content=content,
        headers={**keys.auth("submitter"), "content-type": content_type},
    )
    assert response.status_code == 422, response.text
    assert error_of(response)["message"].startswith(field)
    with Session(engine) as session:  # nothing half-written
        assert session.scalar(select(func.count()).select_from(Batch)) == 0
        assert session.scalar(select(func.count()).select_from(Item)) == 0


def test_unknown_project_is_404(client: TestClient, keys: Keys) -> None:
    response = client.post(
        "/v1/projects/999/batches",
        json={"items": [{"data": {"text": "x"}}]},
        headers=keys.auth("admin"),
    )
    assert response.status_code == 404 and error_of(response)["code"] == "not_found"


def test_limits_give_413(database_url: str, queue_name: str, keys: Keys) -> None:
    from labelwise.api.app import create_app

    settings: Settings = make_settings(
        database_url, queue_name, max_items_per_batch=3, max_body_bytes=2048, max_item_bytes=1024
    )
    with TestClient(create_app(settings)) as client:
        project = client.post("/v1/projects", json=PROJECT, headers=keys.auth("admin")).json()
        url = f"/v1/projects/{project['id']}/batches"
        many = {"items": [{"data": {"text": "x"}}] * 4}
        response = client.post(url, json=many, headers=keys.auth("admin"))
        assert response.status_code == 413 and error_of(response)["code"] == "too_many_items"
        big = {"items": [{"data": {"text": "x" * 1500}}]}
        response = client.post(url, json=big, headers=keys.auth("admin"))
        assert response.status_code == 413 and error_of(response)["code"] == "item_too_large"
        assert error_of(response)["message"].startswith("items.0.data")
        huge = {"items": [{"data": {"text": "x" * 5000}}]}
        response = client.post(url, json=huge, headers=keys.auth("admin"))
        assert response.status_code == 413 and error_of(response)["code"] == "payload_too_large"
        # Streamed without a length: the limit still holds.
        response = client.post(
            url,
            content=iter([b'{"items": [{"data": {"text": "', b"y" * 3000, b'"}}]}']),
            headers={**keys.auth("admin"), "content-type": "application/json"},
        )
        assert response.status_code == 413
        # The same on an endpoint whose body FastAPI parses itself.
        response = client.post(
            "/v1/projects",
            content=iter([b'{"name": "', b"n" * 3000, b'"}']),
            headers={**keys.auth("admin"), "content-type": "application/json"},
        )
        assert response.status_code == 413
        assert error_of(response)["code"] == "payload_too_large"


def test_pages_and_cursor(client: TestClient, keys: Keys, project: dict[str, Any]) -> None:
    auth = keys.auth("submitter")
    items = [{"external_id": f"p{i}", "data": {"text": f"t{i}"}} for i in range(5)]
    batch = client.post(
        f"/v1/projects/{project['id']}/batches", json={"items": items}, headers=auth
    ).json()
    seen, cursor = [], None
    while True:
        params = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        page = client.get(f"/v1/batches/{batch['id']}/items", params=params, headers=auth).json()
        seen += [i["external_id"] for i in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [f"p{i}" for i in range(5)]
    too_big = client.get(f"/v1/batches/{batch['id']}/items", params={"limit": 5000}, headers=auth)
    assert too_big.status_code == 422 and error_of(too_big)["message"].startswith("limit")


def test_health(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["checks"] == {"store": "ok", "redis": "ok"}
    # Metrics are for loopback clients or the operator's token; the test client is neither.
    assert client.get("/metrics").status_code == 403


def test_openapi_schema_has_no_dangling_references(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    text = json.dumps(schema)
    names = set(schema["components"]["schemas"])
    refs = {part.split('"')[0] for part in text.split('"#/components/schemas/')[1:]}
    assert refs and refs <= names
    assert "BatchCreate" in refs


CASCADE = {"model": {"name": "strong"}, "escalate_below": 0.9}


@pytest.mark.parametrize(
    "model",
    [
        {"name": "strong", "base_url": "http://169.254.169.254/v1"},
        {"name": "strong", "api_key_env": "AWS_SECRET_ACCESS_KEY"},
    ],
)
def test_a_cascade_model_passes_the_same_endpoint_checks(
    client: TestClient, keys: Keys, model: dict[str, Any]
) -> None:
    body = {**json.loads(json.dumps(PROJECT)), "cascade": {"model": model}}
    response = client.post("/v1/projects", json=body, headers=keys.auth("admin"))
    assert response.status_code == 422, response.text


def test_a_cascade_price_needs_an_admin_and_null_removes_the_cascade(
    client: TestClient, keys: Keys
) -> None:
    priced = {"model": {"name": "strong", "price": {"prompt": 1.0}}}
    body = {**json.loads(json.dumps(PROJECT)), "cascade": priced}
    assert client.post("/v1/projects", json=body, headers=keys.auth("submitter")).status_code == 403
    body["cascade"] = CASCADE
    created = client.post("/v1/projects", json=body, headers=keys.auth("submitter")).json()
    assert created["cascade"]["model"]["name"] == "strong"
    removed = client.patch(
        f"/v1/projects/{created['id']}", json={"cascade": None}, headers=keys.auth("admin")
    )
    assert removed.status_code == 200 and removed.json()["cascade"] is None
    assert removed.json()["version"] == 2
