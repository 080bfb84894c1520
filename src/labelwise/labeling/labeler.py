"""Labeling one item: the entry point the worker and the synchronous API call.

It renders the project's prompts, makes the structured call, and scores confidence from the
answer's logprobs or, when there are none, from the agreement of extra samples. It never raises
for an LLM problem: every failure becomes a `LabelOutcome` with its reason, so nothing is lost.
It does not route; the caller decides what an outcome's confidence means.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from collections.abc import Coroutine, Sequence
from dataclasses import dataclass
from typing import Any

from openai.types.chat import ChatCompletion
from pydantic import BaseModel

from labelwise.domain import Confidence, ConfidenceMethod, Example, LabelOutcome, Scored
from labelwise.errors import LabelingError, LLMCallError, ReviewReason
from labelwise.labeling.examples import ExampleCache
from labelwise.llm.call import StructuredAnswer, StructuredRequest, answer_from, call_structured
from labelwise.llm.client import LLMClients
from labelwise.llm.compat import ProviderQuirks
from labelwise.llm.meter import CallMeter
from labelwise.llm.output import schema_line
from labelwise.llm.ratelimit import RateGates
from labelwise.scoring.consensus import Vote, default_method
from labelwise.settings import Settings
from labelwise.spec import ModelSpec, ProjectSpec
from labelwise.tasks import TASK_TYPES, OutputContract, TaskType
from labelwise.tasks.packing import ItemAnswer, PackAnswer, pack_max_chars, pack_schema, unpack
from labelwise.tasks.prompts import PromptLibrary

log = logging.getLogger(__name__)

# Room beyond the longest possible answer for whitespace a model may add around it.
_MAX_TOKENS_MARGIN = 16
# Samples drawn at temperature 0 would agree by construction and say nothing about confidence.
_SAMPLE_MIN_TEMPERATURE = 0.7
_PREPARED_CACHE_SIZE = 256


@dataclass(frozen=True)
class _Prepared:
    """What is the same for every request of a project version, worked out once: for requests
    about one item, or (`packed`) about several."""

    task_type: TaskType
    contract: OutputContract  # the one-item answer
    system_prompt: str
    schema: dict[str, Any]  # what the request asks for: one answer, or a pack of them
    answer_model: type[BaseModel]
    max_tokens: int


@dataclass(frozen=True)
class PackItem:
    """One item of a request about several (`ProjectSpec.items_per_request`)."""

    item_id: int
    data: dict[str, Any]
    examples: Sequence[Example] = ()


@dataclass(frozen=True)
class _Labeled:
    value: Any
    confidence: Confidence
    model: str
    rationale: str | None
    alternatives: dict[str, Scored] = dataclasses.field(default_factory=dict)


class Labeler:
    def __init__(self, settings: Settings, clients: LLMClients, prompts: PromptLibrary) -> None:
        self.settings = settings
        self.clients = clients
        self.prompts = prompts
        self._prepared: dict[str, _Prepared] = {}
        # Shared by every item this process labels: one 400 teaches it for the whole batch.
        self.quirks = ProviderQuirks()
        # One bound for every LLM request this process makes, agreement samples included.
        self._slots = asyncio.Semaphore(settings.llm_concurrency)
        # The shared rate limits of the endpoints this process calls.
        self.gates = RateGates(settings)
        # Reviewed items by project, for the learning loop (filled by the pipeline).
        self.example_cache = ExampleCache()

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
            outcome = _outcome(item_id, spec, labeled)
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
        `completion`: the answer a provider batch already gave to this request.
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
            return [outcome]
        started = time.perf_counter()
        meter = CallMeter()
        labeled: dict[int, _Labeled] = {}
        failure: LabelingError | None = None
        try:
            labeled = await self._label_pack(spec, items, meter, completion)
        except LLMCallError as exc:
            failure = exc
        except LabelingError as exc:
            log.info("a request for %d items gave no usable answer: %s", len(items), exc)
        except Exception as exc:  # a bug or a surprise must still reach review, not vanish
            log.exception("labeling %d items together failed unexpectedly", len(items))
            failure = LabelingError(f"{type(exc).__name__}: {exc}")
        latency_ms = round((time.perf_counter() - started) * 1000)
        shares = meter.usage.shares(len(items))
        batch_shares = meter.batch_usage.shares(len(items))
        outcomes: list[LabelOutcome | None] = []
        for position, item in enumerate(items):
            outcome: LabelOutcome | None = None
            if position in labeled:
                outcome = _outcome(item.item_id, spec, labeled[position])
            elif failure is not None:
                outcome = LabelOutcome(item_id=item.item_id, model=spec.model.name)
                outcome.error_reason, outcome.error_message = failure.reason, str(failure)
            outcomes.append(outcome)
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
        for position, outcome in zip(alone, retried, strict=True):
            outcomes[position] = outcome
        finished = [outcome for outcome in outcomes if outcome is not None]
        for outcome, share, batch_share in zip(finished, shares, batch_shares, strict=True):
            # What the shared request cost, on top of whatever an item spent alone.
            outcome.usage = outcome.usage + share
            outcome.batch_usage = outcome.batch_usage + batch_share
            outcome.attempts += meter.attempts
            outcome.latency_ms += latency_ms
        return finished

    async def aclose(self) -> None:
        await self.clients.aclose()
        await self.gates.aclose()

    async def _label(
        self,
        spec: ProjectSpec,
        data: dict[str, Any],
        examples: Sequence[Example],
        meter: CallMeter,
        completion: ChatCompletion | None = None,
    ) -> _Labeled:
        prepared = self._prepare(spec)
        task_type = prepared.task_type
        model = spec.model
        request = self._item_request(spec, data, examples)
        first = await self._first_answer(model, request, meter, completion)
        rationale = task_type.rationale(first.answer)
        own = (
            task_type.logprob_confidence(spec.task, first.tokens, first.answer)
            if first.tokens
            else None
        )
        if spec.consensus.enabled:
            alternatives = await self._consensus(spec, data, examples, request, first, own, meter)
            if alternatives:
                chosen = alternatives[default_method(list(alternatives))]
                return _Labeled(
                    chosen.value, chosen.confidence, first.model, rationale, alternatives
                )
        if own is not None:
            return _Labeled(task_type.value(first.answer), own, first.model, rationale)
        samples = await self._samples(model, request, meter)
        if not samples:
            # One answer agreeing with itself is no evidence: no score, so it goes to review.
            no_score = Confidence(None, ConfidenceMethod.AGREEMENT)
            return _Labeled(task_type.value(first.answer), no_score, first.model, rationale)
        value, agreed = task_type.agreement(spec.task, [first.answer, *samples])
        return _Labeled(value, agreed, first.model, rationale)

    async def _label_pack(
        self,
        spec: ProjectSpec,
        items: Sequence[PackItem],
        meter: CallMeter,
        completion: ChatCompletion | None = None,
    ) -> dict[int, _Labeled]:
        """The items answered in one request, by position. Each item's confidence is read from
        its own part of the answer; without logprobs, from the agreement of whole-pack samples."""
        prepared = self._prepare(spec, packed=True)
        task_type, task = prepared.task_type, spec.task
        model = spec.model
        shown = {e.item_id: e for item in items for e in item.examples}
        request = self._pack_request(spec, [item.data for item in items], list(shown.values()))
        first = await self._first_answer(model, request, meter, completion)
        content = "".join(t.token for t in first.tokens) if first.tokens else None
        found = self._unpack(prepared, first.answer, len(items), content)
        if first.tokens is not None:
            labeled: dict[int, _Labeled] = {}
            for position, answer in found.items():
                own = None
                if answer.region is not None:
                    own = task_type.logprob_confidence(
                        task, first.tokens, answer.answer, answer.region
                    )
                score = own or Confidence(None, ConfidenceMethod.LOGPROB)
                labeled[position] = _Labeled(
                    task_type.value(answer.answer),
                    score,
                    first.model,
                    task_type.rationale(answer.answer),
                )
            return labeled
        samples = [
            self._unpack(prepared, sample, len(items), None)
            for sample in await self._samples(model, request, meter)
        ]
        labeled = {}
        for position, answer in found.items():
            answers = [answer.answer, *(s[position].answer for s in samples if position in s)]
            value, agreed = task_type.agreement(task, answers)
            if len(answers) == 1:
                agreed = Confidence(None, ConfidenceMethod.AGREEMENT)
            labeled[position] = _Labeled(
                value, agreed, first.model, task_type.rationale(answer.answer)
            )
        return labeled

    @staticmethod
    def _unpack(
        prepared: _Prepared, answer: BaseModel, size: int, content: str | None
    ) -> dict[int, ItemAnswer]:
        """The answers of a pack by position (0-based)."""
        assert isinstance(answer, PackAnswer)
        found = unpack(answer, size=size, item_model=prepared.contract.model, content=content)
        return {int(item_id) - 1: item_answer for item_id, item_answer in found.items()}

    def requests_for(
        self, spec: ProjectSpec, items: Sequence[dict[str, Any]]
    ) -> list[StructuredRequest]:
        """The requests `items` would be sent in, `items_per_request` at a time, rendered as
        labeling renders them: what an estimate counts."""
        size = spec.items_per_request
        groups = [items[start : start + size] for start in range(0, len(items), size)]
        return [
            self._item_request(spec, group[0], ())
            if len(group) == 1
            else self._pack_request(spec, group, ())
            for group in groups
        ]

    def _item_request(
        self, spec: ProjectSpec, data: dict[str, Any], examples: Sequence[Example]
    ) -> StructuredRequest:
        prepared = self._prepare(spec)
        user = prepared.task_type.user_prompt(spec.task, self.prompts, data, examples)
        return self._request(spec, prepared, user)

    def _pack_request(
        self, spec: ProjectSpec, items: Sequence[dict[str, Any]], examples: Sequence[Example]
    ) -> StructuredRequest:
        prepared = self._prepare(spec, packed=True)
        user = prepared.task_type.pack_prompt(spec.task, self.prompts, items, examples)
        return self._request(spec, prepared, user)

    def _request(self, spec: ProjectSpec, prepared: _Prepared, user: str) -> StructuredRequest:
        top_logprobs = self.settings.llm_top_logprobs
        return StructuredRequest(
            model=spec.model.name,
            messages=[
                {"role": "system", "content": prepared.system_prompt},
                {"role": "user", "content": user},
            ],
            mode=spec.model.output_mode,
            schema=prepared.schema,
            answer_model=prepared.answer_model,
            temperature=spec.model.temperature,
            max_tokens=prepared.max_tokens,
            # With no alternatives listed there is nothing to compare the chosen label against.
            top_logprobs=top_logprobs if top_logprobs > 0 else None,
        )

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
        task_type = self._prepare(spec).task_type
        sample = dataclasses.replace(
            request, temperature=max(request.temperature, _SAMPLE_MIN_TEMPERATURE)
        )
        calls = [self._call(spec.model, sample, meter) for _ in range(spec.consensus.samples)]
        for other in spec.consensus.models:
            voter = spec.model_copy(update={"model": other})
            user = task_type.user_prompt(voter.task, self.prompts, data, examples)
            request = self._request(voter, self._prepare(voter), user)
            calls.append(self._call(other, request, meter))
        answers = [first, *await self._answered(calls)]
        votes = [self._vote(spec, answer, own if answer is first else None) for answer in answers]
        alternatives: dict[str, Scored] = {}
        if own is not None:
            alternatives[ConfidenceMethod.LOGPROB.value] = Scored(
                task_type.value(first.answer), own
            )
        if len(answers) > 1:
            value, agreed = task_type.agreement(spec.task, [a.answer for a in answers])
            alternatives[ConfidenceMethod.AGREEMENT.value] = Scored(value, agreed)
        if len(answers) > 1 or own is not None:
            value, combined = task_type.combine(spec.task, votes)
            alternatives[ConfidenceMethod.COMBINED.value] = Scored(value, combined)
        return alternatives

    def _vote(self, spec: ProjectSpec, answer: StructuredAnswer, known: Confidence | None) -> Vote:
        task_type = self._prepare(spec).task_type
        scored = known
        if scored is None and answer.tokens:
            scored = task_type.logprob_confidence(spec.task, answer.tokens, answer.answer)
        return Vote(
            task_type.value(answer.answer),
            scored.score if scored else None,
            scored.per_label if scored else None,
        )

    async def _samples(
        self, model: ModelSpec, request: StructuredRequest, meter: CallMeter
    ) -> list[BaseModel]:
        """Extra answers for agreement when the provider gives no logprobs, drawn concurrently
        as separate requests (many servers reject `n > 1`)."""
        sample = dataclasses.replace(
            request,
            temperature=max(request.temperature, _SAMPLE_MIN_TEMPERATURE),
            top_logprobs=None,
        )
        calls = [
            self._call(model, sample, meter) for _ in range(self.settings.llm_agreement_samples - 1)
        ]
        return [answer.answer for answer in await self._answered(calls)]

    async def _answered(
        self, calls: list[Coroutine[Any, Any, StructuredAnswer]]
    ) -> list[StructuredAnswer]:
        """The answers of calls run concurrently. A call that fails is left out (its cost still
        counts): a missing vote weakens the evidence, it does not lose the item."""
        answers: list[StructuredAnswer] = []
        for result in await asyncio.gather(*calls, return_exceptions=True):
            if isinstance(result, LabelingError):
                log.info("an extra answer failed: %s", result)
            elif isinstance(result, Exception):
                log.warning("an extra answer failed unexpectedly", exc_info=result)
            elif isinstance(result, BaseException):
                raise result  # cancellation and the like are not ours to swallow
            else:
                answers.append(result)
        return answers

    async def _first_answer(
        self,
        model: ModelSpec,
        request: StructuredRequest,
        meter: CallMeter,
        completion: ChatCompletion | None,
    ) -> StructuredAnswer:
        """The first answer to a request: read from the provider batch's completion when there
        is one (an unusable one is asked again, online, with the usual re-asks), else asked."""
        if completion is not None:
            meter.add_batch_usage(completion.usage)
            try:
                return answer_from(completion, request, meter)
            except LabelingError as exc:
                log.info("a provider batch's answer was unusable, asking again: %s", exc)
        return await self._call(model, request, meter)

    async def _call(
        self, model: ModelSpec, request: StructuredRequest, meter: CallMeter
    ) -> StructuredAnswer:
        client = self.clients.for_model(model)
        gate = self.gates.gate(str(client.base_url), request.model)
        async with self._slots:
            return await call_structured(
                client,
                request,
                settings=self.settings,
                meter=meter,
                quirks=self.quirks,
                gate=gate,
            )

    def _prepare(self, spec: ProjectSpec, *, packed: bool = False) -> _Prepared:
        key = f"{packed}:{spec.model_dump_json()}"
        prepared = self._prepared.get(key)
        if prepared is not None:
            return prepared
        task_type = TASK_TYPES.get(spec.task.type)
        if task_type is None:
            raise ValueError(f"unknown task type {spec.task.type!r}")
        contract = task_type.contract(spec.task)
        schema: dict[str, Any] = contract.schema
        answer_model: type[BaseModel] = contract.model
        max_tokens = spec.model.max_tokens or contract.max_answer_chars + _MAX_TOKENS_MARGIN
        if packed:
            # Sized for a full pack, so a smaller last pack sends the very same request prefix.
            size = spec.items_per_request
            schema, answer_model = pack_schema(contract.schema, size), PackAnswer
            max_tokens = (
                spec.model.max_tokens * size
                if spec.model.max_tokens
                else pack_max_chars(contract.max_answer_chars, size) + _MAX_TOKENS_MARGIN
            )
        answer_schema = schema_line(schema) if spec.model.output_mode == "json_object" else None
        prepared = _Prepared(
            task_type=task_type,
            contract=contract,
            # Rendered once per project version: byte-identical for every item, so providers
            # can serve it from their prefix cache.
            system_prompt=task_type.system_prompt(
                spec.task, self.prompts, answer_schema=answer_schema, packed=packed
            ),
            schema=schema,
            answer_model=answer_model,
            max_tokens=max_tokens,
        )
        if len(self._prepared) >= _PREPARED_CACHE_SIZE:
            self._prepared.pop(next(iter(self._prepared)))
        self._prepared[key] = prepared
        return prepared


def _outcome(item_id: int, spec: ProjectSpec, labeled: _Labeled) -> LabelOutcome:
    outcome = LabelOutcome(item_id=item_id, model=labeled.model or spec.model.name)
    outcome.value, outcome.confidence = labeled.value, labeled.confidence
    outcome.rationale, outcome.alternatives = labeled.rationale, labeled.alternatives
    return outcome
