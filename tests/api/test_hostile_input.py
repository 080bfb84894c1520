"""Input built to break the server, at every JSON entry point: each is refused with a 4xx that
says what and where, and nothing of it is stored."""

from __future__ import annotations

import importlib
import json
import pkgutil
from typing import Any

import pytest
from fastapi import APIRouter
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from labelwise.api import routers
from labelwise.api.guarded_route import GuardedRoute
from labelwise.store.models import Batch, Item, Project
from tests.conftest import PROJECT, Keys

DEEP = 100_000
TOO_BIG_ID = 2**64
NDJSON = "application/x-ndjson"


def error_of(response: Any) -> dict[str, str]:
    return response.json()["error"]


def counts(engine: Engine) -> tuple[int, int, int]:
    with Session(engine) as session:
        return tuple(  # type: ignore[return-value]
            session.scalar(select(func.count()).select_from(table)) or 0
            for table in (Project, Batch, Item)
        )


def post_raw(
    client: TestClient, url: str, body: str, keys: Keys, content_type: str = "application/json"
) -> Any:
    headers = {**keys.auth("admin"), "content-type": content_type}
    return client.post(url, content=body.encode(), headers=headers)


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


def assert_refused(response: Any, status: int, code: str, starts: str | tuple[str, ...]) -> None:
    assert response.status_code == status, response.text
    assert error_of(response)["code"] == code
    assert error_of(response)["message"].startswith(starts), error_of(response)["message"]


# --- Deep nesting -----------------------------------------------------------------------------


def test_a_deeply_nested_project_body_is_refused_before_it_is_parsed(
    client: TestClient, keys: Keys, engine: Engine
) -> None:
    body = '{"name": "deep", "task": ' + nested(DEEP) + "}"
    response = post_raw(client, "/v1/projects", body, keys)
    assert_refused(response, 422, "nesting_too_deep", "body: nested deeper than 32 levels")
    assert counts(engine) == (0, 0, 0)


def test_nesting_up_to_the_bound_is_parsed(client: TestClient, keys: Keys) -> None:
    # 32 levels in all: the body object and 31 below it reach validation, which names the field.
    body = '{"name": "deep", "task": ' + nested(31) + "}"
    response = post_raw(client, "/v1/projects", body, keys)
    assert_refused(response, 422, "validation_error", "task")
    one_more = '{"name": "deep", "task": ' + nested(32) + "}"
    assert error_of(post_raw(client, "/v1/projects", one_more, keys))["code"] == "nesting_too_deep"


def test_brackets_inside_strings_do_not_count(client: TestClient, keys: Keys) -> None:
    body = json.loads(json.dumps(PROJECT))
    body["task"]["guidelines"] = "[{" * 1000 + ' "quoted \\" [ ' + "]}" * 1000
    response = client.post("/v1/projects", json=body, headers=keys.auth("admin"))
    assert response.status_code == 201, response.text


@pytest.mark.parametrize("content_type", ["application/json", NDJSON])
def test_a_deeply_nested_batch_is_refused_and_nothing_is_stored(
    client: TestClient, keys: Keys, engine: Engine, project: dict[str, Any], content_type: str
) -> None:
    deep_item = '{"data": {"text": "x", "deep": ' + nested(DEEP) + "}}"
    if content_type == NDJSON:
        body, where = '{"data": {"text": "fine"}}\n' + deep_item, "line 2"
    else:
        body, where = '{"items": [{"data": {"text": "fine"}}, ' + deep_item + "]}", "body"
    response = post_raw(client, f"/v1/projects/{project['id']}/batches", body, keys, content_type)
    assert_refused(response, 422, "nesting_too_deep", f"{where}: nested deeper than 32")
    assert counts(engine) == (1, 0, 0)


