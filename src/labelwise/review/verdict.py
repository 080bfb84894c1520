"""When reviewers' decisions make an item final: pure functions over the decisions so far.

An item is final when `needed` reviewers gave the same decision (the same label, or the same
label set, or "unlabelable"), or when an adjudicator decides. When every reviewer asked for has
decided without such agreement, the item goes to an adjudicator.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from labelwise.spec import ReviewSpec

UNLABELABLE = "unlabelable"


@dataclass(frozen=True)
class Decision:
    reviewer: str
    value: Any
    unlabelable: bool = False

    @property
    def key(self) -> str:
        """Decisions compare by this: label sets are sets, whatever their order."""
        if self.unlabelable:
            return UNLABELABLE
        value = sorted(self.value) if isinstance(self.value, list) else self.value
        return json.dumps(value, sort_keys=True)


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
    decisions: Sequence[Decision], policy: ReviewSpec, *, adjudicator: Decision | None = None
) -> Verdict:
    if adjudicator is not None:
        return _final(adjudicator, (adjudicator.reviewer,))
    if not decisions:
        return Verdict(final=False)
    counts = Counter(decision.key for decision in decisions)
    key, votes = counts.most_common(1)[0]
    if votes >= policy.needed:
        agreeing = tuple(d.reviewer for d in decisions if d.key == key)
        return _final(next(d for d in decisions if d.key == key), agreeing)
    return Verdict(final=False, to_adjudicator=len(decisions) >= policy.reviewers_per_item)


def _final(decision: Decision, decided_by: tuple[str, ...]) -> Verdict:
    return Verdict(
        final=True,
        value=None if decision.unlabelable else decision.value,
        unlabelable=decision.unlabelable,
        decided_by=decided_by,
    )
