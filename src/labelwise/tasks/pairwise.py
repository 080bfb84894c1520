"""Pairwise preference: which of two candidates is better (or, when allowed, neither).

Models favour a position (often the first candidate shown), so every item is asked twice: as
given (A = `data[fields[0]]`, B = `data[fields[1]]`) and with the candidates swapped. Each
answer `{"winner": "A" | "B" | "tie"}` is mapped back to the item's own terms ("a" when
`fields[0]` is better, "b", "tie") by the order its request showed, and the two readings are
merged: an answer that holds in both orders is the value; one that flips with the order goes to
a human. The order is a marker in each view; the prompt renders only the context and the two
candidates, never the marker.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, create_model

from labelwise.domain import Confidence, ConfidenceMethod, Example, TokenLogprob
from labelwise.errors import ReviewReason
from labelwise.scoring import confidence, consensus, self_consistency
from labelwise.scoring.consensus import Vote
from labelwise.scoring.json_regions import ROOT, Region
from labelwise.spec import TaskSpec
from labelwise.task_values import normalized_value, pairwise_choices
from labelwise.tasks.base import (
    RATIONALE_CHARS,
    OutputContract,
    Reading,
    TaskTypeBase,
    answer_object,
)
from labelwise.tasks.pairwise_views import (
    AS_GIVEN,
    SWAPPED,
    as_view,
    letters,
    order_of,
    oriented,
    shown_example,
    shown_pair,
    view,
)
from labelwise.tasks.prompts import PromptLibrary

_ANSWER_CONFIG = ConfigDict(extra="forbid", strict=True)


def answer_schema(task: TaskSpec) -> dict[str, Any]:
    """`{"winner": enum}`; a rationale comes first so the model reasons before it commits."""
    winner = {"type": "string", "enum": letters(task)}
    return answer_object({"winner": winner}, rationale=task.rationale)


def _answer_model(task: TaskSpec) -> type[BaseModel]:
    allowed: Any = Literal.__getitem__(tuple(letters(task)))
    fields: dict[str, Any] = {"winner": (allowed, ...)}
    if task.rationale:
        fields = {"rationale": (str, ...), **fields}
    return create_model("PairwiseChoice", __config__=_ANSWER_CONFIG, **fields)


# Scores closer than this are a draw: the same probability read through the two orders' tokens
# can differ in its last bits, and rounding must not pick the value.
_DRAW = 1e-9


def same_answer(value: Any, truth: Any) -> bool:
    """Pairwise values are one of three strings: the same answer is the same string."""
    return bool(value == truth)


def _confidence_score(reading: Reading) -> float | None:
    return reading.confidence.score if reading.confidence is not None else None


def merged_confidence(chosen: Reading, other: Reading) -> Confidence | None:
    """How likely asking in both orders gives `chosen`'s value both times.

    Agreeing orders: the product of their confidences, not the weaker of the two: each order's
    doubt is a separate chance for the answer to have come out otherwise, which the weaker alone
    would ignore (two orders at 0.8 score 0.64, below a sure order and one at 0.8). Disagreeing
    orders: the other order put at most `1 - its confidence` on `chosen`'s value. Without both
    scores there is nothing to say (None), and routing sends the item to a human.
    """
    mine, theirs = _confidence_score(chosen), _confidence_score(other)
    if mine is None or theirs is None:
        return None
    agree = chosen.value == other.value
    score = mine * (theirs if agree else 1.0 - theirs)
    method = chosen.confidence.method if chosen.confidence else ConfidenceMethod.LOGPROB
    return Confidence(min(max(score, 0.0), 1.0), method)


def order_part(reading: Reading, order: tuple[str, str]) -> dict[str, Any]:
    """One order's answer as stored in the prediction's parts: its order as the reading's own
    part names it (`order` otherwise), and the reading's value and confidence as they stand
    (a reading scored by samples' agreement carries that share)."""
    parts = reading.parts if isinstance(reading.parts, list) else []
    named = parts[0].get("order") if parts and isinstance(parts[0], dict) else None
    return {
        "order": list(named) if named else list(order),
        "answer": reading.value,
        "confidence": _confidence_score(reading),
    }


class PairwiseTask(TaskTypeBase):
    name = "pairwise"

    def views(self, task: TaskSpec, data: Mapping[str, Any]) -> list[Mapping[str, Any]]:
        return [view(task, data, AS_GIVEN), view(task, data, SWAPPED)]

    def read(
        self,
        task: TaskSpec,
        answer: BaseModel,
        data: Mapping[str, Any],
        tokens: Sequence[TokenLogprob] | None,
        region: Region = ROOT,
    ) -> Reading:
        order = order_of(data) or AS_GIVEN
        scored = self.logprob_confidence(task, tokens, answer, region) if tokens else None
        value = oriented(_letter(answer), order)
        part = {
            "order": list(order),
            "answer": value,
            "confidence": scored.score if scored is not None else None,
        }
        return Reading(value, scored, [part])

    def merge(self, task: TaskSpec, readings: Sequence[Reading]) -> Reading:
        """Agreeing orders give their value; disagreeing ones the more confident order's value
        (the order as given on a draw, or without scores), and a human checks it."""
        if not readings:
            raise ValueError("merging needs a reading of at least one order")
        if len(readings) == 1:
            return readings[0]
        first, second = readings[0], readings[1]
        parts = [order_part(first, AS_GIVEN), order_part(second, SWAPPED)]
        if first.value == second.value:
            return Reading(first.value, merged_confidence(first, second), parts)
        chosen, other = first, second
        if (_confidence_score(second) or 0.0) > (_confidence_score(first) or 0.0) + _DRAW:
            chosen, other = second, first
        return Reading(
            chosen.value,
            merged_confidence(chosen, other),
            parts,
            ReviewReason.ORDER_DISAGREEMENT,
        )

    def contract(self, task: TaskSpec) -> OutputContract:
        widest = json.dumps({"winner": max(letters(task), key=len)}, indent=2)
        extra = RATIONALE_CHARS if task.rationale else 0
        return OutputContract(answer_schema(task), _answer_model(task), len(widest) + extra)

    def system_prompt(
        self,
        task: TaskSpec,
        prompts: PromptLibrary,
        *,
        answer_schema: str | None,
        packed: bool = False,
    ) -> str:
        if packed:
            raise ValueError("a pairwise question is asked one item per request, in both orders")
        examples = [shown_example(task, e.data, e.label) for e in task.examples]
        return prompts.render(
            f"{self.name}/system.j2",
            rationale=task.rationale,
            allow_tie=task.allow_tie,
            has_context=bool(task.context_field),
            guidelines=task.guidelines.strip(),
            criteria=task.criteria.strip(),
            examples=examples,
            answer_schema=answer_schema,
        )

    def user_prompt(
        self,
        task: TaskSpec,
        prompts: PromptLibrary,
        data: Mapping[str, Any],
        examples: Sequence[Example] = (),
    ) -> str:
        """`data` is one of `views`; plain item data is shown as given."""
        shown = [shown_example(task, e.data, e.label) for e in examples]
        pair = shown_pair(as_view(task, data))
        return prompts.render(f"{self.name}/user.j2", pair=pair, examples=shown)

    def pack_prompt(
        self,
        task: TaskSpec,
        prompts: PromptLibrary,
        items: Sequence[Mapping[str, Any]],
        examples: Sequence[Example] = (),
    ) -> str:
        raise ValueError("a pairwise question is asked one item per request, in both orders")

    def answer_examples(self, task: TaskSpec) -> list[str]:
        return [json.dumps({"winner": letter}) for letter in letters(task)]

    def value(self, answer: BaseModel) -> Any:
        """The answer to the item as given (A is `fields[0]`); answers to the swapped view are
        mapped by `read`."""
        return oriented(_letter(answer), AS_GIVEN)

    def checked_value(
        self, task: TaskSpec, value: Any, data: Mapping[str, Any] | None = None
    ) -> Any:
        return normalized_value(task, value, data)

    def matches(self, task: TaskSpec, value: Any, truth: Any) -> bool:
        return same_answer(value, truth)

    def logprob_confidence(
        self,
        task: TaskSpec,
        tokens: Sequence[TokenLogprob],
        answer: BaseModel,
        region: Region = ROOT,
    ) -> Confidence | None:
        """The chosen letter's probability among the letters allowed: the same whichever order
        was shown, since it is read from the answer as written."""
        score = confidence.label_choice_confidence(
            tokens, key="winner", labels=letters(task), chosen=_letter(answer), region=region
        )
        return None if score is None else Confidence(score, ConfidenceMethod.LOGPROB)

    def combine(self, task: TaskSpec, votes: Sequence[Vote]) -> tuple[Any, Confidence]:
        """Votes' values are in the item's terms ("a", "b", "tie"): the one with the most
        averaged probability, as for a single-label category."""
        value, score = consensus.combine_single(votes, pairwise_choices(task))
        return value, Confidence(score, ConfidenceMethod.COMBINED)

    def self_consistency(
        self,
        task: TaskSpec,
        answers: Sequence[BaseModel],
        data: Mapping[str, Any] | None = None,
    ) -> tuple[Any, Confidence]:
        """The majority over samples of the item as given (see `value`) and its share."""
        chosen, share = self_consistency.self_consistency([self.value(a) for a in answers])
        return chosen, Confidence(share, ConfidenceMethod.AGREEMENT)


def _letter(answer: BaseModel) -> str:
    return str(answer.model_dump()["winner"])
