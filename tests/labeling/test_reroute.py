"""Re-routing when a threshold moves: both ways, only model decisions, never a claimed item."""

from __future__ import annotations

from typing import Any

import pytest
import respx
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from labelwise.labeling.worker import run_worker
from labelwise.scoring.calibration import Calibration
from labelwise.settings import Settings
from labelwise.spec import RoutingSpec
from labelwise.store.reroute import reroute
from tests.conftest import Keys
from tests.labeling.conftest import CALIBRATED_PROJECT, GOLD, items_of, post


def at(threshold: float) -> Calibration:
    return Calibration(threshold, None, None, None, gold=50)


@pytest.fixture
def labeled(
    client: TestClient, keys: Keys, settings: Settings, scored_llm: respx.MockRouter
) -> dict[str, Any]:
    """50 gold items routed at the calibrated 0.85: `good` (0.85) accepted, `meh` (0.6) not."""
    project = client.post("/v1/projects", json=CALIBRATED_PROJECT, headers=keys.auth("admin"))
    batch = post(client, keys, project.json()["id"], GOLD)
    run_worker(settings, burst=True)
    return {"project_id": project.json()["id"], "batch": batch}


def states(client: TestClient, keys: Keys, batch: int) -> dict[str, int]:
    counts: dict[str, int] = {}
    for item in items_of(client, keys, batch):
        key = f"{item['status']}:{item['reason']}"
        counts[key] = counts.get(key, 0) + 1
    return counts


@pytest.mark.parametrize("narrowed", [True, False])
def test_a_threshold_moving_down_then_up(
    client: TestClient, keys: Keys, engine: Engine, labeled: dict[str, Any], narrowed: bool
) -> None:
    routing = RoutingSpec(target_precision=0.9)
    assert states(client, keys, labeled["batch"]) == {
        "accepted:None": 40,
        "review:low_confidence": 10,
    }
    # A reviewer holds one of the low-confidence items: it must stay theirs.
    claim = client.post(
        "/v1/review/claim",
        json={"project_id": labeled["project_id"]},
        headers=keys.auth("reviewer"),
    ).json()

    def move(old: float, new: float) -> int:
        with engine.begin() as connection:
            return reroute(
                connection,
                project_id=labeled["project_id"],
                version=1,
                routing=routing,
                calibration=at(new),
                between=(old, new) if narrowed else None,
            )

    assert move(0.85, 0.5) == 9
    assert states(client, keys, labeled["batch"]) == {
        "accepted:None": 49,
        "review:low_confidence": 1,
    }
    accepted = [i for i in items_of(client, keys, labeled["batch"]) if i["status"] == "accepted"]
    assert all(
        i["label"]["source"] == "model" and i["label"]["value"] == "positive" for i in accepted
    )

    assert move(0.5, 0.95) == 49
    assert states(client, keys, labeled["batch"]) == {"review:low_confidence": 50}
    claimed = next(
        i for i in items_of(client, keys, labeled["batch"]) if i["id"] == claim["item"]["id"]
    )
    assert claimed["status"] == "review" and claimed["label"] is None
    # Nothing moves twice.
    assert move(0.95, 0.95) == 0
