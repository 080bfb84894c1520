"""What only a worker does, counted: the chunks it runs and what its reconciler finds.

`chunk_span` wraps the labeling of one delivered chunk: it binds the job id for every log line
written meanwhile, logs the chunk taken and its end, and counts it started, then finished,
handed back (a graceful stop gave part of it to another worker) or failed.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

from prometheus_client import Counter, Histogram

from labelwise.observability.context import bound
from labelwise.observability.registries import worker_metric

log = logging.getLogger("labelwise.chunks")

CHUNK_BUCKETS = (1.0, 5.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0)

CHUNKS = worker_metric(
    Counter(
        "labelwise_chunks",
        "Chunks by event: started, then finished, handed_back or failed",
        ["event"],
        registry=None,
    )
)
CHUNK_SECONDS = worker_metric(
    Histogram(
        "labelwise_chunk_seconds",
        "Time from taking a chunk to its end, whatever the end",
        buckets=CHUNK_BUCKETS,
        registry=None,
    )
)
LEASE_RENEWALS = worker_metric(
    Counter(
        "labelwise_lease_renewals",
        "Renewals of the leases of items still being labeled",
        registry=None,
    )
)
RECONCILE_PASSES = worker_metric(
    Counter(
        "labelwise_reconciler_passes", "Reconciler passes by outcome", ["outcome"], registry=None
    )
)
EXPIRED_LEASES = worker_metric(
    Counter(
        "labelwise_reconciler_expired_leases",
        "Items the reconciler found with their delivery lease run out",
        registry=None,
    )
)
REDELIVERED = worker_metric(
    Counter(
        "labelwise_reconciler_redelivered_items",
        "Items the reconciler delivered again under a new job",
        registry=None,
    )
)
STILL_QUEUED = worker_metric(
    Counter(
        "labelwise_reconciler_extended_items",
        "Expired items whose job was still waiting in the queue: given more time, not redelivered",
        registry=None,
    )
)
EXHAUSTED = worker_metric(
    Counter(
        "labelwise_reconciler_exhausted_items",
        "Items sent to review after max_deliveries deliveries without a label",
        registry=None,
    )
)


@dataclass
class ChunkSpan:
    """What the chunk's runner tells the span before it ends."""

    job_id: str
    items: int
    written: int = 0
    handed_back: int = 0


@contextmanager
def chunk_span(job_id: str, item_ids: Sequence[int]) -> Iterator[ChunkSpan]:
    """Around the labeling of one chunk; set `written` (and `handed_back`) on what it yields."""
    span = ChunkSpan(job_id, len(item_ids))
    started = time.perf_counter()
    with bound(job_id=job_id):
        CHUNKS.labels("started").inc()
        log.info("chunk taken", extra={"items": span.items, "item_ids": list(item_ids)})
        try:
            yield span
        except BaseException as exc:
            _end(span, "failed", started, error=type(exc).__name__)
            raise
        _end(span, "handed_back" if span.handed_back else "finished", started)


def _end(span: ChunkSpan, event: str, started: float, error: str | None = None) -> None:
    seconds = time.perf_counter() - started
    CHUNKS.labels(event).inc()
    CHUNK_SECONDS.observe(seconds)
    fields: dict[str, object] = {
        "event": event,
        "items": span.items,
        "written": span.written,
        "handed_back": span.handed_back,
        "seconds": round(seconds, 3),
    }
    if error is not None:
        fields["error"] = error
    log.log(logging.WARNING if error else logging.INFO, "chunk ended", extra=fields)


def count_lease_renewal() -> None:
    LEASE_RENEWALS.inc()


def count_reconcile(
    *, finished: bool, expired: int, redelivered: int, still_queued: int, sent_to_review: int
) -> None:
    """One reconciler pass, `finished` or stopped by an error after doing what it counts."""
    RECONCILE_PASSES.labels("ok" if finished else "failed").inc()
    EXPIRED_LEASES.inc(expired)
    REDELIVERED.inc(redelivered)
    STILL_QUEUED.inc(still_queued)
    EXHAUSTED.inc(sent_to_review)
