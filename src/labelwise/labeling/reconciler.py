"""Finding work that Redis lost and delivering it again.

Items are leased to the job meant to deliver them. When a lease runs out the item is handed to a
new job and enqueued again, unless its job is still waiting in the queue (then it just gets more
time). An item that has been delivered `max_deliveries` times without finishing goes to review, so a
poison item cannot loop forever. Runs as a loop in every worker and as `labelwise reconcile`.

While provider batches are open (batch mode), each pass asks a worker to collect the finished
ones. The same pass recalibrates versions whose gold reviewers have grown since their last
calibration (a review decision only marks its version stale, so a reviewer never waits for a
recalibration), and settles the dataset-error guarantee of batches whose sample reviewers have
finished (`labelwise.labeling.guarantee`).
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import Engine

from labelwise.errors import ReviewReason
from labelwise.labeling.guarantee import settle_waiting
from labelwise.labeling.queue import Delivery
from labelwise.labeling.recalibration import recalibrate_stale
from labelwise.observability.context import bound
from labelwise.observability.worker_metrics import count_reconcile
from labelwise.settings import Settings
from labelwise.store.labeling import (
    expire_delivery,
    extend_expired,
    find_expired_leases,
    reassign_expired,
    send_to_review,
)
from labelwise.store.provider_batches import count_open_batches

log = logging.getLogger(__name__)

SCAN_LIMIT = 5000


@dataclass
class ReconcileReport:
    # Items found with their delivery lease run out, whatever was done with them.
    expired: int = 0
    redelivered: int = 0
    still_queued: int = 0
    sent_to_review: int = 0
    recalibrated: int = 0
    # Batches whose reviewed sample certified (or could not certify) their cut in this pass.
    guarantees_settled: int = 0
    # Provider batches still open, for which a collection was asked.
    provider_batches_open: int = 0


def reconcile_once(settings: Settings, engine: Engine, delivery: Delivery) -> ReconcileReport:
    """One pass. What it did also goes to the worker's metrics, as far as it got: a pass that
    raises midway still counts the items it had already redelivered."""
    report = ReconcileReport()
    finished = False
    try:
        report.recalibrated = recalibrate_stale(engine, max_gold=settings.calibration_max_gold)
        report.guarantees_settled = settle_waiting(engine)
        with engine.begin() as connection:
            report.provider_batches_open = count_open_batches(connection)
        if report.provider_batches_open:
            delivery.enqueue_collect()
        _reconcile_leases(settings, engine, delivery, report)
        finished = True
    finally:
        count_reconcile(
            finished=finished,
            expired=report.expired,
            redelivered=report.redelivered,
            still_queued=report.still_queued,
            sent_to_review=report.sent_to_review,
        )
    return report


def _reconcile_leases(
    settings: Settings, engine: Engine, delivery: Delivery, report: ReconcileReport
) -> None:
    """Expired leases, in scans of `SCAN_LIMIT`: poison items to review, items whose job still
    waits in the queue get more time, the rest are delivered again."""
    while True:
        now = time.time()
        with engine.begin() as connection:
            expired = find_expired_leases(connection, now=now, limit=SCAN_LIMIT)
        if not expired:
            return
        report.expired += len(expired)
        exhausted = [e.id for e in expired if e.deliveries >= settings.max_deliveries]
        by_owner: dict[str | None, list[int]] = defaultdict(list)
        for e in expired:
            if e.deliveries < settings.max_deliveries:
                by_owner[e.lease_owner].append(e.id)
        waiting = [
            item_id
            for owner, ids in by_owner.items()
            if owner is not None and delivery.is_waiting(owner)
            for item_id in ids
        ]
        settled = set(waiting) | set(exhausted)
        lost = [e.id for e in expired if e.id not in settled]
        with engine.begin() as connection:
            report.sent_to_review += send_to_review(
                connection, item_ids=exhausted, now=now, reason=ReviewReason.DELIVERY_EXHAUSTED
            )
            extend_expired(
                connection,
                item_ids=waiting,
                now=now,
                lease_until=now + settings.queued_lease_seconds,
            )
        if exhausted:
            log.warning("items sent to review after max deliveries", extra={"item_ids": exhausted})
        report.still_queued += len(waiting)
        report.redelivered += _redeliver(settings, engine, delivery, lost, now)
        if len(expired) < SCAN_LIMIT:
            return


def _redeliver(
    settings: Settings, engine: Engine, delivery: Delivery, item_ids: list[int], now: float
) -> int:
    chunks: dict[str, list[int]] = {}
    with engine.begin() as connection:
        for start in range(0, len(item_ids), settings.chunk_size):
            job_id = uuid.uuid4().hex
            taken = reassign_expired(
                connection,
                item_ids=item_ids[start : start + settings.chunk_size],
                job_id=job_id,
                now=now,
                lease_until=now + settings.queued_lease_seconds,
            )
            if taken:
                chunks[job_id] = taken
    try:
        delivery.enqueue_chunks(chunks)
    except Exception:
        # Committed but not delivered: expire the leases so the next pass tries again at once.
        with engine.begin() as connection:
            expire_delivery(connection, job_ids=list(chunks))
        raise
    for job_id, ids in chunks.items():
        with bound(job_id=job_id):
            log.info("items redelivered", extra={"items": len(ids), "item_ids": ids})
    return sum(len(ids) for ids in chunks.values())


class ReconcilerThread:
    """Runs `reconcile_once` every `reconcile_interval_seconds` beside a worker's job loop."""

    def __init__(self, settings: Settings, engine: Engine, delivery: Delivery) -> None:
        self.settings = settings
        self.engine = engine
        self.delivery = delivery
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="labelwise-reconciler", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _loop(self) -> None:
        while not self._stop.wait(self.settings.reconcile_interval_seconds):
            try:
                report = reconcile_once(self.settings, self.engine, self.delivery)
            except Exception:  # a Redis or database hiccup: try again next round
                log.exception("reconcile pass failed")
                continue
            if report.redelivered or report.sent_to_review:
                log.warning("reconciler: %s", report)
