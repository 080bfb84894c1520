"""`GET /v1/projects/{id}/calibration` says with what probability the threshold holds and, while
none is certified, why and how much gold would certify which coverage."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from labelwise.domain import Calibration
from labelwise.scoring.calibration import choose_threshold
from labelwise.store.calibrations import store_calibration
from tests.conftest import PROJECT, Keys


def create(client: TestClient, keys: Keys, routing: dict[str, Any]) -> int:
    response = client.post(
        "/v1/projects", json={**PROJECT, "routing": routing}, headers=keys.auth("admin")
    )
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


def calibration_of(client: TestClient, keys: Keys, project_id: int) -> dict[str, Any]:
    response = client.get(f"/v1/projects/{project_id}/calibration", headers=keys.auth("reviewer"))
    assert response.status_code == 200, response.text
    return dict(response.json())


def store(engine: Engine, project_id: int, calibration: Calibration) -> None:
    with engine.begin() as connection:
        store_calibration(connection, project_id=project_id, version=1, calibration=calibration)


def test_before_any_gold_the_target_s_guarantee_and_no_advice(
    client: TestClient, keys: Keys
) -> None:
    project_id = create(client, keys, {"target_precision": 0.9, "guarantee": 0.9})
    body = calibration_of(client, keys, project_id)
    assert body["threshold"] is None and body["reason"] == "no gold scored by this version yet"
    assert body["guarantee"] == 0.9 and body["advice"] == []


def test_without_a_certified_threshold_the_reason_and_how_much_gold_would_do(
    client: TestClient, keys: Keys, engine: Engine
) -> None:
    project_id = create(client, keys, {"target_precision": 0.9})
    # 24 gold items, 22 right: certifying 0.9 with probability 0.95 needs at least 29.
    scored = [(0.95, True)] * 12 + [(0.85, True)] * 10 + [(0.6, False)] * 2
    calibration = choose_threshold(scored, 0.9, guarantee=0.95)
    assert calibration.threshold is None and calibration.advice
    store(engine, project_id, calibration)

    body = calibration_of(client, keys, project_id)
    assert body["threshold"] is None
    assert body["reason"] == calibration.reason and "0.9" in body["reason"]
    assert body["guarantee"] == 0.95
    assert body["advice"] == [{"coverage": a.coverage, "gold": a.gold} for a in calibration.advice]
    # More coverage never needs less gold, and every row asks for more than there is.
    golds = [row["gold"] for row in body["advice"]]
    assert golds == sorted(golds) and golds[0] > 0
    coverages = [row["coverage"] for row in body["advice"]]
    assert coverages == sorted(coverages) and all(0 < c <= 1 for c in coverages)


def test_a_certified_threshold_gives_its_guarantee_and_no_advice(
    client: TestClient, keys: Keys, engine: Engine
) -> None:
    project_id = create(client, keys, {"target_precision": 0.9, "guarantee": 0.9})
    scored = [(0.95, True)] * 200 + [(0.6, False)] * 20
    calibration = choose_threshold(scored, 0.9, guarantee=0.9)
    assert calibration.threshold is not None
    store(engine, project_id, calibration)

    body = calibration_of(client, keys, project_id)
    assert body["threshold"] == pytest.approx(calibration.threshold)
    assert body["calibrated"] is True and body["guarantee"] == 0.9 and body["advice"] == []


def test_a_fixed_threshold_promises_nothing(client: TestClient, keys: Keys) -> None:
    body = calibration_of(client, keys, create(client, keys, {"accept_threshold": 0.8}))
    assert body["threshold"] == 0.8 and body["guarantee"] is None and body["advice"] == []


def test_a_dataset_error_target_is_certified_per_batch(client: TestClient, keys: Keys) -> None:
    project_id = create(client, keys, {"target_error": 0.05, "guarantee": 0.99})
    body = calibration_of(client, keys, project_id)
    assert body["threshold"] is None and "per batch" in body["reason"]
    assert body["guarantee"] == 0.99 and body["advice"] == []
