"""SIGTERM: a worker finishes its chunk within the grace period or hands the rest back at once,
and the API lets its requests in flight finish. The processes are real `labelwise` subprocesses
stopped with a real signal, against the project's fake LLM server."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis
from fastapi.testclient import TestClient
from sqlalchemy import select

from labelwise.api.app import create_app
from labelwise.labeling.stopping import GracefulStop
from labelwise.labeling.worker import run_worker
from labelwise.store.db import engine_for
from labelwise.store.models import Item
from labelwise.testing.fake_llm import FakeLLMConfig, running_fake_llm
from tests.conftest import PROJECT, REDIS_URL, Keys, cli_env, make_settings

# --- the grace period itself ------------------------------------------------------------------


async def _sleep_then(seconds: float, value: str) -> str:
    await asyncio.sleep(seconds)
    return value


@pytest.mark.parametrize(
    ("work_seconds", "grace_seconds", "stop_after", "finished"),
    [
        (0.05, 5.0, None, True),  # never stopped
        (0.2, 5.0, 0.05, True),  # stopped, finishes within the grace period
        (5.0, 0.1, 0.05, False),  # stopped, cut short when the grace period ends
        (5.0, 0.0, 0.0, False),  # stopped with no grace at all
    ],
)
def test_guard_lets_work_finish_within_the_grace_period_only(
    work_seconds: float, grace_seconds: float, stop_after: float | None, finished: bool
) -> None:
    stop = GracefulStop(grace_seconds)
    if stop_after is not None:
        # From another thread, as a signal handler or RQ would.
        threading.Timer(stop_after, stop.request).start()
    started = time.monotonic()
    done, value = asyncio.run(stop.guard(_sleep_then(work_seconds, "labeled")))
    elapsed = time.monotonic() - started
    assert done is finished
    assert value == ("labeled" if finished else None)
    if not finished:
        assert elapsed < (stop_after or 0) + grace_seconds + 0.5


def test_a_stop_asked_before_the_work_starts_still_gives_the_grace_period() -> None:
    stop = GracefulStop(0.3)
    stop.request()
    stop.request()  # a second request does not extend it
    assert stop.remaining_seconds() <= 0.3
    done, _ = asyncio.run(stop.guard(_sleep_then(0.05, "labeled")))
    assert done


def test_cancelled_work_is_cancelled_not_left_running() -> None:
    stop = GracefulStop(0.05)
    cancelled = []

    async def work() -> None:
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            cancelled.append(True)
            raise

    stop.request()
    assert asyncio.run(stop.guard(work())) == (False, None)
    assert cancelled == [True]


# --- a worker process stopped mid-chunk -------------------------------------------------------


# One SQLite file shared by the test and the processes it starts (the store's own behaviour on
# both databases is covered elsewhere).
on_sqlite = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


def db_path(database_url: str) -> Path:
    return Path(database_url.removeprefix("sqlite:///"))


@contextmanager
def worker_process(db_path: Path, queue_name: str, llm_url: str, grace: float) -> Iterator[Any]:
    env = cli_env(db_path, queue_name) | {
        "LABELWISE_OPENAI_BASE_URL": llm_url,
        "LABELWISE_OPENAI_API_KEY": "fake",
        "LABELWISE_STOP_GRACE_SECONDS": str(grace),
        "LABELWISE_RESULT_FLUSH_SECONDS": "0.05",
    }
    process = subprocess.Popen([sys.executable, "-m", "labelwise", "worker"], env=env)
    try:
        yield process
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def post_items(settings: Any, keys: Keys, n: int) -> int:
    with TestClient(create_app(settings)) as client:
        project = client.post("/v1/projects", json=PROJECT, headers=keys.auth("admin")).json()
        items = [{"external_id": f"i{k}", "data": {"text": f"item {k}"}} for k in range(n)]
        batch = client.post(
            f"/v1/projects/{project['id']}/batches",
            json={"items": items},
            headers=keys.auth("admin"),
        ).json()
    return int(batch["id"])


def item_rows(settings: Any) -> list[Any]:
    engine = engine_for(settings)
    try:
        with engine.connect() as connection:
            return list(
                connection.execute(
                    select(Item.status, Item.lease_owner, Item.deliveries).order_by(Item.id)
                )
            )
    finally:
        engine.dispose()


def wait_until_claimed(settings: Any, n: int, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert process.poll() is None, "the worker died before taking its chunk"
        if sum(row.deliveries for row in item_rows(settings)) == n:
            return
        time.sleep(0.05)
    raise AssertionError("the worker never claimed its chunk")


def stop_and_time(process: subprocess.Popen[bytes]) -> float:
    started = time.monotonic()
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=30) == 0
    return time.monotonic() - started


N_ITEMS = 6


@on_sqlite
def test_a_chunk_cut_short_is_handed_back_at_once_and_then_finished(
    tmp_path: Path, database_url: str, queue_name: str, keys: Keys
) -> None:
    config = FakeLLMConfig(latency_ms=10_000, seed=1)
    with running_fake_llm(config) as llm_url:
        settings = make_settings(
            database_url, queue_name, openai_base_url=llm_url, llm_transport="aiohttp"
        )
        post_items(settings, keys, N_ITEMS)
        with worker_process(db_path(database_url), queue_name, llm_url, grace=0.5) as worker:
            wait_until_claimed(settings, N_ITEMS, worker)
            # Well before the 10 s calls end, and long before a lease (120 s) would.
            assert stop_and_time(worker) < 7
        rows = item_rows(settings)
        assert {row.status for row in rows} == {"pending"}
        # Handed to one new delivery, which costs the items none of their allowed deliveries.
        assert {row.deliveries for row in rows} == {0}
        (owner,) = {row.lease_owner for row in rows}
        queue = redis.Redis.from_url(REDIS_URL)
        assert queue.lindex(f"rq:queue:{queue_name}", 0) == owner.encode()
        queue.close()

    fast = make_settings(database_url, queue_name, openai_base_url="", llm_transport="aiohttp")
    with running_fake_llm(FakeLLMConfig(latency_ms=0, seed=1)) as llm_url:
        run_worker(fast.model_copy(update={"openai_base_url": llm_url}), burst=True)
    rows = item_rows(settings)
    assert all(row.status in ("accepted", "review") for row in rows)
    assert {row.deliveries for row in rows} == {1}


@on_sqlite
def test_a_chunk_that_ends_within_the_grace_period_is_finished_by_its_worker(
    tmp_path: Path, database_url: str, queue_name: str, keys: Keys
) -> None:
    config = FakeLLMConfig(latency_ms=1500, seed=1)
    with running_fake_llm(config) as llm_url:
        settings = make_settings(database_url, queue_name, openai_base_url=llm_url)
        post_items(settings, keys, N_ITEMS)
        with worker_process(db_path(database_url), queue_name, llm_url, grace=20) as worker:
            wait_until_claimed(settings, N_ITEMS, worker)
            assert stop_and_time(worker) < 10
    rows = item_rows(settings)
    assert all(row.status in ("accepted", "review") for row in rows)
    assert {row.deliveries for row in rows} == {1}


# --- the API drains its requests --------------------------------------------------------------


@on_sqlite
def test_the_api_answers_requests_in_flight_after_sigterm(
    tmp_path: Path, database_url: str, queue_name: str, keys: Keys
) -> None:
    with running_fake_llm(FakeLLMConfig(latency_ms=1500, seed=1)) as llm_url:
        settings = make_settings(database_url, queue_name, openai_base_url=llm_url)
        with TestClient(create_app(settings)) as client:
            project = client.post("/v1/projects", json=PROJECT, headers=keys.auth("admin"))
        port = _free_port()
        env = cli_env(db_path(database_url), queue_name) | {
            "LABELWISE_OPENAI_BASE_URL": llm_url,
            "LABELWISE_OPENAI_API_KEY": "fake",
            "LABELWISE_STOP_GRACE_SECONDS": "10",
        }
        api = subprocess.Popen(
            [sys.executable, "-m", "labelwise", "api", "--port", str(port)], env=env
        )
        try:
            base = f"http://127.0.0.1:{port}"
            _wait_ready(base, api)
            answer: dict[str, Any] = {}

            def sync_label() -> None:
                answer["response"] = httpx.post(
                    f"{base}/v1/projects/{project.json()['id']}/label",
                    json={"items": [{"data": {"text": "good product"}}]},
                    headers=keys.auth("admin"),
                    timeout=30,
                )

            request = threading.Thread(target=sync_label)
            request.start()
            time.sleep(0.5)  # the request is now waiting on the 1.5 s LLM call
            api.send_signal(signal.SIGTERM)
            request.join(timeout=30)
            assert answer["response"].status_code == 200, answer["response"].text
            # uvicorn re-raises the signal once it has drained, as a stopped process should.
            assert api.wait(timeout=30) in (0, -signal.SIGTERM)
        finally:
            if api.poll() is None:
                api.kill()
                api.wait()


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_ready(base: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert process.poll() is None, "the API exited"
        try:
            if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise AssertionError("the API never became ready")
