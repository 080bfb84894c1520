"""The quality report of a project of each task type, over HTTP: the type's own section as JSON
and on the page, and the classification-only sections left empty. Labels are written directly,
as a worker would, so no LLM is needed."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from labelwise.domain import ItemStatus
from labelwise.store.labeling import record_outcomes
from labelwise.store.models import Item
from tests.conftest import Keys, outcome, sign_in

TEXT = "Ada Lovelace met Bob at Acme Corp."
ORG = "<b>ORG</b>"  # an entity type is the client's text: the page shows it, never as markup


def span(start: int, end: int, label: str) -> dict[str, Any]:
    return {"start": start, "end": end, "label": label, "text": TEXT[start:end]}


def orders(first: str, second: str) -> list[dict[str, Any]]:
    return [
        {"order": ["a", "b"], "answer": first, "confidence": 0.9},
        {"order": ["b", "a"], "answer": second, "confidence": 0.8},
    ]


# Per type: the task, and items as (data, gold, the model's value, the model's parts).
CASES: dict[str, tuple[dict[str, Any], list[tuple[dict[str, Any], Any, Any, Any]]]] = {
    "spans": (
        {"type": "spans", "labels": ["PER", ORG]},
        [
            (
                {"text": TEXT},
                [span(0, 12, "PER"), span(24, 33, ORG)],
                [span(0, 12, "PER"), span(24, 28, ORG)],
                None,
            ),
            ({"text": TEXT}, [span(17, 20, "PER")], [span(17, 20, "PER")], None),
        ],
    ),
    "extraction": (
        {
            "type": "extraction",
            "schema": {
                "type": "object",
                "properties": {
                    "vendor": {"type": ["string", "null"], "description": "who billed"},
                    "total": {"type": ["number", "null"], "description": "amount due"},
                },
            },
        },
        [
            (
                {"text": "Acme: 10"},
                {"vendor": "Acme", "total": 10},
                {"vendor": "acme", "total": 10},
                None,
            ),
            (
                {"text": "Bolt: 7"},
                {"vendor": "Bolt", "total": 7},
                {"vendor": "Bolt", "total": 8},
                None,
            ),
        ],
    ),
    "rating": (
        {"type": "rating", "scale": {"min": 1, "max": 5}, "criteria": "How helpful?"},
        [({"text": "x"}, 5, 5, None), ({"text": "y"}, 3, 4, None), ({"text": "z"}, 1, 3, None)],
    ),
    "pairwise": (
        {"type": "pairwise"},
        [
            ({"a": "one", "b": "two"}, "a", "a", orders("a", "a")),
            ({"a": "three", "b": "four"}, "b", "a", orders("a", "b")),
        ],
    ),
}


def labeled_project(
    client: TestClient, keys: Keys, engine: Engine, task_type: str
) -> dict[str, Any]:
    task, cases = CASES[task_type]
    definition = {
        "name": task_type,
        "task": task,
        "model": {"name": "test-model"},
        "routing": {"accept_threshold": 0.8},
    }
    response = client.post("/v1/projects", json=definition, headers=keys.auth("admin"))
    assert response.status_code == 201, response.text
    project = response.json()
    items = [
        {"external_id": f"x{i}", "data": data, "ground_truth": gold}
        for i, (data, gold, _, _) in enumerate(cases)
    ]
    posted = client.post(
        f"/v1/projects/{project['id']}/batches", json={"items": items}, headers=keys.auth("admin")
    )
    assert posted.status_code == 202, posted.text
    batch = posted.json()["id"]
    with Session(engine) as session:
        ids = list(session.scalars(select(Item.id).where(Item.batch_id == batch).order_by(Item.id)))
    rows = [
        replace(outcome(item_id, batch, ItemStatus.ACCEPTED), value=value, parts=parts)
        for item_id, (_, _, value, parts) in zip(ids, cases, strict=True)
    ]
    with engine.begin() as connection:
        record_outcomes(connection, rows, now=0.0)
    return project


def report(client: TestClient, keys: Keys, project_id: int) -> dict[str, Any]:
    response = client.get(f"/v1/projects/{project_id}/quality", headers=keys.auth("admin"))
    assert response.status_code == 200, response.text
    return response.json()


def check_spans(measures: dict[str, Any]) -> None:
    rows = {row["label"]: row for row in measures["labels"]}
    assert rows["PER"]["exact_recall"]["value"] == 1.0 and rows["PER"]["gold"] == 2
    assert rows[ORG]["exact_precision"]["value"] == 0.0
    assert rows[ORG]["overlap_precision"]["value"] == 1.0
    assert rows["(all)"]["exact_precision"]["successes"] == 2
    assert rows["(all)"]["exact_precision"]["n"] == 3


def check_extraction(measures: dict[str, Any]) -> None:
    fields = {f["field"]: f["accuracy"] for f in measures["fields"]}
    assert fields["vendor"]["value"] == 1.0 and fields["total"]["value"] == 0.5
    assert measures["exact_match"]["successes"] == 1 and measures["exact_match"]["n"] == 2


def check_rating(measures: dict[str, Any]) -> None:
    assert measures["exact"]["successes"] == 1 and measures["within_one"]["successes"] == 2
    assert measures["mean_absolute_error"] == pytest.approx(1.0)
    assert measures["within_one"]["interval"][0] < 2 / 3 < measures["within_one"]["interval"][1]


def check_pairwise(measures: dict[str, Any]) -> None:
    assert measures["agreement"]["value"] == 0.5
    assert measures["order_changed"]["successes"] == 1 and measures["order_changed"]["n"] == 2


CHECKS = {
    "spans": (check_spans, "Spans per entity type"),
    "extraction": (check_extraction, "Extraction per field"),
    "rating": (check_rating, "Ratings against gold"),
    "pairwise": (check_pairwise, "Pairwise judgements"),
}


@pytest.mark.parametrize("task_type", sorted(CASES))
def test_report_of_each_task_type(
    client: TestClient, keys: Keys, engine: Engine, task_type: str
) -> None:
    project = labeled_project(client, keys, engine, task_type)
    body = report(client, keys, project["id"])
    check, heading = CHECKS[task_type]
    measures = body["task_measures"]
    assert body["task_type"] == task_type and measures["type"] == task_type
    check(measures)
    assert body["gold"]["items"] == len(CASES[task_type][1])
    assert body["confusion"] is None and body["per_label"] == []
    (version,) = body["versions"]
    assert version["task_measures"] == measures

    path = f"/projects/{project['id']}/quality"
    assert sign_in(client, keys.admin, path).status_code == 303
    page = client.get(path)
    assert page.status_code == 200
    assert heading in page.text and "<script" not in page.text
    assert "<b>ORG" not in page.text
    if task_type == "spans":
        assert "&lt;b&gt;ORG&lt;/b&gt;" in page.text
    assert "Per label" not in page.text and "Confusion matrix" not in page.text
