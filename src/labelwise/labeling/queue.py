"""The only module that imports rq: delivering chunks of item ids to workers.

Redis only delivers. Nothing is read back from RQ except whether a job is still waiting, which the
reconciler asks so it does not deliver a queued chunk a second time.
"""

from __future__ import annotations

import itertools
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from redis import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from rq import Queue, SimpleWorker, get_current_job
from rq.exceptions import InvalidJobOperation, NoSuchJobError, StopRequested
from rq.job import Job, JobStatus

LABEL_CHUNK_JOB = "labelwise.labeling.worker.label_chunk"
SUBMIT_BATCH_JOB = "labelwise.labeling.worker.submit_batch"
COLLECT_BATCHES_JOB = "labelwise.labeling.worker.collect_batches"
# One collection at a time is enough: it handles every finished provider batch.
COLLECT_JOB_ID = "labelwise-collect-provider-batches"
# How long a worker that lost Redis mid-job waits before serving again, by attempt.
REDIS_RETRY_SECONDS = (1.0, 2.0, 5.0, 10.0, 30.0)
log = logging.getLogger(__name__)
# A chunk runs many LLM calls at once; it may take a while on a slow provider.
JOB_TIMEOUT_SECONDS = 3600


def current_job_id() -> str | None:
    """The id of the RQ job running in this process, if any."""
    job = get_current_job()
    return None if job is None else job.id


def connect(redis_url: str, *, timeout_seconds: float | None = None) -> Redis:
    """A connection; `timeout_seconds` bounds every command (the API's, so a Redis that hangs
    cannot hang requests; not the workers', whose blocking dequeues wait on purpose)."""
    return Redis.from_url(
        redis_url, socket_timeout=timeout_seconds, socket_connect_timeout=timeout_seconds
    )


class Delivery:
    """Enqueues chunks; one instance per process, around one Redis connection."""

    def __init__(self, redis: Redis, queue_name: str) -> None:
        self.redis = redis
        self.queue = Queue(queue_name, connection=redis)

    def enqueue_chunks(
        self,
        chunks: Mapping[str, Sequence[int]],
        *,
        function: str = LABEL_CHUNK_JOB,
        at_front: bool = False,
    ) -> None:
        """One job per chunk, with the job id chosen by the store when it leased the items;
        `function` labels them (the default) or submits them as a provider batch. `at_front`
        puts them before what is queued: work already begun and handed back."""
        if not chunks:
            return
        jobs = [
            Queue.prepare_data(
                function,
                args=(list(item_ids),),
                job_id=job_id,
                timeout=JOB_TIMEOUT_SECONDS,
                result_ttl=0,
                failure_ttl=24 * 3600,
                at_front=at_front,
            )
            for job_id, item_ids in chunks.items()
        ]
        with self.redis.pipeline() as pipe:
            self.queue.enqueue_many(jobs, pipeline=pipe)
            pipe.execute()

    def enqueue_collect(self) -> bool:
        """Ask a worker to collect finished provider batches, unless a collection is already
        queued or running (the next reconciler pass asks again)."""
        if self.is_waiting(COLLECT_JOB_ID) or self._status(COLLECT_JOB_ID) is JobStatus.STARTED:
            return False
        self.queue.enqueue(
            COLLECT_BATCHES_JOB,
            job_id=COLLECT_JOB_ID,
            job_timeout=JOB_TIMEOUT_SECONDS,
            result_ttl=0,
            failure_ttl=24 * 3600,
        )
        return True

    def is_waiting(self, job_id: str) -> bool:
        """True while the job sits in the queue, not yet picked up by a worker.

        A job's status alone is not enough: a worker that took the job off the list and lost
        Redis before marking it started leaves it "queued" in no queue at all, and its items
        would wait for it forever."""
        status = self._status(job_id)
        if status == JobStatus.QUEUED:
            return self.redis.lpos(self.queue.key, job_id) is not None
        return status in (JobStatus.DEFERRED, JobStatus.SCHEDULED)

    def _status(self, job_id: str) -> JobStatus | None:
        """None when there is no such job, including one deleted between the fetch and the
        status read (a finished job with no result TTL goes at once): RQ says so with
        InvalidJobOperation, which must not stop a reconciler pass."""
        try:
            return Job.fetch(job_id, connection=self.redis).get_status()
        except (NoSuchJobError, InvalidJobOperation):
            return None

    def depth(self) -> int:
        return self.queue.count

    def eviction_policy(self) -> str | None:
        """Redis must run with `noeviction`: an evicted job would be work silently dropped."""
        try:
            return self.redis.config_get("maxmemory-policy").get("maxmemory-policy")
        except Exception:  # managed Redis services may forbid CONFIG
            return None

    def ping(self) -> bool:
        return bool(self.redis.ping())

    def make_worker(
        self, name: str | None = None, on_stop: Callable[[], None] | None = None
    ) -> SimpleWorker:
        """SimpleWorker: no fork per job, so each process keeps its LLM client and connections.
        `on_stop` is called when a warm stop is asked (SIGTERM or SIGINT) during a job."""
        return StoppableWorker([self.queue], connection=self.redis, name=name, on_stop=on_stop)

    def serve(self, name: str | None, on_stop: Callable[[], None], *, burst: bool = False) -> None:
        """Run a worker until it is stopped (or, with `burst`, the queue is empty).

        RQ rides out a lost Redis while it waits for a job, not while it finishes one: then
        `work` raises. The job's items are safe in the store (their lease runs out and the
        reconciler delivers them again), so the process serves again once Redis answers,
        under a fresh name since the old one may still be registered."""
        stopping = False

        def stop() -> None:
            nonlocal stopping
            stopping = True
            on_stop()

        for attempt in itertools.count():
            try:
                worker = self.make_worker(_nth_name(name, attempt), on_stop=stop)
                worker.work(burst=burst, with_scheduler=False, logging_level="WARNING")
                return
            except (RedisConnectionError, RedisTimeoutError):
                if stopping or burst:
                    raise
                wait = REDIS_RETRY_SECONDS[min(attempt, len(REDIS_RETRY_SECONDS) - 1)]
                log.warning("lost Redis while finishing a job; serving again in %.0f s", wait)
                try:
                    time.sleep(wait)
                except StopRequested:  # stopped while waiting: the old worker's handler
                    return


def _nth_name(name: str | None, attempt: int) -> str | None:
    return name if name is None or attempt == 0 else f"{name}-{attempt}"


class StoppableWorker(SimpleWorker):
    """RQ's warm stop waits for the running job however long it takes; this one also tells
    the job, which then finishes within its grace period or hands its work back."""

    def __init__(
        self, *args: Any, on_stop: Callable[[], None] | None = None, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self._on_stop = on_stop

    def handle_warm_shutdown_request(self) -> None:
        super().handle_warm_shutdown_request()
        if self._on_stop is not None:
            self._on_stop()
