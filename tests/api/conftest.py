from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from labelwise.api.app import create_app
from labelwise.settings import Settings
from tests.conftest import Keys

PROJECT = {
    "name": "sentiment",
    "task": {
        "type": "classification",
        "labels": ["positive", {"name": "negative", "description": "unhappy"}],
        "guidelines": "Is the review happy?",
    },
    "model": {"name": "test-model"},
    "routing": {"accept_threshold": 0.8},
}


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as client:
        yield client


@pytest.fixture
def project(client: TestClient, keys: Keys) -> dict[str, Any]:
    response = client.post("/v1/projects", json=PROJECT, headers=keys.auth("submitter"))
    assert response.status_code == 201, response.text
    return response.json()
