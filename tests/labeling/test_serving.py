"""A worker that loses Redis while finishing a job serves again instead of exiting."""

from __future__ import annotations

from typing import Any

import pytest
import redis
from redis.exceptions import ConnectionError as RedisConnectionError

from labelwise.labeling import queue
from labelwise.labeling.queue import Delivery
from tests.conftest import REDIS_URL


@pytest.fixture
def delivery(queue_name: str) -> Delivery:
    return Delivery(redis.Redis.from_url(REDIS_URL), queue_name)


def test_a_lost_redis_mid_job_means_serving_again_under_a_fresh_name(
    delivery: Delivery, monkeypatch: pytest.MonkeyPatch
) -> None:
    names: list[str | None] = []
    waits: list[float] = []

    def work(self: Any, **kwargs: Any) -> bool:
        names.append(self.name)
        if len(names) < 3:
            raise RedisConnectionError("Connection closed by server.")
        return True

    monkeypatch.setattr(queue.StoppableWorker, "work", work)
    monkeypatch.setattr(queue.time, "sleep", waits.append)
    delivery.serve("w1", lambda: None)
    assert names == ["w1", "w1-1", "w1-2"]
    assert waits == list(queue.REDIS_RETRY_SECONDS[:2])


@pytest.mark.parametrize("burst", [True, False])
def test_a_stopped_or_burst_worker_does_not_serve_again(
    delivery: Delivery, monkeypatch: pytest.MonkeyPatch, burst: bool
) -> None:
    calls = []

    def work(self: Any, **kwargs: Any) -> bool:
        calls.append(self.name)
        if not burst:
            self.handle_warm_shutdown_request()  # SIGTERM arrived during the job
        raise RedisConnectionError("Connection closed by server.")

    monkeypatch.setattr(queue.StoppableWorker, "work", work)
    stops: list[bool] = []
    with pytest.raises(RedisConnectionError):
        delivery.serve(None, lambda: stops.append(True), burst=burst)
    assert len(calls) == 1
    assert stops == ([] if burst else [True])


def test_serving_again_waits_for_redis_to_answer(
    delivery: Delivery, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A worker is made with a call to Redis: while it is down, that is what fails."""
    made: list[str | None] = []
    original = queue.StoppableWorker.__init__

    def init(self: Any, *args: Any, **kwargs: Any) -> None:
        made.append(kwargs["name"])
        if len(made) == 1:
            raise RedisConnectionError("Error 111 connecting. Connection refused.")
        original(self, *args, **kwargs)

    monkeypatch.setattr(queue.StoppableWorker, "__init__", init)
    monkeypatch.setattr(queue.StoppableWorker, "work", lambda self, **kwargs: True)
    monkeypatch.setattr(queue.time, "sleep", lambda seconds: None)
    delivery.serve("w1", lambda: None)
    assert made == ["w1", "w1-1"]


def test_a_job_taken_off_the_list_is_not_waiting_whatever_its_status(
    delivery: Delivery,
) -> None:
    """A worker that popped the job and lost Redis before starting it leaves it `queued` in no
    queue: its items must not wait for it."""
    delivery.enqueue_chunks({"job-a": [1, 2], "job-b": [3]})
    assert delivery.is_waiting("job-a") and delivery.is_waiting("job-b")
    delivery.redis.lrem(delivery.queue.key, 0, "job-a")
    assert not delivery.is_waiting("job-a")
    assert delivery.is_waiting("job-b")
