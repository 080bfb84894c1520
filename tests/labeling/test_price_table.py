"""The operator's price table prices the models projects name without a price of their own."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from labelwise.api.app import create_app
from labelwise.labeling.worker import run_worker
from tests.api.test_estimate import PRICE, items, project_with
from tests.conftest import Keys, make_settings


def test_the_operators_price_table_prices_models_without_their_own(
    database_url: str, queue_name: str, keys: Keys, llm_api: Any
) -> None:
    settings = make_settings(database_url, queue_name, prices={"test-model": PRICE})
    with TestClient(create_app(settings)) as client:
        project = project_with(client, keys)
        assert project["model"]["price"] is None
        batch = client.post(
            f"/v1/projects/{project['id']}/batches",
            json={"items": items(4)},
            headers=keys.auth("admin"),
        ).json()
        run_worker(settings, burst=True)
        usage = client.get(f"/v1/batches/{batch['id']}", headers=keys.auth("admin")).json()["usage"]
    expected = (usage["prompt_tokens"] * 1.0 + usage["completion_tokens"] * 4.0) / 1e6
    assert usage["cost_usd"] == pytest.approx(expected, rel=1e-3) and usage["cost_usd"] > 0