def test_a_deeply_nested_sync_label_body_is_refused(
    client: TestClient, keys: Keys, engine: Engine, project: dict[str, Any]
) -> None:
    body = '{"items": [{"data": {"text": ' + nested(DEEP) + "}}]}"
    response = post_raw(client, f"/v1/projects/{project['id']}/label", body, keys)
    assert_refused(response, 422, "nesting_too_deep", "body: nested deeper than 32")
    assert counts(engine) == (1, 0, 0)


# --- NUL characters and lone surrogates ----------------------------------------------------------


@pytest.mark.parametrize(
    ("escape", "problem"),
    [("\\u0000", "contains a NUL character"), ("\\ud800", "contains a lone surrogate")],
)
def test_bad_characters_in_a_project_are_refused_naming_the_field(
    client: TestClient, keys: Keys, engine: Engine, escape: str, problem: str
) -> None:
    body = json.dumps(PROJECT).replace('"Is the review happy?"', f'"happy{escape}?"')
    response = post_raw(client, "/v1/projects", body, keys)
    assert_refused(response, 422, "invalid_text", f"task.guidelines: {problem}")
    assert counts(engine) == (0, 0, 0)


@pytest.mark.parametrize("content_type", ["application/json", NDJSON])
@pytest.mark.parametrize(
    ("escape", "problem"),
    [("\\u0000", "contains a NUL character"), ("\\udfff", "contains a lone surrogate")],
)
def test_bad_characters_in_a_batch_are_refused_and_nothing_is_stored(
    client: TestClient,
    keys: Keys,
    engine: Engine,
    project: dict[str, Any],
    content_type: str,
    escape: str,
    problem: str,
) -> None:
    items = ['{"data": {"text": "fine"}}', '{"data": {"text": "bad' + escape + '"}}']
    body = "\n".join(items) if content_type == NDJSON else '{"items": [' + ", ".join(items) + "]}"
    response = post_raw(client, f"/v1/projects/{project['id']}/batches", body, keys, content_type)
    assert_refused(response, 422, "invalid_text", f"items.1.data.text: {problem}")
    assert counts(engine) == (1, 0, 0)


def test_bad_characters_in_a_key_are_shown_escaped(
    client: TestClient, keys: Keys, engine: Engine, project: dict[str, Any]
) -> None:
    body = '{"items": [{"data": {"\\ud800": "x"}}]}'
    response = post_raw(client, f"/v1/projects/{project['id']}/label", body, keys)
    assert_refused(response, 422, "invalid_text", "items.0.data.\\ud800: contains a lone")
    assert counts(engine) == (1, 0, 0)


def test_surrogate_pairs_and_escaped_backslashes_are_fine(
    client: TestClient, keys: Keys, engine: Engine, project: dict[str, Any]
) -> None:
    body = '{"items": [{"data": {"text": "\\ud83d\\ude00 and \\\\u0000 as text"}}]}'
    response = post_raw(client, f"/v1/projects/{project['id']}/batches", body, keys)
    assert response.status_code == 202, response.text
    assert counts(engine) == (1, 1, 1)


def test_raw_surrogates_are_not_utf8(
    client: TestClient, keys: Keys, engine: Engine, project: dict[str, Any]
) -> None:
    body = b'{"items": [{"data": {"text": "\xed\xa0\x80"}}]}'
    response = client.post(
        f"/v1/projects/{project['id']}/batches",
        content=body,
        headers={**keys.auth("admin"), "content-type": "application/json"},
    )
    assert_refused(response, 422, "validation_error", "body: not UTF-8")
    assert counts(engine) == (1, 0, 0)


def test_a_nul_in_a_query_string_is_refused(
    client: TestClient, keys: Keys, project: dict[str, Any]
) -> None:
    response = client.get("/v1/batches/1/items?cursor=%00", headers=keys.auth("admin"))
    assert_refused(response, 422, "invalid_text", "cursor: contains a NUL character")


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity", "1e999"])
def test_numbers_json_cannot_hold_are_refused(
    client: TestClient, keys: Keys, engine: Engine, constant: str
) -> None:
    body = json.dumps(PROJECT)[:-1] + f', "spend_limit_usd": {constant}}}'
    response = post_raw(client, "/v1/projects", body, keys)
    assert_refused(response, 422, "validation_error", "body: not valid JSON")
    assert counts(engine) == (0, 0, 0)


