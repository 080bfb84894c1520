"""Re-routing when a threshold moves: both ways, only model decisions, never a claimed item, a
page at a time; and recalibrating on a version's most recent gold only."""

from __future__ import annotations

from typing import Any

import pytest
import respx
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select, update

from labelwise.domain import Calibration, RoutedItem
from labelwise.labeling import rerouting
from labelwise.labeling.recalibration import refresh_calibration
from labelwise.labeling.rerouting import reroute
from labelwise.labeling.worker import run_worker
from labelwise.settings import Settings
from labelwise.spec import ProjectSpec, RoutingSpec
from labelwise.store.models import Prediction, ProjectVersion
from labelwise.store.reroute import apply_method
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


@pytest.mark.parametrize("page_size", [1000, 3])
@pytest.mark.parametrize("narrowed", [True, False])
def test_a_threshold_moving_down_then_up(
    client: TestClient,
    keys: Keys,
    engine: Engine,
    labeled: dict[str, Any],
    narrowed: bool,
    page_size: int,
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
                page_size=page_size,
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


def test_every_page_is_routed_again(
    client: TestClient,
    keys: Keys,
    engine: Engine,
    labeled: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """50 items read 3 at a time: no page holds more, and every item is reached."""
    pages: list[list[int]] = []
    read_page = rerouting.model_decided_page

    def recording(*args: Any, **kwargs: Any) -> list[RoutedItem]:
        page = read_page(*args, **kwargs)
        pages.append([item.item_id for item in page])
        return page

    monkeypatch.setattr(rerouting, "model_decided_page", recording)
    with engine.begin() as connection:
        changed = reroute(
            connection,
            project_id=labeled["project_id"],
            version=1,
            routing=RoutingSpec(target_precision=0.9),
            calibration=at(0.5),
            page_size=3,
        )
    assert changed == 10
    assert states(client, keys, labeled["batch"]) == {"accepted:None": 50}
    assert all(len(page) <= 3 for page in pages) and len(pages) == 17
    read = [item_id for page in pages for item_id in page]
    assert read == sorted(read) and len(set(read)) == 50


def test_a_method_is_applied_to_every_page(engine: Engine, labeled: dict[str, Any]) -> None:
    stored = {"agreement": {"value": "negative", "confidence": 0.3, "per_label": None}}
    with engine.begin() as connection:
        connection.execute(update(Prediction).values(scores=stored))
        changed = apply_method(
            connection, project_id=labeled["project_id"], version=1, method="agreement", page_size=3
        )
        rows = connection.execute(
            select(Prediction.method, Prediction.value, Prediction.confidence)
        ).all()
    assert changed == 50
    assert set(rows) == {("agreement", "negative", 0.3)}


def version_spec(engine: Engine, project_id: int) -> ProjectSpec:
    with engine.connect() as connection:
        stored = connection.execute(
            select(ProjectVersion.spec).where(
                ProjectVersion.project_id == project_id, ProjectVersion.version == 1
            )
        ).scalar_one()
    return ProjectSpec.model_validate(stored)


@pytest.mark.parametrize(
    ("max_gold", "threshold", "calibrated", "accepted"),
    [
        # All 50: 40 right at 0.85 above 10 wrong at 0.6.
        (20_000, 0.85, True, 40),
        # The 45 most recent: the last 35 right ones still certify the target above the 10 wrong.
        (45, 0.85, True, 40),
        # The 30 most recent: 20 right are too few to certify 90% precision (it takes 29 all
        # right); the oldest 30 (all right) would have.
        (30, None, True, 0),
        # The 10 most recent are the wrong ones: too little gold to judge.
        (10, None, False, 0),
    ],
)
def test_calibration_reads_only_the_most_recent_gold(
    client: TestClient,
    keys: Keys,
    engine: Engine,
    labeled: dict[str, Any],
    max_gold: int,
    threshold: float | None,
    calibrated: bool,
    accepted: int,
) -> None:
    spec = version_spec(engine, labeled["project_id"])
    with engine.begin() as connection:
        calibration = refresh_calibration(
            connection, project_id=labeled["project_id"], version=1, spec=spec, max_gold=max_gold
        )
    assert calibration is not None
    assert calibration.gold == min(max_gold, 50)
    assert calibration.threshold == (pytest.approx(threshold) if threshold else None)
    assert calibration.calibrated is calibrated
    counts = states(client, keys, labeled["batch"])
    assert counts.get("accepted:None", 0) == accepted


def test_the_gold_cap_is_a_setting(
    client: TestClient, keys: Keys, settings: Settings, scored_llm: respx.MockRouter
) -> None:
    project = client.post("/v1/projects", json=CALIBRATED_PROJECT, headers=keys.auth("admin"))
    batch = post(client, keys, project.json()["id"], GOLD)
    run_worker(settings.model_copy(update={"calibration_max_gold": 30}), burst=True)
    body = client.get(
        f"/v1/projects/{project.json()['id']}/calibration", headers=keys.auth("admin")
    ).json()
    assert body["gold"] == 30 and body["calibrated"] is True and body["threshold"] is None
    assert states(client, keys, batch) == {"review:low_confidence": 50}
