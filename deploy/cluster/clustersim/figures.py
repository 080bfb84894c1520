"""What the database says about a phase's batch once it has settled, and the run's verdict.

`read_phase` is the one function here that touches the database; everything else is computed from
its rows, so the rules (what counts as lost, as two final labels, as a re-delivery, how fast a
phase went) are tested without a cluster.

The rules, as the service promises them:
- an item is lost when it was posted but is missing, or is not final and not in review;
- an item has more than one final label when it holds two predictions of one project version, or
  a label that disagrees with its status (a final status without a model or human label, or a
  label on an item that is pending or waiting for review);
- a re-delivery is a delivery beyond an item's first (`items.deliveries` counts claims).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import psycopg

FINAL_OR_REVIEW = frozenset({"accepted", "review", "reviewed", "failed"})
LABELED = frozenset({"accepted", "reviewed"})


@dataclass(frozen=True)
class ItemRow:
    id: int
    status: str
    label_source: str | None
    has_label: bool
    deliveries: int


@dataclass(frozen=True)
class PredictionRow:
    item_id: int
    version: int
    created_at: float  # seconds since the epoch


@dataclass(frozen=True)
class PhaseRows:
    posted: int
    started_at: float  # the batch's creation, seconds since the epoch
    items: Sequence[ItemRow]
    predictions: Sequence[PredictionRow]


@dataclass(frozen=True)
class PhaseFigures:
    items: int
    seconds: float
    items_per_second: float
    lost: int
    multi_final_label: int
    redeliveries: int
    statuses: dict[str, int] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {
            "items": self.items,
            "seconds": round(self.seconds, 2),
            "items_per_second": round(self.items_per_second, 2),
            "lost": self.lost,
            "multi_final_label": self.multi_final_label,
            "redeliveries": self.redeliveries,
            "statuses": dict(sorted(self.statuses.items())),
        }


def throughput(count: int, started_at: float, finished_at: float) -> float:
    """Items per second over the span; zero when nothing finished after the start."""
    span = finished_at - started_at
    return count / span if count and span > 0 else 0.0


def lost_items(posted: int, items: Iterable[ItemRow]) -> int:
    rows = list(items)
    unsettled = sum(1 for row in rows if row.status not in FINAL_OR_REVIEW)
    return max(posted - len(rows), 0) + unsettled


def label_disagrees(row: ItemRow) -> bool:
    if row.status in LABELED:
        return not row.has_label or row.label_source is None
    return row.has_label or row.label_source is not None


def multi_final_labels(items: Iterable[ItemRow], predictions: Iterable[PredictionRow]) -> int:
    """Items with two predictions of one version, or a label that disagrees with the status."""
    per_version = Counter((p.item_id, p.version) for p in predictions)
    doubled = {item_id for (item_id, _), n in per_version.items() if n > 1}
    disagreeing = {row.id for row in items if label_disagrees(row)}
    return len(doubled | disagreeing)


def redeliveries(items: Iterable[ItemRow]) -> int:
    return sum(max(row.deliveries - 1, 0) for row in items)


def judge_phase(rows: PhaseRows) -> PhaseFigures:
    finished_at = max((p.created_at for p in rows.predictions), default=rows.started_at)
    return PhaseFigures(
        items=rows.posted,
        seconds=max(finished_at - rows.started_at, 0.0),
        items_per_second=throughput(rows.posted, rows.started_at, finished_at),
        lost=lost_items(rows.posted, rows.items),
        multi_final_label=multi_final_labels(rows.items, rows.predictions),
        redeliveries=redeliveries(rows.items),
        statuses=dict(Counter(row.status for row in rows.items)),
    )


def scaling(one_host: float, many_hosts: float) -> float | None:
    """How many times faster K hosts labeled than one; None when one host measured nothing."""
    return round(many_hosts / one_host, 2) if one_host > 0 else None


def read_phase(dsn: str, batch_id: int, posted: int) -> PhaseRows:
    """The batch's rows as PostgreSQL holds them."""
    with psycopg.connect(dsn, connect_timeout=10) as connection:
        started = connection.execute(
            "SELECT extract(epoch FROM created_at)::float8 FROM batches WHERE id = %s", (batch_id,)
        ).fetchone()
        items = connection.execute(
            "SELECT id, status, label_source, "
            "(label_value IS NOT NULL AND label_value::text <> 'null'), deliveries "
            "FROM items WHERE batch_id = %s",
            (batch_id,),
        ).fetchall()
        predictions = connection.execute(
            "SELECT item_id, version, extract(epoch FROM created_at)::float8 "
            "FROM predictions WHERE batch_id = %s",
            (batch_id,),
        ).fetchall()
    if started is None:
        raise RuntimeError(f"batch {batch_id} is not in the database")
    return PhaseRows(
        posted=posted,
        started_at=float(started[0]),
        items=[ItemRow(*row) for row in items],
        predictions=[PredictionRow(*row) for row in predictions],
    )


def pending_count(dsn: str, batch_id: int) -> int:
    with psycopg.connect(dsn, connect_timeout=5) as connection:
        row = connection.execute(
            "SELECT count(*) FROM items WHERE batch_id = %s AND status = 'pending'", (batch_id,)
        ).fetchone()
    return int(row[0]) if row else 0