# --- Ids beyond 64 bits ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        f"/v1/projects/{TOO_BIG_ID}",
        f"/v1/projects/{TOO_BIG_ID}/calibration",
        f"/v1/projects/{TOO_BIG_ID}/quality",
        f"/v1/batches/{TOO_BIG_ID}",
        f"/v1/batches/{TOO_BIG_ID}/items",
        f"/v1/batches/{TOO_BIG_ID}/export",
        f"/v1/projects/{2**63}",
        "/v1/projects/-1",
    ],
)
def test_ids_beyond_64_bits_in_a_path_are_refused(
    client: TestClient, keys: Keys, path: str
) -> None:
    response = client.get(path, headers=keys.auth("admin"))
    field = "path.project_id" if path.startswith("/v1/projects") else "path.batch_id"
    assert_refused(response, 422, "validation_error", field)


def test_the_largest_id_is_simply_not_found(client: TestClient, keys: Keys) -> None:
    response = client.get(f"/v1/projects/{2**63 - 1}", headers=keys.auth("admin"))
    assert response.status_code == 404


@pytest.mark.parametrize("action", ["", "/renew", "/release", "/undo"])
def test_ids_beyond_64_bits_in_review_paths_are_refused(
    client: TestClient, keys: Keys, action: str
) -> None:
    body = {"claim_token": "t", "decision": "accept"} if not action else {"claim_token": "t"}
    url = f"/v1/review/{TOO_BIG_ID}{action}"
    response = client.post(url, json=body, headers=keys.auth("admin"))
    assert_refused(response, 422, "validation_error", "path.item_id")


def test_an_id_beyond_64_bits_in_a_body_is_refused(client: TestClient, keys: Keys) -> None:
    response = client.post(
        "/v1/review/claim", json={"project_id": TOO_BIG_ID}, headers=keys.auth("admin")
    )
    assert_refused(response, 422, "validation_error", "project_id: Input should be less than")


@pytest.mark.parametrize("cursor", [str(TOO_BIG_ID), str(2**63), "-1", "1e3", "٣"])
def test_cursors_beyond_64_bits_are_refused(
    client: TestClient, keys: Keys, project: dict[str, Any], cursor: str
) -> None:
    batch = client.post(
        f"/v1/projects/{project['id']}/batches",
        json={"items": [{"data": {"text": "x"}}]},
        headers=keys.auth("admin"),
    ).json()
    response = client.get(
        f"/v1/batches/{batch['id']}/items", params={"cursor": cursor}, headers=keys.auth("admin")
    )
    assert_refused(response, 422, "validation_error", ("query.cursor", "cursor"))


def test_a_version_beyond_32_bits_is_refused(
    client: TestClient, keys: Keys, project: dict[str, Any]
) -> None:
    response = client.get(
        f"/v1/projects/{project['id']}/quality",
        params={"version": 2**31},
        headers=keys.auth("admin"),
    )
    assert_refused(response, 422, "validation_error", "query.version")


# --- ground_truth ---------------------------------------------------------------------------------


def post_items(
    client: TestClient, keys: Keys, project: dict[str, Any], items: list[Any], how: str
) -> Any:
    if how == "label":
        url = f"/v1/projects/{project['id']}/label"
        return client.post(url, json={"items": items}, headers=keys.auth("admin"))
    url = f"/v1/projects/{project['id']}/batches"
    if how == "ndjson":
        body = "\n".join(json.dumps(item) for item in items)
        return post_raw(client, url, body, keys, NDJSON)
    return client.post(url, json={"items": items}, headers=keys.auth("admin"))


