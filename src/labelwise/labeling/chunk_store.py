"""What a chunk run reads from and writes to the store; every function here blocks.

Callers on an event loop run these in a thread: on SQLite a write may wait for the lock, and the
loop must keep the chunk's LLM calls (or the API's requests) moving meanwhile.

Items are routed when they are written, in the writing transaction, by the calibration stored at
that moment; a write that brings gold marks its version stale, and the version is recalibrated
right after the commit.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from labelwise.cost.pricing import price_for
from labelwise.domain import Example, LabelOutcome
from labelwise.labeling.cascade import settling_model
from labelwise.labeling.chunk_plan import VersionKey, fits_task
from labelwise.labeling.examples import ExampleIndex
from labelwise.labeling.guarantee import settle_batches
from labelwise.labeling.labeler import Labeler
from labelwise.labeling.outcomes import outcome_row
from labelwise.labeling.recalibration import recalibrate
from labelwise.observability.label_writes import report_written
from labelwise.settings import Settings
from labelwise.spec import ProjectSpec
from labelwise.store.calibrations import mark_stale, stored_calibrations
from labelwise.store.db import read_only
from labelwise.store.examples import reviewed_examples
from labelwise.store.guarantees import batch_guarantees
from labelwise.store.labeling import (
    ClaimedItem,
    claim_delivered_items,
    extend_leases,
    record_outcomes,
)
from labelwise.store.projects import get_version_specs
from labelwise.store.result_cache import cached_outcomes
from labelwise.store.spend import over_budget


@dataclass(frozen=True)
class FinishedItem:
    """An item labeled (or given up on) and waiting to be written."""

    item: ClaimedItem
    spec: ProjectSpec
    outcome: LabelOutcome

    @property
    def version_key(self) -> VersionKey:
        return (self.item.project_id, self.item.version)


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


def renew_leases(settings: Settings, engine: Engine, job_id: str, item_ids: list[int]) -> None:
    """Items still in flight keep their lease, so the reconciler leaves them alone."""
    with engine.begin() as connection:
        extend_leases(
            connection,
            job_id=job_id,
            item_ids=item_ids,
            lease_until=time.time() + settings.work_lease_seconds,
        )


def version_specs(engine: Engine, claimed: Sequence[ClaimedItem]) -> dict[VersionKey, ProjectSpec]:
    """The project versions the items were posted under."""
    with Session(read_only(engine)) as session:
        return get_version_specs(session, {(item.project_id, item.version) for item in claimed})


def projects_over_budget(engine: Engine, claimed: Sequence[ClaimedItem]) -> set[int]:
    """Projects already at their spend limit. Their items were reserved for on the way in, but
    estimates are estimates: the limit is checked again before any call is made, so spend passes
    it by at most the calls in flight when it was reached."""
    with read_only(engine).connect() as connection:
        return over_budget(connection, {item.project_id for item in claimed})


def cached_for(
    engine: Engine, claimed: Sequence[ClaimedItem], specs: dict[VersionKey, ProjectSpec]
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


def examples_for(
    engine: Engine,
    labeler: Labeler,
    claimed: Sequence[ClaimedItem],
    specs: dict[VersionKey, ProjectSpec],
) -> dict[int, list[Example]]:
    """For projects that learn from reviews: the reviewed items most like each item, with
    labels the item's version still has. The pool is cached per process for a short while."""
    chosen: dict[int, list[Example]] = {}
    cache = labeler.example_cache
    for item in claimed:
        spec = specs[(item.project_id, item.version)]
        k = spec.task.examples_from_reviews
        if k == 0:
            continue
        index = cache.get(item.project_id)
        if index is None:
            with read_only(engine).connect() as connection:
                index = ExampleIndex(reviewed_examples(connection, project_id=item.project_id))
            cache.put(item.project_id, index)
        similar = index.most_similar(item.data, k * 2, exclude_item=item.id)
        chosen[item.id] = [e for e in similar if fits_task(spec, e.label, e.data)][:k]
    return chosen


def record_finished(settings: Settings, engine: Engine, finished: Sequence[FinishedItem]) -> int:
    """Route and write in one transaction; returns how many items this write finished.

    Versions that learn from gold (a target precision, consensus) are routed by their stored
    calibration, locked until commit. Gold among the rows marks its version stale in that
    transaction; the version is recalibrated after the commit (see `recalibration`), so the
    write holds the version row only briefly."""
    specs = {f.version_key: f.spec for f in finished}
    calibrated = [key for key, spec in specs.items() if spec.learns_from_gold]
    with_gold = {f.version_key for f in finished if f.item.gold} & set(calibrated)
    sampling = {f.item.batch_id for f in finished if f.spec.routing.target_error is not None}
    with engine.begin() as connection:
        calibrations = stored_calibrations(connection, calibrated, lock=True)
        guarantees = batch_guarantees(connection, sampling, lock=True)
        rows = [
            outcome_row(
                f.outcome,
                batch_id=f.item.batch_id,
                version=f.item.version,
                spec=f.spec,
                price=price_for(settling_model(f.spec, f.outcome.model), settings.prices),
                batch_price_factor=settings.batch_price_factor,
                calibration=calibrations.get(f.version_key),
                batch_guarantee=guarantees.get(f.item.batch_id),
            )
            for f in finished
        ]
        written = record_outcomes(connection, rows, now=time.time())
        for project_id, version in sorted(with_gold):
            mark_stale(connection, project_id=project_id, version=version)
    report_written(rows)
    recalibrate(
        engine,
        {key: specs[key] for key in with_gold},
        max_gold=settings.calibration_max_gold,
    )
    # The batch's last items may come after its sample was reviewed: it can settle now.
    settle_batches(engine, {b for b, g in guarantees.items() if g is not None and not g.settled})
    return written
