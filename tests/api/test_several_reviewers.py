"""Several reviewers per item: agreement makes an item final, disagreement goes to an
adjudicator, and nobody decides the same item twice."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from tests.api.test_review import send_to_review
from tests.conftest import PROJECT, Keys

TWO_REVIEWERS = {**PROJECT, "review": {"reviewers_per_item": 2}}


@pytest.fixture
def two_reviewer_project(client: TestClient, keys: Keys) -> dict[str, Any]:
    response = client.post("/v1/projects", json=TWO_REVIEWERS, headers=keys.auth("admin"))
    assert response.status_code == 201, response.text
    assert response.json()["review"] == {"reviewers_per_item": 2, "agreement": None}
    return response.json()


def claim(client: TestClient, keys: Keys, who: str, project_id: int) -> Any:
    response = client.post(
        "/v1/review/claim", json={"project_id": project_id}, headers=keys.auth(who)
    )
    return None if response.status_code == 204 else response.json()


def decide(
    client: TestClient, keys: Keys, who: str, claimed: dict[str, Any], value: str
) -> dict[str, Any]:
    response = client.post(
        f"/v1/review/{claimed['item']['id']}",
        json={"claim_token": claimed["claim_token"], "decision": "correct", "value": value},
        headers=keys.auth(who),
    )
    assert response.status_code == 200, response.text
    return response.json()


def test_two_agreeing_reviewers_make_an_item_final(
    client: TestClient, keys: Keys, engine: Engine, two_reviewer_project: dict[str, Any]
) -> None:
    project_id = two_reviewer_project["id"]
    send_to_review(client, keys, engine, two_reviewer_project, 2)
    first = claim(client, keys, "reviewer", project_id)
    result = decide(client, keys, "reviewer", first, "negative")
    assert result == {"id": first["item"]["id"], "status": "review", "label": None, "final": False}

    # The same reviewer is never handed that item again; the other reviewer is.
    again = claim(client, keys, "reviewer", project_id)
    assert again["item"]["id"] != first["item"]["id"]
    other = claim(client, keys, "reviewer2", project_id)
    assert other["item"]["id"] == first["item"]["id"]
    final = decide(client, keys, "reviewer2", other, "negative")
    assert final["final"] is True and final["status"] == "reviewed"
    assert final["label"] == {"value": "negative", "source": "human", "labeled_by": "rita, rob"}


def test_disagreement_goes_to_an_adjudicator(
    client: TestClient, keys: Keys, engine: Engine, two_reviewer_project: dict[str, Any]
) -> None:
    project_id = two_reviewer_project["id"]
    send_to_review(client, keys, engine, two_reviewer_project, 1)
    decide(client, keys, "reviewer", claim(client, keys, "reviewer", project_id), "negative")
    split = decide(
        client, keys, "reviewer2", claim(client, keys, "reviewer2", project_id), "positive"
    )
    assert split["final"] is False
    # Reviewers cannot take it; an adjudicator can, and sees why it is there.
    assert claim(client, keys, "reviewer", project_id) is None
    judged = claim(client, keys, "adjudicator", project_id)
    assert judged["item"]["reason"] == "disagreement"
    assert [(v["reviewer"], v["value"]) for v in judged["votes"]] == [
        ("rita", "negative"),
        ("rob", "positive"),
    ]
    final = decide(client, keys, "adjudicator", judged, "positive")
    assert final["final"] is True and final["label"]["labeled_by"] == "judy"
    assert claim(client, keys, "adjudicator", project_id) is None


def test_undo_of_a_decision_that_did_not_finish_the_item(
    client: TestClient, keys: Keys, engine: Engine, two_reviewer_project: dict[str, Any]
) -> None:
    project_id = two_reviewer_project["id"]
    send_to_review(client, keys, engine, two_reviewer_project, 1)
    mine = claim(client, keys, "reviewer", project_id)
    decide(client, keys, "reviewer", mine, "negative")
    undone = client.post(
        f"/v1/review/{mine['item']['id']}/undo",
        json={"claim_token": mine["claim_token"]},
        headers=keys.auth("reviewer"),
    )
    assert undone.status_code == 200, undone.text
    # Back with the same reviewer, who decides again; the other reviewer still has a turn.
    decide(client, keys, "reviewer", undone.json(), "positive")
    final = decide(
        client, keys, "reviewer2", claim(client, keys, "reviewer2", project_id), "positive"
    )
    assert final["final"] is True and final["label"]["value"] == "positive"


def test_agreement_cannot_exceed_reviewers(client: TestClient, keys: Keys) -> None:
    bad = {**PROJECT, "review": {"reviewers_per_item": 2, "agreement": 3}}
    response = client.post("/v1/projects", json=bad, headers=keys.auth("admin"))
    assert response.status_code == 422
    assert "agreement" in response.json()["error"]["message"]


def test_agreement_figures_in_the_quality_report(
    client: TestClient, keys: Keys, engine: Engine, two_reviewer_project: dict[str, Any]
) -> None:
    project_id = two_reviewer_project["id"]
    send_to_review(client, keys, engine, two_reviewer_project, 2)
    # Item 1: both say negative. Item 2: they split, and the adjudicator says positive.
    for who, values in (
        ("reviewer", ["negative", "negative"]),
        ("reviewer2", ["negative", "positive"]),
    ):
        for value in values:
            decide(client, keys, who, claim(client, keys, who, project_id), value)
    decide(client, keys, "adjudicator", claim(client, keys, "adjudicator", project_id), "positive")

    report = client.get(f"/v1/projects/{project_id}/quality", headers=keys.auth("admin")).json()
    reviewing = report["reviewing"]
    assert reviewing["items_with_several"] == 2 and reviewing["statistic"] == "cohen"
    # Observed agreement 1/2, chance agreement 1/2: no better than chance.
    assert reviewing["kappa"] == pytest.approx(0.0)
    assert set(reviewing["per_label"]) == {"positive", "negative"}
    stats = {r["reviewer"]: r for r in reviewing["reviewers"]}
    assert {name: s["decisions"] for name, s in stats.items()} == {"judy": 1, "rita": 2, "rob": 2}
    assert stats["rita"]["agreement_with_final"]["value"] == 0.5
    assert stats["rob"]["agreement_with_final"]["value"] == 1.0
    assert stats["judy"]["agreement_with_final"]["value"] == 1.0
    assert all(s["items_per_hour"] and s["items_per_hour"] > 0 for s in stats.values())
    page = client.get(f"/projects/{project_id}/quality", headers=keys.auth("admin")).text
    assert "Reviewers" in page and "rita" in page
