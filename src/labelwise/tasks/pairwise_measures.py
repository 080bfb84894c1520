"""What the quality report measures of a pairwise project, from its gold records.

Pure functions of stored values, gold and parts (each order's answer, as `PairwiseTask.merge`
stores them):
- agreement with gold: the share of gold items whose value is the gold answer;
- order changed: the share of items asked in both orders whose two answers differ, i.e. how
  often showing the candidates the other way round changed the model's mind;
- first shown wins: of the answers that picked a candidate, the share that picked the one shown
  first (A). Near one half the model has no taste for a position; far from it, it has.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any

from labelwise.domain import GoldRecord
from labelwise.task_values import TIE
from labelwise.tasks.pairwise import same_answer
from labelwise.tasks.pairwise_views import AS_GIVEN, SWAPPED, shown_letter


@dataclass(frozen=True)
class PairwiseMeasures:
    gold_items: int  # records with a gold answer
    agreement: float | None  # share of those whose value is the gold answer
    both_orders: int  # records answered in both orders
    order_changed: float | None  # share of those whose two orders answered differently
    picks: int  # answers (of either order) that picked a candidate, not a tie
    first_shown_wins: float | None  # share of those that picked the candidate shown first

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def order_answers(parts: Any) -> dict[tuple[str, str], Any]:
    """Each order's answer in stored parts, by order; parts of another shape give none."""
    found: dict[tuple[str, str], Any] = {}
    for part in parts if isinstance(parts, list) else []:
        order = part.get("order") if isinstance(part, dict) else None
        if isinstance(order, list) and tuple(order) in (AS_GIVEN, SWAPPED):
            found[(order[0], order[1])] = part.get("answer")
    return found


def order_changed(parts: Any) -> bool | None:
    """Whether the two orders answered differently; None unless both answered."""
    answers = order_answers(parts)
    if AS_GIVEN not in answers or SWAPPED not in answers:
        return None
    return not same_answer(answers[AS_GIVEN], answers[SWAPPED])


def first_shown_picks(parts: Any) -> list[bool]:
    """For each order's answer that picked a candidate: whether it picked the one shown first."""
    return [
        shown_letter(answer, order) == "A"
        for order, answer in order_answers(parts).items()
        if answer in order and answer != TIE
    ]


def pairwise_measures(records: Iterable[GoldRecord]) -> PairwiseMeasures:
    """The measures over `records` (a record whose truth is None counts for the order measures
    only)."""
    judged = agreed = both = changed = 0
    picks: list[bool] = []
    for record in records:
        if record.truth is not None:
            judged += 1
            agreed += same_answer(record.value, record.truth)
        flipped = order_changed(record.parts)
        if flipped is not None:
            both += 1
            changed += flipped
        picks.extend(first_shown_picks(record.parts))
    return PairwiseMeasures(
        gold_items=judged,
        agreement=agreed / judged if judged else None,
        both_orders=both,
        order_changed=changed / both if both else None,
        picks=len(picks),
        first_shown_wins=sum(picks) / len(picks) if picks else None,
    )
