"""The Grafana dashboard (deploy/grafana/labelwise.json) held to the code: every series it asks
for is one a labelwise process exports, and every family the code exports has a panel."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from labelwise.api.app import create_app
from labelwise.api.metrics import REGISTRY
from labelwise.observability.metrics import LABELING_REGISTRY, WORKER_REGISTRY, metric_names
from labelwise.store.db import make_engine
from labelwise.store.migrate import upgrade
from tests.conftest import make_settings

DASHBOARD = Path(__file__).resolve().parents[2] / "deploy" / "grafana" / "labelwise.json"
SERIES = re.compile(r"\blabelwise_[A-Za-z0-9_]+")


def panels(dashboard: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for panel in dashboard["panels"]:
        yield panel
        yield from panel.get("panels", [])


def expressions(dashboard: dict[str, Any]) -> list[str]:
    return [t["expr"] for p in panels(dashboard) for t in p.get("targets", [])]


@pytest.fixture(scope="module")
def dashboard() -> dict[str, Any]:
    return json.loads(DASHBOARD.read_text(encoding="utf-8"))


@pytest.fixture
def api_scrape(tmp_path: Path, queue_name: str) -> str:
    """What the API's /metrics serves, gauges computed at scrape time included."""
    url = f"sqlite:///{tmp_path / 'labelwise.db'}"
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    app = create_app(make_settings(url, queue_name, metrics_token="scrape-me"))
    with TestClient(app) as client:
        response = client.get("/metrics", headers={"Authorization": "Bearer scrape-me"})
    assert response.status_code == 200
    return response.text


@pytest.fixture
def exported(api_scrape: str) -> set[str]:
    """Every series name the API or a worker can expose."""
    names = set().union(*(metric_names(r) for r in (REGISTRY, LABELING_REGISTRY, WORKER_REGISTRY)))
    for family in text_string_to_metric_families(api_scrape):
        names.add(family.name)
        names.update(sample.name for sample in family.samples)
    return {name for name in names if name.startswith("labelwise_")}


def test_every_series_the_dashboard_asks_for_is_exported(
    dashboard: dict[str, Any], exported: set[str]
) -> None:
    asked = {name for expr in expressions(dashboard) for name in SERIES.findall(expr)}
    assert asked, "the dashboard has no labelwise expressions"
    unknown = asked - exported
    assert not unknown, f"the dashboard asks for series no process exports: {sorted(unknown)}"


def test_every_exported_family_has_a_panel(dashboard: dict[str, Any], api_scrape: str) -> None:
    families = {
        family.name
        for registry in (REGISTRY, LABELING_REGISTRY, WORKER_REGISTRY)
        for family in registry.collect()
    } | {family.name for family in text_string_to_metric_families(api_scrape)}
    # The text format lists a counter's creation time as a gauge family of its own.
    families = {f for f in families if f.startswith("labelwise_") and not f.endswith("_created")}
    shown = " ".join(expressions(dashboard))
    missing = sorted(f for f in families if not re.search(rf"\b{f}(_|\b)", shown))
    assert not missing, f"exported but on no panel: {missing}"


def test_panels_are_well_formed(dashboard: dict[str, Any]) -> None:
    ids = [p["id"] for p in panels(dashboard)]
    assert len(ids) == len(set(ids)), "panel ids repeat"
    variables = {v["name"] for v in dashboard["templating"]["list"]}
    for panel in panels(dashboard):
        if panel["type"] == "row":
            continue
        assert panel["datasource"]["uid"].strip("${}") in variables, panel["title"]
        refs = [t["refId"] for t in panel["targets"]]
        assert refs and len(refs) == len(set(refs)), panel["title"]
