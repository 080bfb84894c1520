"""The review queue over HTTP: claim, accept, correct, stale tokens, and what is left."""

from __future__ import annotations

import time
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from labelwise.api.routers.review import validated_value
from labelwise.domain import ItemStatus
from labelwise.errors import ValidationFailedError
from labelwise.spec import TaskSpec
from labelwise.store.labeling import record_outcomes
from labelwise.store.models import Item, ReviewDecision
from labelwise.tasks import TASK_TYPES
from tests.conftest import Keys, outcome


def send_to_review(
    client: TestClient, keys: Keys, engine: Engine, project: dict[str, Any], n: int
) -> int:
    items = [{"external_id": f"x{i}", "data": {"text": f"text {i}"}} for i in range(n)]
    batch = client.post(
        f"/v1/projects/{project['id']}/batches",
        json={"items": items},
        headers=keys.auth("submitter"),
    ).json()
    with Session(engine) as session:
        ids = session.scalars(select(Item.id).where(Item.batch_id == batch["id"])).all()
    rows = [outcome(i, batch["id"], ItemStatus.REVIEW, confidence=0.55) for i in ids]
    with engine.begin() as connection:
        record_outcomes(connection, rows, now=0.0)
    return batch["id"]


def claim(client: TestClient, keys: Keys, who: str, project_id: int) -> Any:
    return client.post("/v1/review/claim", json={"project_id": project_id}, headers=keys.auth(who))


def test_review_flow(
    client: TestClient, keys: Keys, engine: Engine, project: dict[str, Any]
) -> None:
    batch_id = send_to_review(client, keys, engine, project, 3)
    first = claim(client, keys, "reviewer", project["id"])
    assert first.status_code == 200
    body = first.json()
    assert body["item"]["status"] == "review" and body["item"]["reason"] == "low_confidence"
    assert body["prediction"]["value"] == "positive" and body["prediction"]["confidence"] == 0.55
    assert body["remaining"] == 2
    second = claim(client, keys, "reviewer2", project["id"]).json()
    assert second["item"]["id"] != body["item"]["id"]

    # Rob cannot submit with Rita's token; Rita can.
    stolen = client.post(
        f"/v1/review/{body['item']['id']}",
        json={"claim_token": body["claim_token"], "decision": "accept"},
        headers=keys.auth("reviewer2"),
    )
    assert stolen.status_code == 409 and stolen.json()["error"]["code"] == "stale_claim"
    accepted = client.post(
        f"/v1/review/{body['item']['id']}",
        json={"claim_token": body["claim_token"], "decision": "accept"},
        headers=keys.auth("reviewer"),
    )
    assert accepted.status_code == 200
    assert accepted.json()["label"] == {
        "value": "positive",
        "source": "human",
        "labeled_by": "rita",
    }
    replay = client.post(
        f"/v1/review/{body['item']['id']}",
        json={"claim_token": body["claim_token"], "decision": "correct", "value": "negative"},
        headers=keys.auth("reviewer"),
    )
    assert replay.status_code == 409

    bad = client.post(
        f"/v1/review/{second['item']['id']}",
        json={"claim_token": second["claim_token"], "decision": "correct", "value": "meh"},
        headers=keys.auth("reviewer2"),
    )
    assert bad.status_code == 422 and bad.json()["error"]["message"].startswith("value")
    corrected = client.post(
        f"/v1/review/{second['item']['id']}",
        json={"claim_token": second["claim_token"], "decision": "correct", "value": "negative"},
        headers=keys.auth("reviewer2"),
    )
    assert corrected.status_code == 200

    third = claim(client, keys, "reviewer", project["id"]).json()
    released = client.post(
        f"/v1/review/{third['item']['id']}/release",
        json={"claim_token": third["claim_token"]},
        headers=keys.auth("reviewer"),
    )
    assert released.status_code == 204
    again = claim(client, keys, "reviewer2", project["id"]).json()
    assert again["item"]["id"] == third["item"]["id"]
    unlabelable = client.post(
        f"/v1/review/{again['item']['id']}",
        json={"claim_token": again["claim_token"], "decision": "unlabelable"},
        headers=keys.auth("reviewer2"),
    )
    assert unlabelable.status_code == 200
    assert claim(client, keys, "reviewer", project["id"]).status_code == 204

    summary = client.get(f"/v1/batches/{batch_id}", headers=keys.auth("submitter")).json()
    assert summary["status"] == "completed"
    assert (summary["counts"]["reviewed"], summary["counts"]["failed"]) == (2, 1)
    exported = client.get(f"/v1/batches/{batch_id}/export", headers=keys.auth("submitter"))
    lines = [line for line in exported.text.splitlines() if line]
    assert len(lines) == 3
    csv_export = client.get(
        f"/v1/batches/{batch_id}/export", params={"format": "csv"}, headers=keys.auth("submitter")
    )
    rows = csv_export.text.strip().splitlines()
    assert rows[0].startswith("id,external_id,text,status,label") and len(rows) == 4


def test_submitter_cannot_review(client: TestClient, keys: Keys, project: dict[str, Any]) -> None:
    assert claim(client, keys, "submitter", project["id"]).status_code == 403


