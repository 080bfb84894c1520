"""`GET /v1/batches/{id}/export?format=conll`: spans projects' labeled items as BIO lines."""

from __future__ import annotations

import dataclasses
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from labelwise.domain import ItemStatus
from labelwise.store.labeling import record_outcomes
from labelwise.store.models import Item
from labelwise.tasks.conll import HEADER
from tests.conftest import PROJECT, Keys, outcome

SPANS_PROJECT = {
    **PROJECT,
    "name": "people",
    "task": {"type": "spans", "labels": ["PER", "LOC"], "text_field": "body"},
}


def test_conll_export_of_a_spans_batch(client: TestClient, keys: Keys, engine: Engine) -> None:
    created = client.post("/v1/projects", json=SPANS_PROJECT, headers=keys.auth("submitter"))
    assert created.status_code == 201, created.text
    items = [
        {"external_id": "a", "data": {"body": "Ann went to Paris."}},
        {"external_id": "b", "data": {"body": "Nobody here"}},
        {"external_id": "c", "data": {"body": "Still waiting"}},
    ]
    batch = client.post(
        f"/v1/projects/{created.json()['id']}/batches",
        json={"items": items},
        headers=keys.auth("submitter"),
    ).json()
    with Session(engine) as session:
        ids = session.scalars(
            select(Item.id).where(Item.batch_id == batch["id"]).order_by(Item.id)
        ).all()
    values: list[Any] = [
        [
            {"start": 0, "end": 3, "label": "PER", "text": "Ann"},
            {"start": 12, "end": 17, "label": "LOC", "text": "Paris"},
        ],
        [],
    ]
    rows = [
        dataclasses.replace(outcome(item_id, batch["id"], ItemStatus.ACCEPTED), value=value)
        for item_id, value in zip(ids, values, strict=False)
    ]
    with engine.begin() as connection:
        record_outcomes(connection, rows, now=0.0)

    exported = client.get(
        f"/v1/batches/{batch['id']}/export",
        params={"format": "conll"},
        headers=keys.auth("submitter"),
    )
    assert exported.status_code == 200, exported.text
    assert exported.headers["content-type"].startswith("text/plain")
    assert exported.text == (
        f"{HEADER}\n"
        "# id = a\nAnn\tB-PER\nwent\tO\nto\tO\nParis\tB-LOC\n.\tO\n\n"
        "# id = b\nNobody\tO\nhere\tO\n\n"
    )


def test_conll_is_refused_for_other_task_types(
    client: TestClient, keys: Keys, project: dict[str, Any]
) -> None:
    batch = client.post(
        f"/v1/projects/{project['id']}/batches",
        json={"items": [{"data": {"text": "hi"}}]},
        headers=keys.auth("submitter"),
    ).json()
    refused = client.get(
        f"/v1/batches/{batch['id']}/export",
        params={"format": "conll"},
        headers=keys.auth("submitter"),
    )
    assert refused.status_code == 422
    assert "spans" in refused.json()["error"]["message"]
