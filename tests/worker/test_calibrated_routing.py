"""A target_precision project routes by the threshold its gold supports, once there is enough."""

from __future__ import annotations

import pytest
import respx
from fastapi.testclient import TestClient

from labelwise.settings import Settings
from labelwise.worker import run_worker
from tests.conftest import Keys
from tests.worker.conftest import CALIBRATED_PROJECT, GOLD, items_of, post, statuses, unlabeled


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
    assert body["expected_precision"] == 1.0 and body["expected_coverage"] == pytest.approx(0.8)
    assert body["precision_interval"][0] >= 0.9 and body["gold"] == 50

    second = post(client, keys, project["id"], unlabeled("new"))
    run_worker(settings, burst=True)
    assert statuses(items_of(client, keys, second)) == {
        "new-good": ("accepted", None),
        "new-meh": ("review", "low_confidence"),
    }
