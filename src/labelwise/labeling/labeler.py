"""Labeling one item, or a pack of items in one request: the entry point the worker and the
synchronous API call.

It builds the requests (`requests`), asks the model (`asking`) and scores confidence from the
answer's logprobs or, when there are none, from the agreement of extra samples (`votes`). It
never raises for an LLM problem: every failure becomes a `LabelOutcome` with its reason, so
nothing is lost. It does not route; the caller decides what an outcome's confidence means.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Coroutine, Sequence
from dataclasses import dataclass
from typing import Any

from openai.types.chat import ChatCompletion

from labelwise.domain import Confidence, Example, LabelOutcome, Scored
from labelwise.errors import LabelingError, LLMCallError, ReviewReason
from labelwise.labeling.asking import Asker
from labelwise.labeling.cascade import Cascade
from labelwise.labeling.examples import ExampleCache
from labelwise.labeling.readings import merged_reading
from labelwise.labeling.requests import RequestBuilder
from labelwise.labeling.votes import (
    Labeled,
    consensus_scores,
    failed_outcome,
    labeled_outcome,
    own_confidence,
    pack_by_logprob,
    pack_by_self_consistency,
    pack_positions,
    reading_labeled,
)
from labelwise.llm.call import StructuredAnswer, StructuredRequest
from labelwise.llm.client import LLMClients
from labelwise.llm.meter import CallMeter
from labelwise.scoring.consensus import default_method
from labelwise.settings import Settings
from labelwise.spec import ProjectSpec
from labelwise.tasks.prompts import PromptLibrary

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PackItem:
    """One item of a request about several (`ProjectSpec.items_per_request`)."""

    item_id: int
    data: dict[str, Any]
    examples: Sequence[Example] = ()


class Labeler:
    def __init__(self, settings: Settings, clients: LLMClients, prompts: PromptLibrary) -> None:
        self.settings = settings
        self.clients = clients
        self.prompts = prompts
        self.requests = RequestBuilder(settings, prompts)
        self.asker = Asker(settings, clients)
        self.quirks = self.asker.quirks
        self.gates = self.asker.gates
        # Reviewed items by project, for the learning loop (filled as chunks are labeled).
        self.example_cache = ExampleCache()
        self.cascade = Cascade(settings)

    async def label(
        self,
        spec: ProjectSpec,
        *,
        item_id: int,
        data: dict[str, Any],
        examples: Sequence[Example] = (),
        completion: ChatCompletion | None = None,
    ) -> LabelOutcome:
        """`examples` are reviewed items like this one, shown in its prompt (learning loop).
        `completion`: the answer a provider batch already gave to this item's request."""
        started = time.perf_counter()
        meter = CallMeter()
        outcome = LabelOutcome(item_id=item_id, model=spec.model.name)
        try:
            labeled = await self._label(spec, data, examples, meter, completion)
            outcome = labeled_outcome(item_id, spec, labeled)
        except LabelingError as exc:
            outcome.error_reason, outcome.error_message = exc.reason, str(exc)
        except Exception as exc:  # a bug or a surprise must still reach review, not vanish
            log.exception("labeling item %s failed unexpectedly", item_id)
            outcome.error_reason = ReviewReason.LLM_ERROR
            outcome.error_message = f"{type(exc).__name__}: {exc}"
        outcome.usage, outcome.attempts = meter.usage, meter.attempts
        outcome.batch_usage = meter.batch_usage
        outcome.latency_ms = round((time.perf_counter() - started) * 1000)
        return outcome

    async def label_pack(
        self,
        spec: ProjectSpec,
        items: Sequence[PackItem],
        completion: ChatCompletion | None = None,
    ) -> list[LabelOutcome]:
        """Label several items with one request, each answered under its own id; outcomes come
        back in the order of `items`.

        The request's tokens are shared evenly among its items. An item the answer leaves out
        or answers badly, or every item when the answer as a whole is unusable, is asked again
        alone; when the request itself fails after its retries, its items go to review with
        that reason instead (asking each alone would multiply traffic to a failing provider).
        `completion`: the answer a provider batch already gave to this request. With a cascade,
        what this model cannot settle is labeled again by the stronger one (`cascade`).
        """
        if len(items) == 1:
            only = items[0]
            outcome = await self.label(
                spec,
                item_id=only.item_id,
                data=only.data,
                examples=only.examples,
                completion=completion,
            )
            return await self.cascade.settle(spec, items, [outcome], self.label)
        started = time.perf_counter()
        meter = CallMeter()
        labeled, failure = await self._try_pack(spec, items, meter, completion)
        latency_ms = round((time.perf_counter() - started) * 1000)
        outcomes: list[LabelOutcome | None] = [
            labeled_outcome(item.item_id, spec, labeled[position])
            if position in labeled
            else failed_outcome(item.item_id, spec, failure)
            if failure is not None
            else None
            for position, item in enumerate(items)
        ]
        finished = await self._ask_alone(spec, items, outcomes)
        charge_shared_request(finished, meter, latency_ms)
        return await self.cascade.settle(spec, items, finished, self.label)

    def requests_for(
        self, spec: ProjectSpec, items: Sequence[dict[str, Any]]
    ) -> list[StructuredRequest]:
        """The requests `items` would be sent in, `items_per_request` at a time, rendered as
        labeling renders them: what an estimate counts."""
        return self.requests.for_items(spec, items)

    async def aclose(self) -> None:
        await self.asker.aclose()

    async def _label(
        self,
        spec: ProjectSpec,
        data: dict[str, Any],
        examples: Sequence[Example],
        meter: CallMeter,
        completion: ChatCompletion | None = None,
    ) -> Labeled:
        """One request per view of the item (`completion` answers the first); each answer read
        by the task type, the readings merged into the item's."""
        task_type = self.requests.prepared(spec).task_type
        views = task_type.views(spec.task, data)
        requests = [self.requests.for_item(spec, dict(view), examples) for view in views]
        firsts = await all_answered(
            [
                self.asker.first_answer(spec.model, r, meter, completion if n == 0 else None)
                for n, r in enumerate(requests)
            ]
        )
        first = firsts[0]
        if spec.consensus.enabled:
            own = own_confidence(task_type, spec.task, first)
            alternatives = await self._consensus(
                spec, data, examples, requests[0], first, own, meter
            )
            if alternatives:
                chosen = alternatives[default_method(list(alternatives))]
                rationale = task_type.rationale(first.answer)
                return Labeled(
                    chosen.value, chosen.confidence, first.model, rationale, alternatives
                )
        merged = await merged_reading(self.asker, spec, task_type, views, requests, firsts, meter)
        return reading_labeled(merged, first.model, task_type.rationale(first.answer))

    async def _consensus(
        self,
        spec: ProjectSpec,
        data: dict[str, Any],
        examples: Sequence[Example],
        request: StructuredRequest,
        first: StructuredAnswer,
        own: Confidence | None,
        meter: CallMeter,
    ) -> dict[str, Scored]:
        """Ask the consensus voters (samples of the project's model, other models), then score
        the item every way the answers allow: the model's own logprob, the voters' agreement,
        and their answers combined. Empty when no voter answered and there is no logprob."""
        others = [
            (other, self.requests.for_item(spec, data, examples, other))
            for other in spec.consensus.models
        ]
        voters = await self.asker.voters(spec.model, request, spec.consensus.samples, others, meter)
        task_type = self.requests.prepared(spec).task_type
        return consensus_scores(task_type, spec.task, [first, *voters], own)

    async def _try_pack(
        self,
        spec: ProjectSpec,
        items: Sequence[PackItem],
        meter: CallMeter,
        completion: ChatCompletion | None,
    ) -> tuple[dict[int, Labeled], LabelingError | None]:
        """The items one request labeled, by position, and why the request failed when it did.
        A failure of the request itself is returned; an unusable answer is not, so its items
        are asked again alone."""
        try:
            return await self._label_pack(spec, items, meter, completion), None
        except LLMCallError as exc:
            return {}, exc
        except LabelingError as exc:
            log.info("a request for %d items gave no usable answer: %s", len(items), exc)
            return {}, None
        except Exception as exc:  # a bug or a surprise must still reach review, not vanish
            log.exception("labeling %d items together failed unexpectedly", len(items))
            return {}, LabelingError(f"{type(exc).__name__}: {exc}")

    async def _label_pack(
        self,
        spec: ProjectSpec,
        items: Sequence[PackItem],
        meter: CallMeter,
        completion: ChatCompletion | None = None,
    ) -> dict[int, Labeled]:
        """The items answered in one request, by position. Each item's confidence is read from
        its own part of the answer; without logprobs, from the agreement of whole-pack samples."""
        prepared = self.requests.prepared(spec, packed=True)
        task_type, item_model, size = prepared.task_type, prepared.contract.model, len(items)
        shown = {e.item_id: e for item in items for e in item.examples}
        request = self.requests.for_pack(spec, [item.data for item in items], list(shown.values()))
        first = await self.asker.first_answer(spec.model, request, meter, completion)
        content = "".join(t.token for t in first.tokens) if first.tokens else None
        found = pack_positions(first.answer, size, item_model, content)
        datas = [item.data for item in items]
        if first.tokens is not None:
            return pack_by_logprob(task_type, spec.task, first, found, datas)
        samples = [
            pack_positions(sample, size, item_model, None)
            for sample in await self.asker.samples(spec.model, request, meter)
        ]
        return pack_by_self_consistency(task_type, spec.task, first.model, found, samples, datas)

    async def _ask_alone(
        self, spec: ProjectSpec, items: Sequence[PackItem], outcomes: list[LabelOutcome | None]
    ) -> list[LabelOutcome]:
        """`outcomes` with each missing one filled by asking about its item alone."""
        alone = [position for position, outcome in enumerate(outcomes) if outcome is None]
        retried = await asyncio.gather(
            *(
                self.label(
                    spec,
                    item_id=items[p].item_id,
                    data=items[p].data,
                    examples=items[p].examples,
                )
                for p in alone
            )
        )
        filled = list(outcomes)
        for position, outcome in zip(alone, retried, strict=True):
            filled[position] = outcome
        return [outcome for outcome in filled if outcome is not None]


def charge_shared_request(
    outcomes: Sequence[LabelOutcome], meter: CallMeter, latency_ms: int
) -> None:
    """Add what the shared request cost to each of its items, on top of whatever an item spent
    alone: an even share of its tokens, all of its attempts and its whole latency."""
    shares = meter.usage.shares(len(outcomes))
    batch_shares = meter.batch_usage.shares(len(outcomes))
    for outcome, share, batch_share in zip(outcomes, shares, batch_shares, strict=True):
        outcome.usage = outcome.usage + share
        outcome.batch_usage = outcome.batch_usage + batch_share
        outcome.attempts += meter.attempts
        outcome.latency_ms += latency_ms


async def all_answered(
    calls: Sequence[Coroutine[Any, Any, StructuredAnswer]],
) -> list[StructuredAnswer]:
    """The answers of calls run concurrently, or the first failure once all have finished: a
    view that fails fails the item, and no call is left running unobserved."""
    results = await asyncio.gather(*calls, return_exceptions=True)
    for result in results:
        if isinstance(result, BaseException):
            raise result
    return [result for result in results if not isinstance(result, BaseException)]