@pytest.mark.parametrize("how", ["json", "ndjson", "label"])
@pytest.mark.parametrize(
    ("truth", "problem"),
    [
        ("neutral", "'neutral' is not one of the labels"),
        (["positive"], "must be one label name"),
        (3, "must be one label name"),
        ({"label": "positive"}, "must be one label name"),
    ],
)
def test_gold_outside_the_label_set_is_refused(
    client: TestClient,
    keys: Keys,
    engine: Engine,
    project: dict[str, Any],
    how: str,
    truth: Any,
    problem: str,
) -> None:
    items = [
        {"data": {"text": "fine"}, "ground_truth": "positive"},
        {"data": {"text": "odd"}, "ground_truth": truth},
    ]
    response = post_items(client, keys, project, items, how)
    assert_refused(response, 422, "validation_error", f"items.1.ground_truth: {problem}")
    assert counts(engine) == (1, 0, 0)


@pytest.mark.parametrize("how", ["json", "ndjson", "label"])
def test_oversized_gold_is_refused(
    client: TestClient, keys: Keys, engine: Engine, project: dict[str, Any], how: str
) -> None:
    items = [{"data": {"text": "fine"}, "ground_truth": "p" * 10_000_000}]
    response = post_items(client, keys, project, items, how)
    assert_refused(response, 413, "item_too_large", "items.0.ground_truth: 10000002 bytes")
    assert counts(engine) == (1, 0, 0)


def test_gold_in_the_label_set_is_stored(
    client: TestClient, keys: Keys, engine: Engine, project: dict[str, Any]
) -> None:
    items = [{"data": {"text": "fine"}, "ground_truth": "negative"}, {"data": {"text": "no"}}]
    assert post_items(client, keys, project, items, "json").status_code == 202
    with Session(engine) as session:
        stored = session.execute(select(Item.ground_truth, Item.gold).order_by(Item.id)).all()
    assert [tuple(row) for row in stored] == [("negative", True), (None, False)]


def test_multi_label_gold_is_a_list_of_labels(
    client: TestClient, keys: Keys, engine: Engine
) -> None:
    spec = json.loads(json.dumps(PROJECT))
    spec["task"].update(labels=["a", "b", "c"], multi_label=True)
    project = client.post("/v1/projects", json=spec, headers=keys.auth("admin")).json()
    unknown = [{"data": {"t": 1}, "ground_truth": ["a", "z"]}]
    wrong = post_items(client, keys, project, unknown, "json")
    assert_refused(wrong, 422, "validation_error", "items.0.ground_truth: 'z' is not one")
    number = [{"data": {"t": 1}, "ground_truth": 5}]
    not_a_list = post_items(client, keys, project, number, "json")
    assert_refused(not_a_list, 422, "validation_error", "items.0.ground_truth: a multi-label")
    items = [
        {"data": {"t": 1}, "ground_truth": ["c", "a", "c"]},
        {"data": {"t": 2}, "ground_truth": "b"},
        {"data": {"t": 3}, "ground_truth": []},
    ]
    assert post_items(client, keys, project, items, "json").status_code == 202
    with Session(engine) as session:
        stored = session.scalars(select(Item.ground_truth).order_by(Item.id)).all()
    assert stored == [["a", "c"], ["b"], []]


# --- The guard is on every route ------------------------------------------------------------------


def test_every_route_parses_json_through_the_guard() -> None:
    routes = [
        route
        for module in pkgutil.iter_modules(routers.__path__)
        for route in getattr(
            importlib.import_module(f"{routers.__name__}.{module.name}"), "router", APIRouter()
        ).routes
        if isinstance(route, APIRoute)
    ]
    assert len(routes) > 20
    unguarded = [route.path for route in routes if not isinstance(route, GuardedRoute)]
    assert not unguarded, f"routers without route_class=GuardedRoute: {unguarded}"
