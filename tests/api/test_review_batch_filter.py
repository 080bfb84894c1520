"""Claiming over HTTP in review order, and keeping claims to one batch of the project."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session

from labelwise.domain import ItemStatus
from labelwise.store.labeling import record_outcomes
from labelwise.store.models import Item
from tests.conftest import PROJECT, Keys, outcome


def send_to_review(
    client: TestClient, keys: Keys, engine: Engine, project: dict[str, Any], n: int
) -> int:
    """A new batch of `n` items of the project, all waiting in review; returns its id."""
    items = [{"data": {"text": f"text {i}"}} for i in range(n)]
    batch = client.post(
        f"/v1/projects/{project['id']}/batches",
        json={"items": items},
        headers=keys.auth("submitter"),
    ).json()
    rows = [outcome(i, batch["id"], ItemStatus.REVIEW) for i in items_of(engine, batch["id"])]
    with engine.begin() as connection:
        record_outcomes(connection, rows, now=0.0)
    return batch["id"]


def claim(
    client: TestClient, keys: Keys, project_id: int, batch_id: Any = None, who: str = "reviewer"
) -> Any:
    body: dict[str, Any] = {"project_id": project_id}
    if batch_id is not None:
        body["batch_id"] = batch_id
    return client.post("/v1/review/claim", json=body, headers=keys.auth(who))


def items_of(engine: Engine, batch_id: int) -> list[int]:
    with Session(engine) as session:
        return list(
            session.scalars(select(Item.id).where(Item.batch_id == batch_id).order_by(Item.id))
        )


def rank(engine: Engine, ranks: dict[int, float | None]) -> None:
    with engine.begin() as connection:
        for item_id, value in ranks.items():
            connection.execute(update(Item).where(Item.id == item_id).values(review_rank=value))


def test_claims_keep_to_the_batch_asked_for_in_review_order(
    client: TestClient, keys: Keys, engine: Engine, project: dict[str, Any]
) -> None:
    first_batch = send_to_review(client, keys, engine, project, 3)
    second_batch = send_to_review(client, keys, engine, project, 3)
    first, second = items_of(engine, first_batch), items_of(engine, second_batch)
    # The first batch's unranked items would come last; its sample item first.
    rank(engine, {first[0]: None, first[1]: 0.3, first[2]: -1.0})
    rank(engine, {second[0]: 0.6, second[1]: -1.0, second[2]: 0.1})

    served, remaining = [], []
    while (response := claim(client, keys, project["id"], second_batch)).status_code == 200:
        served.append(response.json()["item"]["id"])
        remaining.append(response.json()["remaining"])
    assert response.status_code == 204
    assert served == [second[1], second[2], second[0]]
    assert remaining == [2, 1, 0]  # counted within the batch, not the project

    # Without the filter: the rest of the project, in review order.
    everything = [claim(client, keys, project["id"]).json() for _ in range(3)]
    assert [c["item"]["id"] for c in everything] == [first[2], first[1], first[0]]
    assert everything[0]["remaining"] == 2


def test_a_batch_of_another_project_or_team_is_not_found(
    client: TestClient, keys: Keys, engine: Engine, project: dict[str, Any]
) -> None:
    send_to_review(client, keys, engine, project, 1)
    sibling = client.post(
        "/v1/projects", json={**PROJECT, "name": "sibling"}, headers=keys.auth("submitter")
    ).json()
    sibling_batch = send_to_review(client, keys, engine, sibling, 1)
    foreign = client.post(
        "/v1/projects", json={**PROJECT, "name": "theirs"}, headers=keys.auth("other_team")
    ).json()
    foreign_batch = client.post(
        f"/v1/projects/{foreign['id']}/batches",
        json={"items": [{"data": {"text": "x"}}]},
        headers=keys.auth("other_team"),
    ).json()["id"]
    for batch_id in (sibling_batch, foreign_batch, foreign_batch + 1000):
        response = claim(client, keys, project["id"], batch_id)
        assert response.status_code == 404, response.text
        assert response.json()["error"]["code"] == "not_found"
        assert f"batch {batch_id}" in response.json()["error"]["message"]
    # The sibling's own reviewer gets its item through the same filter.
    assert claim(client, keys, sibling["id"], sibling_batch).status_code == 200
    # Nothing was claimed by the refused calls.
    with Session(engine) as session:
        held = session.scalars(select(Item.id).where(Item.claim_token.is_not(None))).all()
    assert held == items_of(engine, sibling_batch)


@pytest.mark.parametrize("batch_id", [0, -1, "one", 2**63, 1.5])
def test_a_batch_id_must_be_an_id(
    client: TestClient, keys: Keys, project: dict[str, Any], batch_id: Any
) -> None:
    response = claim(client, keys, project["id"], batch_id)
    assert response.status_code == 422, response.text
    assert "batch_id" in response.json()["error"]["message"]
