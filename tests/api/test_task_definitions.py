"""Defining projects of every task type over HTTP: what is refused, with a 422 naming the field,
and gold of each type checked against the task and the item it belongs to."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.conftest import Keys

MODEL = {"name": "test-model"}
SPANS = {"type": "spans", "labels": ["PER", "LOC"]}
RATING = {"type": "rating", "scale": {"min": 1, "max": 5}}


@pytest.mark.parametrize(
    ("task", "field"),
    [
        ({"type": "extraction", "schema": {"type": "object", "properties": {}}}, "task.schema"),
        (
            {"type": "extraction", "schema": {"properties": {"x": {"type": "object"}}}},
            "task.schema",
        ),
        ({"type": "rating", "scale": {"min": 5, "max": 5}}, "task.scale"),
        ({"type": "rating"}, "task.scale"),
        ({"type": "spans", "labels": []}, "task.labels"),
        ({"type": "pairwise", "fields": ["a", "a"]}, "task.fields"),
        (
            {"type": "classification", "labels": ["x", "y"], "scale": {"min": 1, "max": 3}},
            "task.scale",
        ),
        ({**RATING, "examples": [{"data": {"text": "t"}, "label": 9}]}, "task.examples"),
        (
            {
                **SPANS,
                "examples": [
                    {
                        "data": {"text": "Ann"},
                        "label": [{"start": 0, "end": 2, "label": "PER", "text": "Ann"}],
                    }
                ],
            },
            "task.examples",
        ),
    ],
)
def test_a_bad_definition_is_refused_naming_the_field(
    client: TestClient, keys: Keys, task: dict[str, Any], field: str
) -> None:
    response = client.post(
        "/v1/projects", json={"name": "p", "task": task, "model": MODEL}, headers=keys.auth("admin")
    )
    assert response.status_code == 422, response.text
    assert response.json()["error"]["message"].startswith(field), response.text


@pytest.mark.parametrize(
    ("project", "extra"),
    [
        ({"type": "pairwise"}, {"items_per_request": 2}),
        ({"type": "rating", "scale": {"min": 1, "max": 3}}, {"consensus": {"samples": 2}}),
    ],
)
def test_combinations_that_make_no_sense_are_refused(
    client: TestClient, keys: Keys, project: dict[str, Any], extra: dict[str, Any]
) -> None:
    body = {"name": "p", "task": project, "model": MODEL, **extra}
    response = client.post("/v1/projects", json=body, headers=keys.auth("admin"))
    assert response.status_code == 422, response.text


@pytest.mark.parametrize(
    ("task", "data", "truth", "accepted"),
    [
        (
            SPANS,
            {"text": "Ann met Bo"},
            [{"start": 0, "end": 3, "label": "PER", "text": "Ann"}],
            True,
        ),
        (
            SPANS,
            {"text": "Ann met Bo"},
            [{"start": 0, "end": 3, "label": "ORG", "text": "Ann"}],
            False,
        ),
        (
            SPANS,
            {"text": "Ann met Bo"},
            [{"start": 0, "end": 3, "label": "PER", "text": "Bo"}],
            False,
        ),
        (SPANS, {"text": "Ann"}, [{"start": 0, "end": 9, "label": "PER", "text": "Ann"}], False),
        (RATING, {"text": "ok"}, 3, True),
        (RATING, {"text": "ok"}, 6, False),
        (RATING, {"text": "ok"}, True, False),
        ({"type": "pairwise"}, {"a": "x", "b": "y"}, "b", True),
        ({"type": "pairwise"}, {"a": "x", "b": "y"}, "tie", False),
    ],
)
def test_gold_is_checked_against_the_task_and_the_item(
    client: TestClient,
    keys: Keys,
    task: dict[str, Any],
    data: dict[str, Any],
    truth: Any,
    accepted: bool,
) -> None:
    created = client.post(
        "/v1/projects", json={"name": "p", "task": task, "model": MODEL}, headers=keys.auth("admin")
    )
    assert created.status_code == 201, created.text
    response = client.post(
        f"/v1/projects/{created.json()['id']}/batches",
        json={"items": [{"data": data, "ground_truth": truth}]},
        headers=keys.auth("admin"),
    )
    assert response.status_code == (202 if accepted else 422), response.text
    if not accepted:
        assert "ground_truth" in response.json()["error"]["message"]
