"""Labeling one delivered chunk: claim the items, label them concurrently, write as they finish.

Inside a chunk many LLM calls are in flight at once, bounded by `llm_concurrency`. Results are
written in small groups every `result_flush_seconds`, so progress shows while a chunk still runs,
and the lease of the items still in flight is renewed so the reconciler leaves them alone. The
workers, the synchronous labeling API and batch mode all finish items through here.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Engine

from labelwise.domain import Example, LabelOutcome
from labelwise.errors import ReviewReason
from labelwise.labeling.chunk_plan import (
    ChunkPlan,
    VersionKey,
    copied,
    packs_of,
    plan_chunk,
    spend_limit_reached,
)
from labelwise.labeling.chunk_store import (
    FinishedItem,
    cached_for,
    claim,
    examples_for,
    projects_over_budget,
    record_finished,
    renew_leases,
    version_specs,
)
from labelwise.labeling.labeler import Labeler, PackItem
from labelwise.labeling.stopping import GracefulStop
from labelwise.observability.worker_metrics import count_lease_renewal
from labelwise.settings import Settings
from labelwise.spec import ProjectSpec
from labelwise.store.labeling import ClaimedItem

log = logging.getLogger(__name__)

FINAL_WRITE_ATTEMPTS = 3


@dataclass(frozen=True)
class PreparedChunk:
    """A claimed chunk once the result cache and the spend limits have had their say: `plan`
    holds what is left to ask (`to_ask`) and the identical items waiting on it (`copies`)."""

    claimed: list[ClaimedItem]
    specs: dict[VersionKey, ProjectSpec]
    plan: ChunkPlan


class ChunkRun:
    """Labels one delivered chunk: claim, label concurrently, write as results arrive.

    `run` does it all, online. Batch mode asks the provider's batch API instead, and uses the
    parts: `prepare` to claim and settle what needs no call, `finish` for each answered item,
    `flush` to write, and `written` to count."""

    def __init__(
        self,
        settings: Settings,
        engine: Engine,
        labeler: Labeler,
        job_id: str,
        stop: GracefulStop | None = None,
    ) -> None:
        self._settings = settings
        self._engine = engine
        self._labeler = labeler
        self._job_id = job_id
        self._stop = stop
        self._finished: list[FinishedItem] = []
        self._in_flight: set[int] = set()
        self._written = 0
        self.unfinished: list[int] = []

    @property
    def written(self) -> int:
        """How many items the writes of this run finished so far."""
        return self._written

    async def run(self, item_ids: Sequence[int]) -> int:
        """Label and write the items this job still owns; returns how many it finished.

        When the worker is stopping and the grace period ends first, the calls in flight are
        cancelled, what finished is written, and the items left are listed in `unfinished` for
        the worker to hand back."""
        chunk = await self.prepare(item_ids)
        if chunk is None:
            return 0
        examples = await asyncio.to_thread(
            examples_for, self._engine, self._labeler, chunk.claimed, chunk.specs
        )
        writer = asyncio.create_task(self._write_periodically())
        try:
            labeling = self._label_all(chunk, examples)
            if self._stop is None:
                await labeling
            else:
                await self._stop.guard(labeling)
        finally:
            writer.cancel()
            await asyncio.gather(writer, return_exceptions=True)
        await self.flush()
        self.unfinished = sorted(self._in_flight)
        return self._written

    async def prepare(self, item_ids: Sequence[int]) -> PreparedChunk | None:
        """Claim the items this job still owns (None when it owns none), then finish those that
        need no call: copied from the result cache, or stopped by their project's spend limit.
        Those are written by the next `flush`."""
        # Database calls run in a thread: on SQLite one may wait for the write lock, and the
        # event loop must keep the LLM calls of this chunk (or the API's requests) moving.
        claimed = await asyncio.to_thread(
            claim, self._settings, self._engine, self._job_id, item_ids
        )
        if not claimed:
            return None
        specs = await asyncio.to_thread(version_specs, self._engine, claimed)
        reused = await asyncio.to_thread(cached_for, self._engine, claimed, specs)
        stopped = await asyncio.to_thread(projects_over_budget, self._engine, claimed)
        self._in_flight = {item.id for item in claimed}
        plan = plan_chunk(claimed, specs, reused)
        for item, outcome in plan.reused:
            self.finish(item, specs[(item.project_id, item.version)], outcome)
        for version, item in plan.take_stopped(stopped):
            self.finish(item, specs[version], spend_limit_reached(item))
        return PreparedChunk(claimed, specs, plan)

    def finish(self, item: ClaimedItem, spec: ProjectSpec, outcome: LabelOutcome) -> None:
        """Hold the item's outcome for the next write; its lease is no longer renewed."""
        self._finished.append(FinishedItem(item, spec, outcome))
        self._in_flight.discard(item.id)

    async def flush(self) -> None:
        """Write every finished item. This last write gets a few tries: a momentary lock should
        not cost the LLM work. If it still fails, it raises (the job fails); the items keep their
        lease and are delivered again later."""
        for attempt in range(FINAL_WRITE_ATTEMPTS):
            try:
                await self._write_finished()
                return
            except Exception:
                if attempt == FINAL_WRITE_ATTEMPTS - 1:
                    raise
                log.exception("final write of job %s failed; trying again", self._job_id)
                await asyncio.sleep(self._settings.result_flush_seconds * 2**attempt)

    async def _label_all(self, chunk: PreparedChunk, examples: dict[int, list[Example]]) -> None:
        """Label every item left to ask once, by the LLM, in requests of `items_per_request`
        items of the same project version; identical items of this chunk wait on the first of
        them (labeled once, by whichever comes first)."""
        packs = [
            pack
            for version, group in chunk.plan.to_ask.items()
            for pack in packs_of(group, chunk.specs[version].items_per_request)
        ]
        await asyncio.gather(
            *(self._label_pack(pack, chunk.specs, examples, chunk.plan.copies) for pack in packs)
        )

    async def _label_pack(
        self,
        pack: Sequence[ClaimedItem],
        specs: dict[VersionKey, ProjectSpec],
        examples: dict[int, list[Example]],
        copies: dict[int, list[ClaimedItem]],
    ) -> None:
        spec = specs[(pack[0].project_id, pack[0].version)]
        outcomes = await self._ask(
            spec, [PackItem(item.id, item.data, examples.get(item.id, ())) for item in pack]
        )
        alone: list[ClaimedItem] = []
        for item, outcome in zip(pack, outcomes, strict=True):
            self.finish(item, spec, outcome)
            for copy in copies.pop(item.id, ()):
                if outcome.error_reason is None:
                    self.finish(copy, spec, copied(outcome, copy.id))
                else:
                    alone.append(copy)  # the first one failed: each copy is labeled itself
        await asyncio.gather(*(self._label_pack([item], specs, examples, {}) for item in alone))

    async def _ask(self, spec: ProjectSpec, items: list[PackItem]) -> list[LabelOutcome]:
        try:
            return await self._labeler.label_pack(spec, items)
        except Exception as exc:  # the labeler should not raise; nothing may be lost if it does
            log.exception("labeling items %s raised", [item.item_id for item in items])
            return [
                LabelOutcome(
                    item_id=item.item_id,
                    error_reason=ReviewReason.LLM_ERROR,
                    error_message=str(exc),
                )
                for item in items
            ]

    async def _write_periodically(self) -> None:
        """Flush finished items and renew the lease of those still in flight.

        A failed write is logged and tried again on the next tick (the rows stay in memory), so
        one locked or unreachable moment of the database neither loses results nor stops the
        lease renewal that keeps the reconciler away from items still being labeled.
        """
        interval = self._settings.result_flush_seconds
        lease_renewal_every = max(1.0, self._settings.work_lease_seconds / 3)
        last_renewal = time.monotonic()
        while True:
            await asyncio.sleep(interval)
            try:
                await self._write_finished()
                if time.monotonic() - last_renewal >= lease_renewal_every and self._in_flight:
                    await asyncio.to_thread(
                        renew_leases,
                        self._settings,
                        self._engine,
                        self._job_id,
                        list(self._in_flight),
                    )
                    count_lease_renewal()
                    last_renewal = time.monotonic()
            except Exception:
                log.exception("writing results of job %s failed; retrying", self._job_id)

    async def _write_finished(self) -> None:
        """One write of what is finished; on failure the rows go back to wait for the next."""
        if not self._finished:
            return
        rows, self._finished = self._finished, []
        try:
            self._written += await asyncio.to_thread(
                record_finished, self._settings, self._engine, rows
            )
        except BaseException:
            self._finished[:0] = rows
            raise
