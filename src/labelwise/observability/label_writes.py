"""What one write of finished items reports: a log line for the write, one per item at DEBUG,
the items by where routing sent them, and the money their predictions cost.

Called where outcomes are written (`labeling.chunk_store.record_finished`), which every path
that labels goes through: the workers, the API's synchronous labeling and batch mode.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from prometheus_client import Counter

from labelwise.domain import OutcomeRow
from labelwise.observability.registries import labeling_metric

log = logging.getLogger("labelwise.labels")

ITEMS_LABELED = labeling_metric(
    Counter(
        "labelwise_items_labeled",
        "Items written with a model's outcome, by the status routing gave them and its reason",
        ["status", "reason"],
        registry=None,
    )
)
COST_USD = labeling_metric(
    Counter(
        "labelwise_llm_cost_usd",
        "US dollars the written predictions cost, by model",
        ["model"],
        registry=None,
    )
)


def report_written(rows: Sequence[OutcomeRow]) -> None:
    """Count and log the rows of one write (a row another delivery already finished included:
    its calls were paid for all the same)."""
    if not rows:
        return
    for row in rows:
        reason = row.reason.value if row.reason is not None else ""
        ITEMS_LABELED.labels(row.status.value, reason).inc()
        if row.cost_usd:
            COST_USD.labels(row.model).inc(row.cost_usd)
    log.info(
        "labels written",
        extra={"items": len(rows), "labels": {str(row.item_id): _outcome(row) for row in rows}},
    )
    if log.isEnabledFor(logging.DEBUG):
        for row in rows:
            log.debug("label written", extra=_details(row))


def _outcome(row: OutcomeRow) -> str:
    """`accepted`, or `review:low_confidence`: the status, and the reason when there is one."""
    return row.status.value if row.reason is None else f"{row.status.value}:{row.reason.value}"


def _details(row: OutcomeRow) -> dict[str, object]:
    return {
        "item_id": row.item_id,
        "batch_id": row.batch_id,
        "status": row.status.value,
        "reason": row.reason.value if row.reason is not None else None,
        "model": row.model,
        "confidence": row.confidence,
        "attempts": row.attempts,
        "cost_usd": row.cost_usd,
        "cache_hit": row.cache_hit,
    }
