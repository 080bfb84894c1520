"""A model cascade: the project's model labels every item first; what it cannot settle is labeled
again by a stronger model (`spec.CascadeSpec`), and what neither settles goes to humans.

An item is escalated when the first model's confidence is below `escalate_below`, when it has
no confidence, or when its answer is not usable: an error reason (a failed call, an invalid or
truncated answer) or a reason the task type gives for a human to look (spans not found, pairwise
orders disagreeing). The second answer is then the item's: its value, confidence, parts, review
reason and model. Routing (a threshold, a certified precision or a dataset-error cut) reads the
final answer's confidence, so gold and sample answers are the cascade's and a guarantee covers
the whole cascade.

Escalations go one item per request, online, even when the first model packed items or answered
through a provider batch: an escalated item is one that needs the stronger model's full
attention, and a second provider batch would hold the first answers back for another window.

When the second model fails where the first gave a usable answer, the first answer is kept for
the reviewer and the item goes to review with the second model's reason: a stronger model's
outage must not erase a suggestion, nor let an answer judged unsettled be accepted.

Each step is priced by its own model: the first step's cost travels as `prior_cost_usd`, the
settling step's tokens stay in `usage` and are priced by the model the outcome names
(`settling_model`). The stored token counts are the settling step's; both steps are in the cost.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections import OrderedDict
from collections.abc import Awaitable, Sequence
from typing import Any, Protocol

from labelwise.cost.pricing import outcome_cost_usd, price_for
from labelwise.domain import Example, LabelOutcome
from labelwise.settings import Settings
from labelwise.spec import ModelSpec, ProjectSpec

SECOND_SPECS_CACHED = 64


class CascadeItem(Protocol):
    """What an item brings to be labeled (`labeler.PackItem`)."""

    @property
    def item_id(self) -> int: ...

    @property
    def data(self) -> dict[str, Any]: ...

    @property
    def examples(self) -> Sequence[Example]: ...


class LabelOne(Protocol):
    """Labels one item alone and never raises (`Labeler.label`)."""

    def __call__(
        self,
        spec: ProjectSpec,
        *,
        item_id: int,
        data: dict[str, Any],
        examples: Sequence[Example] = (),
    ) -> Awaitable[LabelOutcome]: ...


def needs_second_step(outcome: LabelOutcome, escalate_below: float) -> bool:
    """Whether the first model left the item unsettled: no usable answer, a reason for a human
    to look, no confidence, or a confidence below the bound (the bound itself is settled)."""
    if outcome.error_reason is not None or outcome.review_reason is not None:
        return True
    score = outcome.confidence.score
    return score is None or score < escalate_below


def settling_model(spec: ProjectSpec, outcome_model: str) -> ModelSpec:
    """The model whose price an outcome's `usage` is billed at: the cascade's when the outcome
    names it, else the project's own."""
    cascade = spec.cascade
    if cascade is not None and outcome_model == cascade.model.name:
        return cascade.model
    return spec.model


def second_step_spec(spec: ProjectSpec) -> ProjectSpec:
    """`spec` as the second step asks it: the cascade's model, one item per request."""
    if spec.cascade is None:
        raise ValueError("the project has no cascade")
    return spec.model_copy(
        update={"model": spec.cascade.model, "cascade": None, "items_per_request": 1}
    )


class Cascade:
    """Escalates what the first step could not settle. One per labeler: it keeps each version's
    second-step spec (by identity, as the prepared requests are cached), so a chunk's escalations
    share one prepared request instead of one per item."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._second: OrderedDict[int, tuple[ProjectSpec, ProjectSpec]] = OrderedDict()

    async def settle(
        self,
        spec: ProjectSpec,
        items: Sequence[CascadeItem],
        outcomes: Sequence[LabelOutcome],
        label: LabelOne,
    ) -> list[LabelOutcome]:
        """The items' outcomes once the cascade has had its say, in the order of `items`; the
        first step's `outcomes` as they are when the project has no cascade."""
        cascade = spec.cascade
        if cascade is None:
            return list(outcomes)
        second = self.second_spec(spec)
        escalated = [
            position
            for position, outcome in enumerate(outcomes)
            if needs_second_step(outcome, cascade.escalate_below)
        ]
        answers = await asyncio.gather(
            *(
                label(
                    second,
                    item_id=items[p].item_id,
                    data=items[p].data,
                    examples=items[p].examples,
                )
                for p in escalated
            )
        )
        settled = [dataclasses.replace(outcome, model=spec.model.name) for outcome in outcomes]
        for position, answer in zip(escalated, answers, strict=True):
            settled[position] = self.merged((spec.model, cascade.model), settled[position], answer)
        return settled

    def merged(
        self, models: tuple[ModelSpec, ModelSpec], first: LabelOutcome, second: LabelOutcome
    ) -> LabelOutcome:
        """The item's outcome from both steps (`models`: the first's, the second's): the
        second's answer (or, when it failed and the first had a usable one, the first's, for a
        human to check), the other step's cost carried in `prior_cost_usd`, attempts and latency
        summed."""
        second = dataclasses.replace(second, model=models[1].name)
        if second.error_reason is not None and first.error_reason is None:
            kept = dataclasses.replace(
                first,
                review_reason=first.review_reason or second.error_reason,
                error_message=second.error_message,
            )
            other = (second, models[1])
        else:
            kept, other = second, (first, models[0])
        return dataclasses.replace(
            kept,
            prior_cost_usd=kept.prior_cost_usd + self.cost_of(*other),
            attempts=first.attempts + second.attempts,
            latency_ms=first.latency_ms + second.latency_ms,
        )

    def cost_of(self, outcome: LabelOutcome, model: ModelSpec) -> float:
        """What one step's calls cost, at its own model's price (a provider batch's part at the
        batch discount), with what it already carried."""
        price = price_for(model, self.settings.prices)
        factor = self.settings.batch_price_factor
        spent = outcome_cost_usd(outcome.usage, outcome.batch_usage, price, factor)
        return outcome.prior_cost_usd + spent

    def second_spec(self, spec: ProjectSpec) -> ProjectSpec:
        """`second_step_spec(spec)`, made once per spec object."""
        entry = self._second.get(id(spec))
        if entry is not None and entry[0] is spec:
            self._second.move_to_end(id(spec))
            return entry[1]
        second = second_step_spec(spec)
        self._second[id(spec)] = (spec, second)
        while len(self._second) > SECOND_SPECS_CACHED:
            self._second.popitem(last=False)
        return second
