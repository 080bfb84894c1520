"""A provider error that echoes the key is stored and shown without it."""

from __future__ import annotations

from typing import Any

import httpx
import respx
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from labelwise.labeling.worker import run_worker
from labelwise.settings import Settings
from labelwise.store.models import Prediction
from tests.conftest import Keys
from tests.labeling.test_worker import post_batch
from tests.llm.fakes import BASE_URL

LEAKED = "sk-proj-Leaked0123456789"


def test_a_provider_error_echoing_the_key_is_scrubbed(
    client: TestClient, keys: Keys, project: dict[str, Any], settings: Settings, engine: Engine
) -> None:
    body = {"error": {"message": f"Incorrect API key provided: {LEAKED}.", "type": "auth"}}
    with respx.mock(base_url=BASE_URL) as router:
        router.post("/chat/completions").mock(return_value=httpx.Response(401, json=body))
        batch_id = post_batch(client, keys, project, {"k": "good"})
        run_worker(settings, burst=True)
    page = client.get(f"/v1/batches/{batch_id}/items", headers=keys.auth("submitter")).json()
    assert page["items"][0]["status"] == "review"
    assert LEAKED not in str(page)
    with engine.connect() as connection:
        stored = connection.execute(select(Prediction.error_message)).scalar_one()
    assert stored and "Incorrect API key provided" in stored and LEAKED not in stored
