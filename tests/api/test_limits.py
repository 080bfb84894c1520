"""Limits that keep one caller from starving the rest: requests per key, a lock-out after
repeated wrong keys, metrics only for the operator, and 503 (not a stall) when the store's pool
is exhausted."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from labelwise.api.app import create_app
from labelwise.api.errors import is_transient
from labelwise.api.guarded_route import closing_sessions
from labelwise.api.limits import ConcurrencyLimitMiddleware
from labelwise.settings import Settings
from labelwise.store.db import make_engine
from labelwise.store.keys import Role, create_key
from tests.conftest import Keys, _truncate_postgres, make_settings, sign_in


@pytest.fixture
def limited(database_url: str, queue_name: str, keys: Keys) -> Iterator[TestClient]:
    settings = make_settings(
        database_url,
        queue_name,
        api_requests_per_second=1.0,
        api_burst=5,
        auth_failures_per_minute=3,
        metrics_token="scrape-me",
    )
    with TestClient(create_app(settings)) as client:
        yield client


def test_a_key_over_its_rate_gets_429_with_retry_after(limited: TestClient, keys: Keys) -> None:
    codes = [
        limited.get("/v1/projects", headers=keys.auth("submitter")).status_code for _ in range(8)
    ]
    assert codes[:5] == [200] * 5 and 429 in codes[5:]
    refused = limited.get("/v1/projects", headers=keys.auth("submitter"))
    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "rate_limited"
    assert int(refused.headers["retry-after"]) >= 1
    # Each key has its own bucket.
    assert limited.get("/v1/projects", headers=keys.auth("admin")).status_code == 200


def test_repeated_wrong_keys_are_answered_429(limited: TestClient, keys: Keys) -> None:
    wrong = {"Authorization": "Bearer lw_not-a-key"}
    assert [limited.get("/v1/projects", headers=wrong).status_code for _ in range(2)] == [401] * 2
    locked = limited.get("/v1/projects", headers=wrong)
    assert locked.status_code == 429 and int(locked.headers["retry-after"]) >= 1
    assert limited.get("/v1/projects", headers=wrong).status_code == 429
    # A right key from the same address still works: one guesser cannot lock everyone out.
    assert limited.get("/v1/projects", headers=keys.auth("admin")).status_code == 200
    # Guesses through the sign-in form count too.
    assert sign_in(limited, "lw_guess").status_code == 429


def test_metrics_need_the_operators_token(limited: TestClient) -> None:
    assert limited.get("/metrics").status_code == 401
    wrong = limited.get("/metrics", headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401
    scraped = limited.get("/metrics", headers={"Authorization": "Bearer scrape-me"})
    assert scraped.status_code == 200
    assert 'labelwise_items{status="pending"} 0' in scraped.text
    assert "labelwise_http_requests_total" in scraped.text


def test_an_exhausted_pool_answers_503_at_once(postgres_url: str, queue_name: str) -> None:
    """PostgreSQL's pool (SQLite's has no such bound)."""
    _truncate_postgres(postgres_url)
    engine = make_engine(postgres_url)
    with Session(engine) as session:
        key = create_key(session, name="ada", role=Role.ADMIN, team="acme")
    engine.dispose()
    auth = {"Authorization": f"Bearer {key}"}
    settings: Settings = make_settings(
        postgres_url, queue_name, db_pool_size=1, db_max_overflow=0, db_pool_timeout_seconds=0.2
    )
    with TestClient(create_app(settings)) as client:
        pool_engine = client.app.state.labelwise.engine  # type: ignore[attr-defined]
        release = threading.Event()
        held = threading.Event()

        def hold_the_only_connection() -> None:
            with pool_engine.connect():
                held.set()
                release.wait(10)

        holder = threading.Thread(target=hold_the_only_connection)
        holder.start()
        try:
            assert held.wait(5)
            busy = client.get("/v1/projects", headers=auth)
            assert busy.status_code == 503, busy.text
            assert busy.json()["error"]["code"] == "overloaded"
            assert busy.headers["retry-after"] == "1"
        finally:
            release.set()
            holder.join()
        assert client.get("/v1/projects", headers=auth).status_code == 200


def test_only_transient_store_errors_are_503() -> None:
    busy = OperationalError("SELECT 1", {}, sqlite3.OperationalError("database is locked"))
    missing = OperationalError("SELECT 1", {}, sqlite3.OperationalError("no such table: items"))
    assert is_transient(busy) and not is_transient(missing)


def test_a_sync_handler_gives_its_connection_back_as_it_returns(tmp_path: object) -> None:
    engine = make_engine(f"sqlite:///{tmp_path}/pool.db")

    def handler(session: Session) -> int:
        return session.execute(text("SELECT 1")).scalar_one()

    wrapped = closing_sessions(handler)
    assert wrapped(session=Session(engine)) == 1
    # FastAPI would serialize the answer only now; the connection is already back in the pool.
    assert engine.pool.checkedout() == 0  # type: ignore[attr-defined]
    unwrapped = Session(engine)
    handler(session=unwrapped)
    assert engine.pool.checkedout() == 1  # type: ignore[attr-defined]
    unwrapped.close()
    engine.dispose()


async def test_past_the_concurrency_limit_requests_get_503_at_once() -> None:
    release = asyncio.Event()

    async def slow_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        await release.wait()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    app = ConcurrencyLimitMiddleware(slow_app, max_in_flight=1)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://api") as client:
        first = asyncio.create_task(client.get("/v1/projects"))
        await asyncio.sleep(0.05)
        refused = await client.get("/v1/projects")
        assert refused.status_code == 503 and refused.headers["retry-after"] == "1"
        assert refused.json()["error"]["code"] == "overloaded"
        release.set()
        assert (await first).status_code == 200
        # Once the first is answered, there is room again.
        assert (await client.get("/v1/projects")).status_code == 200
