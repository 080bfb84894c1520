"""Making the LLM calls labeling needs: the first answer, extra samples, consensus voters.

Every call of this process goes through one `Asker`, so the concurrency bound, the endpoints'
shared rate limits and what providers taught about their parameters hold across all items and
all of an item's extra answers.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Coroutine, Sequence
from typing import Any

from openai.types.chat import ChatCompletion
from pydantic import BaseModel

from labelwise.errors import LabelingError
from labelwise.llm.call import StructuredAnswer, StructuredRequest, answer_from, call_structured
from labelwise.llm.client import LLMClients
from labelwise.llm.compat import ProviderQuirks
from labelwise.llm.meter import CallMeter
from labelwise.llm.ratelimit import RateGates
from labelwise.settings import Settings
from labelwise.spec import ModelSpec

log = logging.getLogger(__name__)

# Samples drawn at temperature 0 would agree by construction and say nothing about confidence.
SAMPLE_MIN_TEMPERATURE = 0.7


def sampling_request(request: StructuredRequest, *, with_logprobs: bool) -> StructuredRequest:
    """`request` as asked again for another sample: warm enough to be able to disagree, and
    without logprobs when only the sampled answer is of use."""
    temperature = max(request.temperature, SAMPLE_MIN_TEMPERATURE)
    if with_logprobs:
        return dataclasses.replace(request, temperature=temperature)
    return dataclasses.replace(request, temperature=temperature, top_logprobs=None)


class Asker:
    def __init__(self, settings: Settings, clients: LLMClients) -> None:
        self.settings = settings
        self.clients = clients
        # Shared by every item this process labels: one 400 teaches it for the whole batch.
        self.quirks = ProviderQuirks()
        # One bound for every LLM request this process makes, agreement samples included.
        self._slots = asyncio.Semaphore(settings.llm_concurrency)
        # The shared rate limits of the endpoints this process calls.
        self.gates = RateGates(settings)

    async def aclose(self) -> None:
        await self.clients.aclose()
        await self.gates.aclose()

    async def call(
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

    async def first_answer(
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
        return await self.call(model, request, meter)

    async def samples(
        self, model: ModelSpec, request: StructuredRequest, meter: CallMeter
    ) -> list[BaseModel]:
        """Extra answers for agreement when the provider gives no logprobs, drawn concurrently
        as separate requests (many servers reject `n > 1`): `llm_agreement_samples` answers
        with the first one."""
        sample = sampling_request(request, with_logprobs=False)
        count = self.settings.llm_agreement_samples - 1
        answered = await self.answered([self.call(model, sample, meter) for _ in range(count)])
        return [answer.answer for answer in answered]

    async def voters(
        self,
        model: ModelSpec,
        request: StructuredRequest,
        samples: int,
        others: Sequence[tuple[ModelSpec, StructuredRequest]],
        meter: CallMeter,
    ) -> list[StructuredAnswer]:
        """The consensus voters' answers: `samples` more of `model` to `request`, with their
        logprobs, then each other model to its own request."""
        sample = sampling_request(request, with_logprobs=True)
        calls = [self.call(model, sample, meter) for _ in range(samples)]
        calls.extend(self.call(other, own, meter) for other, own in others)
        return await self.answered(calls)

    @staticmethod
    async def answered(
        calls: list[Coroutine[Any, Any, StructuredAnswer]],
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
