"""Settling a batch's dataset-error guarantee once reviewers have labeled its sample: certify the
cut (`labelwise.scoring.dataset_error`), store it, and release the items held for it (at or above
the cut they keep the model's label, below it they go to review).

It runs right after a reviewer's decision on a sampled item commits, and the reconciler runs it
for every batch still awaiting its sample, so a batch whose last sampled item was reviewed before
its last item was labeled, or whose settling step failed, is settled on the next pass.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from dataclasses import replace

from sqlalchemy import Connection, Engine

from labelwise.domain import BatchGuarantee
from labelwise.scoring.dataset_error import SampledLabel, certify_cut
from labelwise.scoring.routing import review_rank, route_item
from labelwise.spec import ProjectSpec
from labelwise.store.guarantees import (
    batch_guarantees,
    batch_spec,
    batches_awaiting_sample,
    held_page,
    sample_progress,
    sample_verdicts,
    store_guarantee,
)
from labelwise.store.reroute import PAGE_SIZE, RoutingChange, apply_routing
from labelwise.tasks import matches

log = logging.getLogger(__name__)


def settle_batches(engine: Engine, batch_ids: set[int]) -> int:
    """Try to settle each batch, one transaction each; returns how many settled now. A failure
    is logged and left to the reconciler (the batch still awaits its sample)."""
    settled = 0
    for batch_id in sorted(batch_ids):
        try:
            with engine.begin() as connection:
                settled += settle(connection, batch_id=batch_id) is not None
        except Exception:
            log.exception("settling batch %s failed; the reconciler will retry", batch_id)
    return settled


def settle_waiting(engine: Engine) -> int:
    """The reconciler's pass: every batch still awaiting its sample."""
    with engine.begin() as connection:
        waiting = {batch_id for batch_id, _ in batches_awaiting_sample(connection)}
    return settle_batches(engine, waiting)


def settle(
    connection: Connection, *, batch_id: int, now: float | None = None, page_size: int = PAGE_SIZE
) -> BatchGuarantee | None:
    """Certify and apply the batch's cut if its sample is complete; None when there is nothing
    to do now (no guarantee, already settled, or the sample is still being reviewed)."""
    guarantee = batch_guarantees(connection, [batch_id], lock=True)[batch_id]
    if guarantee is None or guarantee.settled:
        return None
    if not sample_progress(connection, batch_id=batch_id).complete:
        return None
    spec = batch_spec(connection, batch_id=batch_id)
    if spec is None:
        return None
    settled = certified(connection, batch_id=batch_id, guarantee=guarantee, spec=spec)
    store_guarantee(connection, batch_id=batch_id, guarantee=settled)
    release_held(
        connection,
        batch_id=batch_id,
        guarantee=settled,
        spec=spec,
        now=time.time() if now is None else now,
        page_size=page_size,
    )
    return settled


def certified(
    connection: Connection, *, batch_id: int, guarantee: BatchGuarantee, spec: ProjectSpec
) -> BatchGuarantee:
    """The guarantee with the cut its reviewed sample certifies (or none)."""
    sample = [
        SampledLabel(
            verdict.confidence,
            verdict.unlabelable
            or not matches(spec.task, verdict.model_value, verdict.reviewed_value),
        )
        for verdict in sample_verdicts(connection, batch_id=batch_id)
    ]
    cut = certify_cut(
        sample,
        population=guarantee.population,
        rate=guarantee.rate,
        target_error=guarantee.target_error,
        guarantee=guarantee.guarantee,
    )
    return replace(
        guarantee,
        state="certified" if cut.cut is not None else "uncertified",
        cut=cut.cut,
        error_bound=cut.error_bound,
        sampled=cut.sampled,
        sampled_errors_kept=cut.sampled_errors_kept,
    )


def release_held(
    connection: Connection,
    *,
    batch_id: int,
    guarantee: BatchGuarantee,
    spec: ProjectSpec,
    now: float,
    page_size: int = PAGE_SIZE,
) -> int:
    """Route the batch's held items by the settled guarantee, a page at a time."""
    released = 0
    after_id: int | None = None
    while True:
        page = held_page(connection, batch_id=batch_id, after_id=after_id, limit=page_size)
        by_version: dict[int, list[RoutingChange]] = defaultdict(list)
        for item, version in page:
            decision = route_item(
                item.confidence,
                spec.routing,
                item_id=item.item_id,
                batch_id=batch_id,
                version=version,
                batch=guarantee,
            )
            rank = review_rank(decision, item.confidence, item_id=item.item_id)
            by_version[version].append(RoutingChange(item, decision, rank))
        for version, changes in by_version.items():
            released += apply_routing(connection, version=version, changes=changes, now=now)
        if len(page) < page_size:
            return released
        after_id = page[-1][0].item_id
