"""Undo takes back only a decision nothing else rests on: another reviewer's final label, or a
decision made after yours, is never reverted."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from labelwise.store.models import Item, ReviewDecision
from tests.api.test_review import send_to_review
from tests.api.test_several_reviewers import claim, decide
from tests.conftest import PROJECT, Keys


def make_project(client: TestClient, keys: Keys, reviewers: int) -> dict[str, Any]:
    definition = {**PROJECT, "review": {"reviewers_per_item": reviewers, "agreement": reviewers}}
    response = client.post("/v1/projects", json=definition, headers=keys.auth("admin"))
    assert response.status_code == 201, response.text
    return response.json()


def undo(client: TestClient, keys: Keys, who: str, claimed: dict[str, Any]) -> Any:
    return client.post(
        f"/v1/review/{claimed['item']['id']}/undo",
        json={"claim_token": claimed["claim_token"]},
        headers=keys.auth(who),
    )


def item_state(engine: Engine, item_id: int) -> tuple[str, Any, int]:
    with engine.connect() as connection:
        status, value = connection.execute(
            select(Item.status, Item.label_value).where(Item.id == item_id)
        ).one()
        decisions = connection.execute(
            select(ReviewDecision.id).where(ReviewDecision.item_id == item_id)
        ).all()
    return status, value, len(decisions)


def item_reason(engine: Engine, item_id: int) -> str | None:
    with engine.connect() as connection:
        return connection.execute(select(Item.reason).where(Item.id == item_id)).scalar_one()


def two_reviewers_decide(
    client: TestClient, keys: Keys, engine: Engine, values: tuple[str, str]
) -> tuple[dict[str, Any], dict[str, Any], bool]:
    """Two reviewers decide one item of a two-reviewer project: both claims, and whether the
    second decision made the item final."""
    project = make_project(client, keys, 2)
    send_to_review(client, keys, engine, project, 1)
    first = claim(client, keys, "reviewer", project["id"])
    decide(client, keys, "reviewer", first, values[0])
    second = claim(client, keys, "reviewer2", project["id"])
    return first, second, decide(client, keys, "reviewer2", second, values[1])["final"]


def test_an_earlier_reviewer_cannot_undo_a_final_label_another_made(
    client: TestClient, keys: Keys, engine: Engine
) -> None:
    first, second, final = two_reviewers_decide(client, keys, engine, ("negative", "negative"))
    assert final is True

    refused = undo(client, keys, "reviewer", first)
    assert refused.status_code == 409, refused.text
    assert refused.json()["error"]["code"] == "undo_refused"
    item_id = first["item"]["id"]
    assert item_state(engine, item_id) == ("reviewed", "negative", 2)

    # The reviewer whose decision made it final may still take it back.
    taken_back = undo(client, keys, "reviewer2", second)
    assert taken_back.status_code == 200, taken_back.text
    assert item_state(engine, item_id) == ("review", None, 1)


def test_with_three_reviewers_only_the_latest_decision_can_be_undone(
    client: TestClient, keys: Keys, engine: Engine
) -> None:
    project = make_project(client, keys, 3)
    send_to_review(client, keys, engine, project, 1)
    first = claim(client, keys, "reviewer", project["id"])
    decide(client, keys, "reviewer", first, "positive")
    second = claim(client, keys, "reviewer2", project["id"])
    decide(client, keys, "reviewer2", second, "positive")
    item_id = first["item"]["id"]

    # Not final yet, but the second decision came after the first: the first stays.
    refused = undo(client, keys, "reviewer", first)
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "undo_refused"
    assert item_state(engine, item_id) == ("review", None, 2)

    third = claim(client, keys, "adjudicator", project["id"])
    assert decide(client, keys, "adjudicator", third, "positive")["final"] is True
    for who, claimed in (("reviewer", first), ("reviewer2", second)):
        late = undo(client, keys, who, claimed)
        assert late.status_code == 409 and late.json()["error"]["code"] == "undo_refused"
    assert item_state(engine, item_id) == ("reviewed", "positive", 3)
    assert undo(client, keys, "adjudicator", third).status_code == 200
    assert item_state(engine, item_id) == ("review", None, 2)


def test_accepting_a_label_the_current_version_no_longer_has_is_refused(
    client: TestClient, keys: Keys, engine: Engine
) -> None:
    project = make_project(client, keys, 1)
    send_to_review(client, keys, engine, project, 1)
    relabeled = {**PROJECT["task"], "labels": ["happy", "unhappy"]}
    changed = client.patch(
        f"/v1/projects/{project['id']}", json={"task": relabeled}, headers=keys.auth("admin")
    )
    assert changed.status_code == 200, changed.text
    claimed = claim(client, keys, "reviewer", project["id"])
    response = client.post(
        f"/v1/review/{claimed['item']['id']}",
        json={"claim_token": claimed["claim_token"], "decision": "accept"},
        headers=keys.auth("reviewer"),
    )
    assert response.status_code == 422, response.text
    assert "current version" in response.json()["error"]["message"]
    corrected = decide(client, keys, "reviewer", claimed, "happy")
    assert corrected["final"] is True and corrected["label"]["value"] == "happy"


def test_undoing_the_decision_that_split_the_reviewers_takes_the_split_back(
    client: TestClient, keys: Keys, engine: Engine
) -> None:
    first, second, final = two_reviewers_decide(client, keys, engine, ("negative", "positive"))
    assert final is False
    assert item_reason(engine, first["item"]["id"]) == "disagreement"

    assert undo(client, keys, "reviewer2", second).status_code == 200
    assert item_reason(engine, first["item"]["id"]) == "low_confidence"
    # The second reviewer decides again and agrees: final, with no adjudicator.
    again = client.post(
        f"/v1/review/{second['item']['id']}",
        json={"claim_token": second["claim_token"], "decision": "correct", "value": "negative"},
        headers=keys.auth("reviewer2"),
    )
    assert again.status_code == 200 and again.json()["final"] is True
