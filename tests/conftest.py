"""Shared fixtures: both stores, a Redis queue per test, an app with keys for each role.

PostgreSQL runs in a schema of its own per test session, so concurrent runs on one server do not
interfere; Redis tests use a queue name of their own on database 1.
"""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import redis
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from labelwise.api.app import create_app
from labelwise.domain import ItemStatus, OutcomeRow
from labelwise.errors import ReviewReason
from labelwise.settings import Settings
from labelwise.store.db import make_engine
from labelwise.store.keys import Role, create_key
from labelwise.store.migrate import upgrade
from labelwise.store.models import Base
from tests.redis_isolation import REDIS_URL, remove_keys_of, remove_taken_names

POSTGRES_URL = os.environ.get(
    "LABELWISE_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


@pytest.fixture(autouse=True)
def _remove_redis_keys_of_taken_queue_names() -> Iterator[None]:
    """Settings built outside the `queue_name` fixture (`tests.llm.fakes.llm_settings`) take
    fresh queue names; their Redis keys go when the test ends."""
    yield
    remove_taken_names()


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    schema = f"lw_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin = make_engine(POSTGRES_URL)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = f"{POSTGRES_URL}?options=-csearch_path%3D{schema}"
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    yield url
    with admin.begin() as connection:
        connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


def _truncate_postgres(url: str) -> None:
    engine = make_engine(url)
    tables = ", ".join(t.name for t in Base.metadata.sorted_tables)
    with engine.begin() as connection:
        connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A migrated, empty database of each kind."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'labelwise.db'}"
        engine = make_engine(url)
        upgrade(engine)
        engine.dispose()
        return url
    url = request.getfixturevalue("postgres_url")
    _truncate_postgres(url)
    return url


@pytest.fixture
def queue_name() -> Iterator[str]:
    name = f"lw-test-{uuid.uuid4().hex[:10]}"
    yield name
    connection = redis.Redis.from_url(REDIS_URL)
    remove_keys_of(name, connection)
    connection.close()


def make_settings(database_url: str, queue_name: str, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "database_url": database_url,
        "redis_url": REDIS_URL,
        "queue_name": queue_name,
        "openai_base_url": "http://llm.test/v1",
        "openai_api_key": "test-key",
        "llm_transport": "httpx",
        "llm_retry_base_wait_seconds": 0.001,
        "llm_retry_max_wait_seconds": 0.05,
        "result_flush_seconds": 0.02,
        # A worker's metrics endpoint takes half a second to shut down; the tests of it ask
        # for one on a port of their own.
        "worker_metrics_port": 0,
        # Tests make many quick calls with one key; the limits have tests of their own.
        "api_requests_per_second": 10_000.0,
        "api_burst": 10_000,
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


@pytest.fixture
def settings(database_url: str, queue_name: str) -> Settings:
    return make_settings(database_url, queue_name)


@pytest.fixture
def engine(settings: Settings) -> Iterator[Engine]:
    engine = make_engine(settings.database_url)
    yield engine
    engine.dispose()


@dataclass(frozen=True)
class Keys:
    admin: str
    submitter: str
    reviewer: str
    reviewer2: str
    other_team: str
    adjudicator: str

    def auth(self, name: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {getattr(self, name)}"}


@pytest.fixture
def keys(engine: Engine) -> Keys:
    with Session(engine) as session:
        return Keys(
            admin=create_key(session, name="ada", role=Role.ADMIN, team="acme"),
            submitter=create_key(session, name="sam", role=Role.SUBMITTER, team="acme"),
            reviewer=create_key(session, name="rita", role=Role.REVIEWER, team="acme"),
            reviewer2=create_key(session, name="rob", role=Role.REVIEWER, team="acme"),
            other_team=create_key(session, name="eve", role=Role.ADMIN, team="globex"),
            adjudicator=create_key(session, name="judy", role=Role.ADJUDICATOR, team="acme"),
        )


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


def outcome(
    item_id: int,
    batch_id: int,
    status: ItemStatus,
    value: str = "positive",
    confidence: float = 0.9,
) -> OutcomeRow:
    """What a worker writes for an item, for tests that place items in a state directly."""
    return OutcomeRow(
        item_id=item_id,
        batch_id=batch_id,
        version=1,
        status=status,
        reason=None if status is ItemStatus.ACCEPTED else ReviewReason.LOW_CONFIDENCE,
        value=value,
        confidence=confidence,
        method="logprob",
        per_label=None,
        model="m",
        prompt_tokens=10,
        cached_tokens=4,
        completion_tokens=3,
        cost_usd=0.001,
        latency_ms=5,
        attempts=1,
        error_message=None,
        rationale=None,
    )


def cli_env(database_path: Path, queue_name: str) -> dict[str, str]:
    """The environment of a `labelwise` subprocess: its own store and queue, no LLM endpoint."""
    env = {
        **os.environ,
        "LABELWISE_DATABASE_URL": f"sqlite:///{database_path}",
        "LABELWISE_REDIS_URL": REDIS_URL,
        "LABELWISE_QUEUE_NAME": queue_name,
        "LABELWISE_WORKER_METRICS_PORT": "0",
    }
    for name in ("OPENAI_BASE_URL", "OPENAI_API_KEY"):
        env.pop(name, None)
    return env


def sign_in(client: TestClient, key: str, next_path: str = "/") -> Any:
    """Sign a test client in as a browser does: fetch the form (and its anti-forgery cookie),
    then post it back with the form's token."""
    form = client.get("/signin", params={"next": next_path})
    token = re.search(r'name="csrf" value="([^"]+)"', form.text)
    assert token is not None, form.text
    return client.post(
        "/signin",
        data={"key": key, "next": next_path, "csrf": token.group(1)},
        follow_redirects=False,
    )
