"""How reviewers agree: with each other (kappa, overall and per label), with the final labels, and
how many items an hour they decide. Pure functions over the decisions the store returns.

Two decisions are the same answer when the task's type says so (`labelwise.tasks.matches`), the
same comparison that decides whether a model's label is right on gold.
"""

from __future__ import annotations

import json
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import Any

from labelwise.domain import ItemStatus
from labelwise.quality.metrics import labels_in, proportion
from labelwise.quality.report_models import ReviewAgreement, ReviewerStats
from labelwise.review.kappa import kappa, per_label_kappa
from labelwise.review.verdict import UNLABELABLE
from labelwise.spec import TaskSpec
from labelwise.store.quality import DecisionRecord
from labelwise.tasks import matches

# A decision that took longer than this counts as this long: the reviewer was away.
MAX_SECONDS_PER_DECISION = 600.0


class AnswerCategories:
    """Numbers answers so that answers the task's type deems the same share a number: the
    categories kappa counts. Each distinct stored value is compared once, against the first
    answer of every category so far."""

    def __init__(self, task: TaskSpec) -> None:
        self._task = task
        self._firsts: list[Any] = []
        self._by_stored: dict[str, int] = {}

    def of(self, value: Any) -> int:
        stored = json.dumps(value, sort_keys=True)
        if stored not in self._by_stored:
            self._by_stored[stored] = self._matching(value)
        return self._by_stored[stored]

    def _matching(self, value: Any) -> int:
        for number, first in enumerate(self._firsts):
            if matches(self._task, value, first):
                return number
        self._firsts.append(value)
        return len(self._firsts) - 1


@dataclass(frozen=True)
class Rating:
    """One reviewer's decision as kappa sees it: its category, and the labels it applies."""

    category: Hashable
    labels: frozenset[str]


def ratings_by_item(records: Sequence[DecisionRecord], task: TaskSpec) -> dict[int, list[Rating]]:
    """Each item's reviewers' ratings (an adjudicator's decision is not a rating: it settles a
    disagreement, it does not take part in it)."""
    categories = AnswerCategories(task)
    by_item: dict[int, list[Rating]] = {}
    for record in records:
        if record.adjudication:
            continue
        rating = (
            Rating(UNLABELABLE, frozenset([UNLABELABLE]))
            if record.unlabelable
            else Rating(categories.of(record.value), labels_in(record.value, task))
        )
        by_item.setdefault(record.item_id, []).append(rating)
    return by_item


def review_agreement(records: Sequence[DecisionRecord], task: TaskSpec) -> ReviewAgreement:
    several = [r for r in ratings_by_item(records, task).values() if len(r) >= 2]
    statistic = None
    if several:
        statistic = "cohen" if all(len(r) == 2 for r in several) else "fleiss"
    by_reviewer: dict[str, list[DecisionRecord]] = {}
    for record in records:
        by_reviewer.setdefault(record.reviewer, []).append(record)
    categories = [[rating.category for rating in item] for item in several]
    label_sets = [[rating.labels for rating in item] for item in several]
    return ReviewAgreement(
        items_with_several=len(several),
        statistic=statistic,
        kappa=kappa(categories) if several else None,
        per_label=per_label_kappa(label_sets, task.label_names) if several else {},
        reviewers=[reviewer_stats(name, mine, task) for name, mine in sorted(by_reviewer.items())],
    )


def agrees_with_final(record: DecisionRecord, task: TaskSpec) -> bool:
    """An unlabelable decision agrees with an item that failed; a label with the item's label."""
    if record.unlabelable:
        return record.item_status == ItemStatus.FAILED.value
    return matches(task, record.value, record.item_label)


def reviewer_stats(name: str, mine: Sequence[DecisionRecord], task: TaskSpec) -> ReviewerStats:
    timed = [r.decided_at - r.claimed_at for r in mine if r.claimed_at is not None]
    active = sum(min(max(seconds, 0.0), MAX_SECONDS_PER_DECISION) for seconds in timed)
    final = [
        r for r in mine if r.item_status in (ItemStatus.REVIEWED.value, ItemStatus.FAILED.value)
    ]
    agreed = sum(agrees_with_final(r, task) for r in final)
    return ReviewerStats(
        reviewer=name,
        decisions=len(mine),
        items_per_hour=round(len(timed) * 3600 / active, 1) if active > 0 else None,
        agreement_with_final=proportion(agreed, len(final)),
    )
