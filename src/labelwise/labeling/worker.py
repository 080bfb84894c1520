"""Job entry points: a worker process labels the chunks of item ids that RQ delivers.

One process keeps one event loop, one LLM client pool and one database engine for its whole life
(RQ's SimpleWorker runs jobs in-process, no fork per job). This module retries nothing: an item
whose job dies is found again by the reconciler once its lease runs out.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar

from sqlalchemy import Engine

from labelwise.labeling import batch_mode
from labelwise.labeling.chunk_run import ChunkRun
from labelwise.labeling.hand_back import hand_back
from labelwise.labeling.labeler import Labeler
from labelwise.labeling.queue import Delivery, connect, current_job_id
from labelwise.labeling.reconciler import ReconcilerThread
from labelwise.labeling.stopping import GracefulStop
from labelwise.llm.client import LLMClients
from labelwise.observability.exporter import serve_worker_metrics
from labelwise.observability.worker_metrics import chunk_span
from labelwise.settings import Settings
from labelwise.store.db import engine_for
from labelwise.tasks.prompts import PromptLibrary

log = logging.getLogger(__name__)


class WorkerRuntime:
    """What one worker process holds for its whole life, built once from its `Settings`: an
    event loop, the labeler with its LLM clients, and a database engine."""

    def __init__(
        self, settings: Settings, engine: Engine, labeler: Labeler, delivery: Delivery
    ) -> None:
        self.settings = settings
        self.engine = engine
        self.labeler = labeler
        self.delivery = delivery
        self.loop = asyncio.new_event_loop()
        self.stop = GracefulStop(settings.stop_grace_seconds)

    @classmethod
    def start(cls, settings: Settings) -> WorkerRuntime:
        """Build what the jobs share; `close` releases it."""
        labeler = Labeler(settings, LLMClients(settings), PromptLibrary.from_settings(settings))
        delivery = Delivery(connect(settings.redis_url), settings.queue_name)
        return cls(settings, engine_for(settings), labeler, delivery)

    def run_chunk(self, job_id: str, item_ids: Sequence[int]) -> int:
        """Label a chunk; if the worker is stopped before it ends, what is left goes back to
        the queue now rather than when its lease runs out."""
        with chunk_span(job_id, item_ids) as span:
            run = ChunkRun(self.settings, self.engine, self.labeler, job_id, self.stop)
            span.written = self.loop.run_until_complete(run.run(item_ids))
            if run.unfinished:
                moved = hand_back(self.settings, self.engine, self.delivery, job_id, run.unfinished)
                span.handed_back = moved
                log.warning("stopping: job %s handed back %d unfinished items", job_id, moved)
            return span.written

    def submit_batch(self, job_id: str, item_ids: Sequence[int]) -> int:
        return self.loop.run_until_complete(
            batch_mode.submit(self.settings, self.engine, self.labeler, job_id, item_ids)
        )

    def collect_batches(self) -> batch_mode.CollectReport:
        return self.loop.run_until_complete(
            batch_mode.collect(self.settings, self.engine, self.labeler)
        )

    def close(self) -> None:
        self.loop.run_until_complete(self.labeler.aclose())
        self.loop.close()
        self.engine.dispose()


# The runtime of the `labelwise worker` serving in this context, set by `run_worker` for as long
# as it serves. RQ's SimpleWorker runs each job in the thread that called `work`, so the jobs see
# the runtime their worker was started with.
_serving: ContextVar[WorkerRuntime | None] = ContextVar("labelwise_worker_runtime", default=None)


def label_chunk(item_ids: list[int]) -> int:
    """RQ entry point: label a delivered chunk."""
    with _runtime_for_job() as runtime:
        return runtime.run_chunk(current_job_id() or "", item_ids)


def submit_batch(item_ids: list[int]) -> int:
    """RQ entry point for a chunk posted in batch mode: submit it as a provider batch."""
    with _runtime_for_job() as runtime:
        return runtime.submit_batch(current_job_id() or "", item_ids)


def collect_batches() -> int:
    """RQ entry point: label what finished provider batches answered."""
    with _runtime_for_job() as runtime:
        return runtime.collect_batches().labeled


@contextmanager
def _runtime_for_job() -> Iterator[WorkerRuntime]:
    """The serving worker's runtime. A job run by another RQ worker (not `labelwise worker`)
    gets a runtime of its own, built from the environment and closed when the job ends."""
    serving = _serving.get()
    if serving is not None:
        yield serving
        return
    runtime = WorkerRuntime.start(Settings())
    try:
        yield runtime
    finally:
        runtime.close()


def run_worker(settings: Settings, *, burst: bool = False, name: str | None = None) -> None:
    """Serve jobs until stopped (or, with `burst`, until the queue is empty)."""
    metrics_server = serve_worker_metrics(settings)
    runtime = WorkerRuntime.start(settings)
    delivery = runtime.delivery
    policy = delivery.eviction_policy()
    if policy not in (None, "noeviction"):
        log.warning("Redis maxmemory-policy is %s; run it with noeviction", policy)
    reconciler = ReconcilerThread(settings, runtime.engine, delivery)
    reconciler.start()
    serving = _serving.set(runtime)
    try:
        delivery.serve(name, runtime.stop.request, burst=burst)
    finally:
        _serving.reset(serving)
        reconciler.stop()
        runtime.close()
        if metrics_server is not None:
            metrics_server.close()