@pytest.mark.parametrize(
    ("multi_label", "value", "accepted"),
    [
        (False, "positive", "positive"),
        (False, "meh", None),
        (False, ["positive"], None),
        (True, ["negative", "positive", "negative"], ["negative", "positive"]),
        (True, [], []),
        (True, ["meh"], None),
        # One label name is a one-label list, as for gold.
        (True, "positive", ["positive"]),
    ],
)
def test_corrections_must_be_labels_of_the_project(
    multi_label: bool, value: Any, accepted: Any
) -> None:
    task = TaskSpec(labels=["positive", "negative"], multi_label=multi_label)
    if accepted is None:
        with pytest.raises(ValidationFailedError, match=r"^value"):
            validated_value(task, value)
    else:
        assert validated_value(task, value) == accepted


SPAN_DATA = {"text": "Ana \U0001f44b Bo"}  # the wave is one code point, two UTF-16 units


def _span(start: int, end: int, text: str) -> list[dict[str, Any]]:
    return [{"start": start, "end": end, "label": "PER", "text": text}]


@pytest.mark.parametrize("registered", [True, False])
@pytest.mark.parametrize(
    ("value", "accepted"),
    [
        (_span(6, 8, "Bo"), _span(6, 8, "Bo")),
        (_span(7, 9, "Bo"), None),  # UTF-16 offsets: past the end of the text
        (_span(0, 3, "Bob"), None),  # the text is not the text at its offsets
        # Stored sorted by position, whatever order they were sent in.
        (_span(6, 8, "Bo") + _span(0, 3, "Ana"), _span(0, 3, "Ana") + _span(6, 8, "Bo")),
        ([{"start": 0, "end": 3, "label": "ORG", "text": "Ana"}], None),
    ],
)
def test_span_corrections_must_point_into_the_items_text(
    value: Any, accepted: Any, registered: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Checked against the item's data, by the task type or, for a type this deployment cannot
    label, by the definition's own rules."""
    if not registered:
        monkeypatch.delitem(TASK_TYPES, "spans", raising=False)
    task = TaskSpec(type="spans", labels=["PER"])
    if accepted is None:
        with pytest.raises(ValidationFailedError, match=r"^value"):
            validated_value(task, value, SPAN_DATA)
    else:
        assert validated_value(task, value, SPAN_DATA) == accepted


def test_undo_renew_and_a_shorter_lease(
    client: TestClient, keys: Keys, engine: Engine, project: dict[str, Any]
) -> None:
    send_to_review(client, keys, engine, project, 2)
    claimed = client.post(
        "/v1/review/claim",
        json={"project_id": project["id"], "lease_seconds": 30},
        headers=keys.auth("reviewer"),
    ).json()
    item_id, token = claimed["item"]["id"], claimed["claim_token"]
    with Session(engine) as session:
        expires = session.get(Item, item_id).claim_expires_at
    assert expires - time.time() == pytest.approx(30, abs=5)

    renewed = client.post(
        f"/v1/review/{item_id}/renew",
        json={"claim_token": token, "lease_seconds": 60},
        headers=keys.auth("reviewer"),
    )
    assert renewed.status_code == 200, renewed.text
    with Session(engine) as session:
        assert session.get(Item, item_id).claim_expires_at - time.time() == pytest.approx(60, abs=5)

    decided = client.post(
        f"/v1/review/{item_id}",
        json={"claim_token": token, "decision": "correct", "value": "negative"},
        headers=keys.auth("reviewer"),
    )
    assert decided.status_code == 200
    # Someone else cannot take it back, nor can a renewal revive a finished claim.
    assert (
        client.post(
            f"/v1/review/{item_id}/undo",
            json={"claim_token": token},
            headers=keys.auth("reviewer2"),
        ).status_code
        == 409
    )
    undone = client.post(
        f"/v1/review/{item_id}/undo", json={"claim_token": token}, headers=keys.auth("reviewer")
    )
    assert undone.status_code == 200, undone.text
    body = undone.json()
    assert body["item"]["status"] == "review" and body["item"]["label"] is None
    assert body["claim_token"] == token
    # Nobody else can claim it meanwhile: it is still this reviewer's.
    other = client.post(
        "/v1/review/claim", json={"project_id": project["id"]}, headers=keys.auth("reviewer2")
    ).json()
    assert other["item"]["id"] != item_id
    again = client.post(
        f"/v1/review/{item_id}",
        json={"claim_token": token, "decision": "accept"},
        headers=keys.auth("reviewer"),
    )
    assert again.json()["label"]["value"] == "positive"

    # Once the claim has lapsed, the decision stands.
    with engine.begin() as connection:
        connection.execute(
            Item.__table__.update().where(Item.id == item_id).values(claim_expires_at=0.0)
        )
        connection.execute(
            ReviewDecision.__table__.update()
            .where(ReviewDecision.item_id == item_id)
            .values(undo_until=0.0)
        )
    late = client.post(
        f"/v1/review/{item_id}/undo", json={"claim_token": token}, headers=keys.auth("reviewer")
    )
    assert late.status_code == 409 and late.json()["error"]["code"] == "undo_expired"
    stale = client.post(
        f"/v1/review/{item_id}/renew", json={"claim_token": token}, headers=keys.auth("reviewer")
    )
    assert stale.status_code == 409
