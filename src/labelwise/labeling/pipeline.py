"""Labeling one delivered chunk: claim the items, label them concurrently, write as they finish.

Inside a chunk many LLM calls are in flight at once, bounded by `llm_concurrency`. Results are
written in small groups every `result_flush_seconds`, so progress shows while a chunk still runs,
and the lease of the items still in flight is renewed so the reconciler leaves them alone. Both the
workers and the synchronous labeling API finish items through here.

Items are routed when they are written, in the writing transaction, by the calibration stored at
that moment; a write that brings gold marks its version stale, and the version is recalibrated
right after the commit.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from labelwise.cost.pricing import price_for
from labelwise.domain import Example, LabelOutcome, Usage
from labelwise.errors import ReviewReason
from labelwise.labeling.examples import ExampleIndex
from labelwise.labeling.labeler import Labeler, PackItem
from labelwise.labeling.outcomes import outcome_row
from labelwise.labeling.recalibration import recalibrate
from labelwise.settings import Settings
from labelwise.spec import ProjectSpec
from labelwise.store.calibrations import mark_stale, stored_calibrations
from labelwise.store.db import read_only
from labelwise.store.examples import reviewed_examples
from labelwise.store.labeling import (
    ClaimedItem,
    claim_delivered_items,
    extend_leases,
    record_outcomes,
)
from labelwise.store.projects import get_version_specs
from labelwise.store.result_cache import cached_outcomes
from labelwise.store.spend import over_budget

log = logging.getLogger(__name__)

FINAL_WRITE_ATTEMPTS = 3


@dataclass(frozen=True)
class _Finished:
    item: ClaimedItem
    spec: ProjectSpec
    outcome: LabelOutcome


def projects_over_budget(engine: Engine, claimed: Sequence[ClaimedItem]) -> set[int]:
    """Projects already at their spend limit. Their items were reserved for on the way in, but
    estimates are estimates: the limit is checked again before any call is made, so spend passes
    it by at most the calls in flight when it was reached."""
    with read_only(engine).connect() as connection:
        return over_budget(connection, {item.project_id for item in claimed})


def spend_limit_reached(item: ClaimedItem) -> LabelOutcome:
    return LabelOutcome(
        item_id=item.id,
        error_reason=ReviewReason.SPEND_LIMIT,
        error_message="the project has reached its spend limit; no call was made",
    )


def claim(
    settings: Settings, engine: Engine, job_id: str, item_ids: Sequence[int]
) -> list[ClaimedItem]:
    """The delivered items this job still owns, leased to it for a working while."""
    with engine.begin() as connection:
        return claim_delivered_items(
            connection,
            job_id=job_id,
            item_ids=item_ids,
            lease_until=time.time() + settings.work_lease_seconds,
        )


def version_specs(
    engine: Engine, claimed: Sequence[ClaimedItem]
) -> dict[tuple[int, int], ProjectSpec]:
    """The project versions the items were posted under."""
    with Session(read_only(engine)) as session:
        return get_version_specs(session, {(item.project_id, item.version) for item in claimed})


def cached_for(
    engine: Engine, claimed: Sequence[ClaimedItem], specs: dict[tuple[int, int], ProjectSpec]
) -> dict[int, LabelOutcome]:
    """Items whose content an earlier prediction of their version already labeled."""
    wanted: dict[tuple[int, int, int | None], list[ClaimedItem]] = defaultdict(list)
    for item in claimed:
        scope = specs[(item.project_id, item.version)].result_cache
        if scope != "off" and item.content_hash:
            batch = item.batch_id if scope == "batch" else None
            wanted[(item.project_id, item.version, batch)].append(item)
    if not wanted:
        return {}
    reused: dict[int, LabelOutcome] = {}
    with read_only(engine).connect() as connection:
        for (project_id, version, batch), group in wanted.items():
            found = cached_outcomes(
                connection,
                project_id=project_id,
                version=version,
                hashes=[item.content_hash for item in group if item.content_hash],
                batch_id=batch,
            )
            for item in group:
                if item.content_hash in found:
                    reused[item.id] = found[item.content_hash]
    return reused


@dataclass
class ChunkPlan:
    """How a chunk's items get their labels: copied from the result cache (`reused`), copied
    from an identical item of the chunk once it is labeled (`copies`, by that item's id), or
    asked (`to_ask`, by project version, in order)."""

    reused: list[tuple[ClaimedItem, LabelOutcome]] = field(default_factory=list)
    copies: dict[int, list[ClaimedItem]] = field(default_factory=lambda: defaultdict(list))
    to_ask: dict[tuple[int, int], list[ClaimedItem]] = field(
        default_factory=lambda: defaultdict(list)
    )

    def take_stopped(self, projects: set[int]) -> list[tuple[tuple[int, int], ClaimedItem]]:
        """Remove, and return with their versions, the items (copies included) that would need a
        call for a project in `projects`: those projects are at their spend limit."""
        taken = []
        for version in [v for v in self.to_ask if v[0] in projects]:
            for item in self.to_ask.pop(version):
                taken += [(version, waiting) for waiting in (item, *self.copies.pop(item.id, ()))]
        return taken


def plan_chunk(
    claimed: Sequence[ClaimedItem],
    specs: dict[tuple[int, int], ProjectSpec],
    reused: dict[int, LabelOutcome],
) -> ChunkPlan:
    plan = ChunkPlan()
    first_of: dict[tuple[int, int, int | None, str], ClaimedItem] = {}
    for item in claimed:
        spec = specs[(item.project_id, item.version)]
        if item.id in reused:
            plan.reused.append((item, copied(reused[item.id], item.id)))
            continue
        key = _content_key(item, spec)
        if key is not None and key in first_of:
            plan.copies[first_of[key].id].append(item)
            continue
        if key is not None:
            first_of[key] = item
        plan.to_ask[(item.project_id, item.version)].append(item)
    return plan


def _content_key(item: ClaimedItem, spec: ProjectSpec) -> tuple[int, int, int | None, str] | None:
    """What identical items share under the version's result cache; None when it is off."""
    if spec.result_cache == "off" or not item.content_hash:
        return None
    batch = item.batch_id if spec.result_cache == "batch" else None
    return (item.project_id, item.version, batch, item.content_hash)


def copied(outcome: LabelOutcome, item_id: int) -> LabelOutcome:
    """Another item's outcome as this item's: a cache hit, which cost no call."""
    copy = dataclasses.replace(outcome, item_id=item_id, usage=Usage(), attempts=0)
    copy.cache_hit, copy.latency_ms = True, 0
    return copy


def _labels_of(value: object) -> set[str]:
    return {str(v) for v in value} if isinstance(value, list) else {str(value)}


class ChunkRun:
    """Labels one delivered chunk: claim, label concurrently, write as results arrive."""

    def __init__(self, settings: Settings, engine: Engine, labeler: Labeler, job_id: str) -> None:
        self.settings = settings
        self.engine = engine
        self.labeler = labeler
        self.job_id = job_id
        self.finished: list[_Finished] = []
        self.in_flight: set[int] = set()
        self.written = 0

    async def run(self, item_ids: Sequence[int]) -> int:
        # Database calls run in a thread: on SQLite one may wait for the write lock, and the
        # event loop must keep the LLM calls of this chunk (or the API's requests) moving.
        claimed = await asyncio.to_thread(self._claim, item_ids)
        if not claimed:
            return 0
        specs = await asyncio.to_thread(self._specs, claimed)
        examples = await asyncio.to_thread(self._examples, claimed, specs)
        reused = await asyncio.to_thread(cached_for, self.engine, claimed, specs)
        stopped = await asyncio.to_thread(projects_over_budget, self.engine, claimed)
        self.in_flight = {item.id for item in claimed}
        writer = asyncio.create_task(self._write_periodically())
        try:
            await self._label_all(claimed, specs, examples, reused, stopped)
        finally:
            writer.cancel()
            await asyncio.gather(writer, return_exceptions=True)
        await self.flush()
        return self.written

    async def flush(self) -> None:
        """The last write gets a few tries: a momentary lock should not cost the LLM work. If it
        still fails, the job fails; the items keep their lease and are delivered again later."""
        for attempt in range(FINAL_WRITE_ATTEMPTS):
            try:
                await self._flush()
                return
            except Exception:
                if attempt == FINAL_WRITE_ATTEMPTS - 1:
                    raise
                log.exception("final write of job %s failed; trying again", self.job_id)
                await asyncio.sleep(self.settings.result_flush_seconds * 2**attempt)

    def _claim(self, item_ids: Sequence[int]) -> list[ClaimedItem]:
        return claim(self.settings, self.engine, self.job_id, item_ids)

    def _specs(self, claimed: Sequence[ClaimedItem]) -> dict[tuple[int, int], ProjectSpec]:
        return version_specs(self.engine, claimed)

    def _examples(
        self, claimed: Sequence[ClaimedItem], specs: dict[tuple[int, int], ProjectSpec]
    ) -> dict[int, list[Example]]:
        """For projects that learn from reviews: the reviewed items most like each item, with
        labels the item's version still has. The pool is cached per process for a short while."""
        chosen: dict[int, list[Example]] = {}
        cache = self.labeler.example_cache
        for item in claimed:
            spec = specs[(item.project_id, item.version)]
            k = spec.task.examples_from_reviews
            if k == 0:
                continue
            index = cache.get(item.project_id)
            if index is None:
                with read_only(self.engine).connect() as connection:
                    index = ExampleIndex(reviewed_examples(connection, project_id=item.project_id))
                cache.put(item.project_id, index)
            allowed = set(spec.task.label_names)
            similar = index.most_similar(item.data, k * 2, exclude_item=item.id)
            chosen[item.id] = [e for e in similar if _labels_of(e.label) <= allowed][:k]
        return chosen

    async def _label_all(
        self,
        claimed: Sequence[ClaimedItem],
        specs: dict[tuple[int, int], ProjectSpec],
        examples: dict[int, list[Example]],
        reused: dict[int, LabelOutcome],
        stopped: set[int],
    ) -> None:
        """Label every claimed item once: from the result cache; as a copy of an identical item
        of this chunk (labeled once, by whichever comes first); or by the LLM, in requests of
        `items_per_request` items of the same project version. Items of projects in `stopped`
        (at their spend limit) that would need a call go to review instead."""
        plan = plan_chunk(claimed, specs, reused)
        for item, outcome in plan.reused:
            self.finish(item, specs[(item.project_id, item.version)], outcome)
        for version, item in plan.take_stopped(stopped):
            self.finish(item, specs[version], spend_limit_reached(item))
        to_ask, copies = plan.to_ask, plan.copies
        packs = [
            group[start : start + size]
            for version, group in to_ask.items()
            for size in [specs[version].items_per_request]
            for start in range(0, len(group), size)
        ]
        await asyncio.gather(*(self._label_pack(pack, specs, examples, copies) for pack in packs))

    async def _label_pack(
        self,
        pack: Sequence[ClaimedItem],
        specs: dict[tuple[int, int], ProjectSpec],
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

    def finish(self, item: ClaimedItem, spec: ProjectSpec, outcome: LabelOutcome) -> None:
        self.finished.append(_Finished(item, spec, outcome))
        self.in_flight.discard(item.id)

    async def _ask(self, spec: ProjectSpec, items: list[PackItem]) -> list[LabelOutcome]:
        try:
            return await self.labeler.label_pack(spec, items)
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
        interval = self.settings.result_flush_seconds
        lease_renewal_every = max(1.0, self.settings.work_lease_seconds / 3)
        last_renewal = time.monotonic()
        while True:
            await asyncio.sleep(interval)
            try:
                await self._flush()
                if time.monotonic() - last_renewal >= lease_renewal_every and self.in_flight:
                    await asyncio.to_thread(self._renew_leases, list(self.in_flight))
                    last_renewal = time.monotonic()
            except Exception:
                log.exception("writing results of job %s failed; retrying", self.job_id)

    async def _flush(self) -> None:
        if not self.finished:
            return
        rows, self.finished = self.finished, []
        try:
            self.written += await asyncio.to_thread(self._record, rows)
        except BaseException:
            self.finished[:0] = rows
            raise

    def _record(self, finished: list[_Finished]) -> int:
        """Route and write in one transaction. Versions that learn from gold (a target precision,
        consensus) are routed by their stored calibration, locked until commit. Gold among the
        rows marks its version stale in that transaction; the version is recalibrated after the
        commit (see `recalibration`), so the write holds the version row only briefly."""
        specs = {(f.item.project_id, f.item.version): f.spec for f in finished}
        calibrated = [key for key, spec in specs.items() if spec.learns_from_gold]
        with_gold = {(f.item.project_id, f.item.version) for f in finished if f.item.gold} & set(
            calibrated
        )
        with self.engine.begin() as connection:
            calibrations = stored_calibrations(connection, calibrated, lock=True)
            rows = [
                outcome_row(
                    f.outcome,
                    batch_id=f.item.batch_id,
                    version=f.item.version,
                    spec=f.spec,
                    price=price_for(f.spec.model, self.settings.prices),
                    batch_price_factor=self.settings.batch_price_factor,
                    calibration=calibrations.get((f.item.project_id, f.item.version)),
                )
                for f in finished
            ]
            written = record_outcomes(connection, rows, now=time.time())
            for project_id, version in sorted(with_gold):
                mark_stale(connection, project_id=project_id, version=version)
        recalibrate(self.engine, {key: specs[key] for key in with_gold})
        return written

    def _renew_leases(self, item_ids: list[int]) -> None:
        with self.engine.begin() as connection:
            extend_leases(
                connection,
                job_id=self.job_id,
                item_ids=item_ids,
                lease_until=time.time() + self.settings.work_lease_seconds,
            )
