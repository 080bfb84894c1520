"""Job entry points: a worker process labels the chunks of item ids that RQ delivers.

One process keeps one event loop, one LLM client pool and one database engine for its whole life
(RQ's SimpleWorker runs jobs in-process, no fork per job). This module retries nothing: an item
whose job dies is found again by the reconciler once its lease runs out.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

from sqlalchemy import Engine

from labelwise.labeling import batch_mode
from labelwise.labeling.labeler import Labeler
from labelwise.labeling.pipeline import ChunkRun
from labelwise.labeling.queue import Delivery, connect, current_job_id
from labelwise.labeling.reconciler import ReconcilerThread
from labelwise.llm.client import LLMClients
from labelwise.settings import Settings
from labelwise.store.db import engine_for
from labelwise.tasks.prompts import PromptLibrary

log = logging.getLogger(__name__)


class WorkerRuntime:
    """What one worker process holds for its whole life."""

    def __init__(self, settings: Settings, engine: Engine, labeler: Labeler) -> None:
        self.settings = settings
        self.engine = engine
        self.labeler = labeler
        self.loop = asyncio.new_event_loop()

    @classmethod
    def start(cls, settings: Settings) -> WorkerRuntime:
        labeler = Labeler(settings, LLMClients(settings), PromptLibrary.from_settings(settings))
        return cls(settings, engine_for(settings), labeler)

    def run_chunk(self, job_id: str, item_ids: Sequence[int]) -> int:
        run = ChunkRun(self.settings, self.engine, self.labeler, job_id)
        return self.loop.run_until_complete(run.run(item_ids))

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


_runtime: WorkerRuntime | None = None


def label_chunk(item_ids: list[int]) -> int:
    """RQ entry point. Runs in a `labelwise worker` process (or any RQ worker: then the runtime
    is built from the environment on first use)."""
    return _runtime_from_environment().run_chunk(current_job_id() or "", item_ids)


def submit_batch(item_ids: list[int]) -> int:
    """RQ entry point for a chunk posted in batch mode: submit it as a provider batch."""
    return _runtime_from_environment().submit_batch(current_job_id() or "", item_ids)


def collect_batches() -> int:
    """RQ entry point: label what finished provider batches answered."""
    return _runtime_from_environment().collect_batches().labeled


def _runtime_from_environment() -> WorkerRuntime:
    global _runtime
    if _runtime is None:
        _runtime = WorkerRuntime.start(Settings())
    return _runtime


def run_worker(settings: Settings, *, burst: bool = False, name: str | None = None) -> None:
    """Serve jobs until stopped (or, with `burst`, until the queue is empty)."""
    global _runtime
    _runtime = WorkerRuntime.start(settings)
    delivery = Delivery(connect(settings.redis_url), settings.queue_name)
    policy = delivery.eviction_policy()
    if policy not in (None, "noeviction"):
        log.warning("Redis maxmemory-policy is %s; run it with noeviction", policy)
    reconciler = ReconcilerThread(settings, _runtime.engine, delivery)
    reconciler.start()
    try:
        delivery.make_worker(name).work(burst=burst, with_scheduler=False, logging_level="WARNING")
    finally:
        reconciler.stop()
        _runtime.close()
        _runtime = None
