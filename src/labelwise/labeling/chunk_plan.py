"""Deciding, before any call, how each item of a chunk gets its label.

An item is copied from the result cache, or copied from an identical item of the same chunk once
that one is labeled, or asked of the LLM in packs of `items_per_request`. Items of a project at its
spend limit that would need a call get no call at all. Nothing here does I/O, so online labeling
and batch mode plan a chunk the same way.
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from labelwise.domain import LabelOutcome, Usage
from labelwise.errors import ReviewReason
from labelwise.spec import ProjectSpec
from labelwise.store.labeling import ClaimedItem
from labelwise.tasks import TASK_TYPES

VersionKey = tuple[int, int]
"""(project id, version): the project version an item was posted under."""

Packed = TypeVar("Packed")


@dataclass
class ChunkPlan:
    """How a chunk's items get their labels: copied from the result cache (`reused`), copied
    from an identical item of the chunk once it is labeled (`copies`, by that item's id), or
    asked (`to_ask`, by project version, in order)."""

    reused: list[tuple[ClaimedItem, LabelOutcome]] = field(default_factory=list)
    copies: dict[int, list[ClaimedItem]] = field(default_factory=lambda: defaultdict(list))
    to_ask: dict[VersionKey, list[ClaimedItem]] = field(default_factory=lambda: defaultdict(list))

    def take_stopped(self, projects: set[int]) -> list[tuple[VersionKey, ClaimedItem]]:
        """Remove, and return with their versions, the items (copies included) that would need a
        call for a project in `projects`: those projects are at their spend limit."""
        taken = []
        for version in [v for v in self.to_ask if v[0] in projects]:
            for item in self.to_ask.pop(version):
                taken += [(version, waiting) for waiting in (item, *self.copies.pop(item.id, ()))]
        return taken


def plan_chunk(
    claimed: Sequence[ClaimedItem],
    specs: dict[VersionKey, ProjectSpec],
    reused: dict[int, LabelOutcome],
) -> ChunkPlan:
    """Reuse what the cache holds (`reused`, by item id); of identical items still to label, ask
    only the first and let the others wait on it."""
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


def packs_of(items: Sequence[Packed], size: int) -> list[list[Packed]]:
    """`items` in consecutive packs of `size`, the last one possibly shorter: one request each."""
    return [list(items[start : start + size]) for start in range(0, len(items), size)]


def copied(outcome: LabelOutcome, item_id: int) -> LabelOutcome:
    """Another item's outcome as this item's: a cache hit, which cost no call."""
    copy = dataclasses.replace(
        outcome, item_id=item_id, usage=Usage(), batch_usage=Usage(), prior_cost_usd=0.0, attempts=0
    )
    copy.cache_hit, copy.latency_ms = True, 0
    return copy


def spend_limit_reached(item: ClaimedItem) -> LabelOutcome:
    """The outcome of an item whose project hit its spend limit before it was asked."""
    return LabelOutcome(
        item_id=item.id,
        error_reason=ReviewReason.SPEND_LIMIT,
        error_message="the project has reached its spend limit; no call was made",
    )


def fits_task(spec: ProjectSpec, label: object, data: Mapping[str, Any] | None = None) -> bool:
    """Whether a reviewed label can be shown as an example to the version's task as it is now
    (its labels may have changed since the review): the task type checks, as it does gold,
    against the example's own `data` when given."""
    try:
        TASK_TYPES[spec.task.type].checked_value(spec.task, label, data)
    except ValueError:
        return False
    return True
