"""When reviewers' decisions make an item final: pure functions over the decisions so far.

An item is final when `needed` reviewers gave the same decision (the same answer, as the task's
type compares answers, or "unlabelable"), or when an adjudicator decides. When every reviewer asked
for has decided without such agreement, the item goes to an adjudicator.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from labelwise.spec import ReviewSpec, TaskSpec
from labelwise.tasks import matches

UNLABELABLE = "unlabelable"


@dataclass(frozen=True)
class Decision:
    reviewer: str
    value: Any
    unlabelable: bool = False

    def same_as(self, other: Decision, task: TaskSpec) -> bool:
        """Two reviewers decided alike: both found the item unlabelable, or gave the same answer
        as the task's type compares answers (label sets are sets, whatever their order)."""
        if self.unlabelable or other.unlabelable:
            return self.unlabelable and other.unlabelable
        return matches(task, self.value, other.value)


@dataclass(frozen=True)
class Verdict:
    final: bool
    value: Any = None
    unlabelable: bool = False
    # Who agreed on the final decision (or the adjudicator), for `labeled_by`.
    decided_by: tuple[str, ...] = ()
    # Every reviewer asked for has decided and they do not agree: an adjudicator must.
    to_adjudicator: bool = False


def verdict(
    decisions: Sequence[Decision],
    policy: ReviewSpec,
    task: TaskSpec,
    *,
    adjudicator: Decision | None = None,
) -> Verdict:
    if adjudicator is not None:
        return _final(adjudicator, (adjudicator.reviewer,))
    if not decisions:
        return Verdict(final=False)
    largest = max(agreeing_groups(decisions, task), key=len)
    if len(largest) >= policy.needed:
        return _final(largest[0], tuple(d.reviewer for d in largest))
    return Verdict(final=False, to_adjudicator=len(decisions) >= policy.reviewers_per_item)


def agreeing_groups(decisions: Sequence[Decision], task: TaskSpec) -> list[list[Decision]]:
    """The decisions grouped by what they decided, groups and members in the order given (the
    first of the largest groups wins a tie)."""
    groups: list[list[Decision]] = []
    for decision in decisions:
        group = next((g for g in groups if g[0].same_as(decision, task)), None)
        if group is None:
            groups.append([decision])
        else:
            group.append(decision)
    return groups


def _final(decision: Decision, decided_by: tuple[str, ...]) -> Verdict:
    return Verdict(
        final=True,
        value=None if decision.unlabelable else decision.value,
        unlabelable=decision.unlabelable,
        decided_by=decided_by,
    )
