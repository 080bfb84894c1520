"""A target_precision project routes by the threshold its gold supports, once there is enough."""

from __future__ import annotations

import pytest
import respx
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from labelwise.labeling.queue import Delivery, connect
from labelwise.labeling.reconciler import reconcile_once
from labelwise.labeling.worker import run_worker
from labelwise.settings import Settings
from tests.conftest import Keys
from tests.labeling.conftest import CALIBRATED_PROJECT, GOLD, items_of, post, statuses, unlabeled


def test_gold_turns_the_target_into_a_calibrated_threshold(
    client: TestClient, keys: Keys, settings: Settings, scored_llm: respx.MockRouter
) -> None:
    project = client.post(
        "/v1/projects", json=CALIBRATED_PROJECT, headers=keys.auth("admin")
    ).json()
    calibration = client.get(
        f"/v1/projects/{project['id']}/calibration", headers=keys.auth("admin")
    )
    assert calibration.json()["calibrated"] is False
    assert calibration.json()["threshold"] is None
    assert calibration.json()["reason"] == "no gold scored by this version yet"

    # Labeled before any gold: nothing is accepted on the model's word alone.
    early = post(client, keys, project["id"], unlabeled("early"))
    run_worker(settings, burst=True)
    assert set(statuses(items_of(client, keys, early)).values()) == {("review", "uncalibrated")}

    first = post(client, keys, project["id"], GOLD)
    run_worker(settings, burst=True)
    # Gold is routed by the threshold it produced, like everything else of its version.
    assert set(statuses(items_of(client, keys, first)).values()) == {
        ("accepted", None),
        ("review", "low_confidence"),
    }
    # ...and the items labeled before it were routed again.
    assert statuses(items_of(client, keys, early)) == {
        "early-good": ("accepted", None),
        "early-meh": ("review", "low_confidence"),
    }

    body = client.get(
        f"/v1/projects/{project['id']}/calibration", headers=keys.auth("admin")
    ).json()
    assert body["calibrated"] is True and body["threshold"] == pytest.approx(0.85)
    # Coverage is measured on every item the version labeled, truth unseen: 40 good gold items
    # and early-good of 52.
    assert body["expected_precision"] == 1.0
    assert body["expected_coverage"] == pytest.approx(41 / 52)
    assert body["guarantee"] == 0.95
    assert body["precision_interval"][0] >= 0.9 and body["gold"] == 50

    second = post(client, keys, project["id"], unlabeled("new"))
    run_worker(settings, burst=True)
    assert statuses(items_of(client, keys, second)) == {
        "new-good": ("accepted", None),
        "new-meh": ("review", "low_confidence"),
    }


def test_reviewed_items_become_gold_and_the_reconciler_recalibrates(
    client: TestClient, keys: Keys, settings: Settings, engine: Engine, scored_llm: respx.MockRouter
) -> None:
    project = client.post("/v1/projects", json=CALIBRATED_PROJECT, headers=keys.auth("admin"))
    project_id = project.json()["id"]
    items = [{"external_id": f"g{i}", "data": {"text": "good"}} for i in range(72)] + [
        {"external_id": f"m{i}", "data": {"text": "meh"}} for i in range(18)
    ]
    batch = post(client, keys, project_id, items)
    run_worker(settings, burst=True)
    assert set(statuses(items_of(client, keys, batch)).values()) == {("review", "uncalibrated")}

    # Reviewers settle 60 items (keeping "positive" for good ones, correcting meh ones). While
    # nothing can be accepted the queue serves items in a random order, so the reviewed ones are
    # a random sample of the batch, good and meh alike.
    reviewed = {"good": 0, "meh": 0}
    for _ in range(60):
        claim = client.post(
            "/v1/review/claim", json={"project_id": project_id}, headers=keys.auth("reviewer")
        ).json()
        meh = claim["item"]["data"]["text"] == "meh"
        reviewed["meh" if meh else "good"] += 1
        decision = {"decision": "correct", "value": "negative"} if meh else {"decision": "accept"}
        client.post(
            f"/v1/review/{claim['item']['id']}",
            json={"claim_token": claim["claim_token"], **decision},
            headers=keys.auth("reviewer"),
        )
    assert reviewed["meh"] > 0 and reviewed["good"] > 40
    before = client.get(f"/v1/projects/{project_id}/calibration", headers=keys.auth("admin"))
    assert before.json()["calibrated"] is False  # decisions only mark the version stale

    report = reconcile_once(
        settings, engine, Delivery(connect(settings.redis_url), settings.queue_name)
    )
    assert report.recalibrated == 1
    after = client.get(f"/v1/projects/{project_id}/calibration", headers=keys.auth("admin")).json()
    assert after["calibrated"] is True and after["gold"] == 60
    # Above 0.85 every reviewed label was right; above 0.6 a fifth were wrong.
    assert after["threshold"] == pytest.approx(0.85)
    # The 30 items nobody reviewed were routed again by the new threshold.
    left = [i for i in items_of(client, keys, batch) if i["status"] != "reviewed"]
    assert len(left) == 30
    for item in left:
        expected = (
            ("accepted", None) if item["data"]["text"] == "good" else ("review", "low_confidence")
        )
        assert (item["status"], item["reason"]) == expected
    assert (
        reconcile_once(
            settings, engine, Delivery(connect(settings.redis_url), settings.queue_name)
        ).recalibrated
        == 0
    )
