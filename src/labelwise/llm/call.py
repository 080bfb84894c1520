"""One structured-output call: ask, validate the answer in code, re-ask within a small bound.

HTTP failures are retried below this (`labelwise.llm.retry`); here a bad answer (invalid JSON, a
schema violation, a label outside the set) is shown back to the model with the validation error,
and a truncated one is asked again with twice the token budget, at most `llm_max_reasks` times in
all. A refusal is final. Every attempt and token is counted on the caller's `CallMeter`, and in
the process's metrics by model (`labelwise.observability.llm_metrics`).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, cast

import openai
from openai.types.chat import ChatCompletion
from openai.types.chat.chat_completion import Choice
from pydantic import BaseModel, ValidationError

from labelwise.domain import TokenLogprob
from labelwise.errors import InvalidOutputError, LLMCallError, RefusalError, TruncatedOutputError
from labelwise.llm.compat import ProviderQuirks
from labelwise.llm.meter import CallMeter, usage_from_sdk
from labelwise.llm.output import answer_text, mode_params, reask_messages, strip_fences
from labelwise.llm.ratelimit import RateGate
from labelwise.llm.retry import call_with_retries
from labelwise.observability.llm_metrics import count_answer, count_tokens, timed_attempts
from labelwise.settings import Settings
from labelwise.spec import OutputMode

_MAX_PROBLEM_CHARS = 600


@dataclass(frozen=True)
class StructuredRequest:
    model: str
    messages: Sequence[dict[str, Any]]
    mode: OutputMode
    schema: dict[str, Any]
    answer_model: type[BaseModel]
    temperature: float
    max_tokens: int
    # How many alternatives per token to ask for; None asks for no logprobs at all.
    top_logprobs: int | None = None


@dataclass(frozen=True)
class StructuredAnswer:
    answer: BaseModel
    # None when the provider sent no logprobs (or none were asked for).
    tokens: list[TokenLogprob] | None
    model: str


class RawCompletion(Protocol):
    """What `chat.completions.with_raw_response.create` answers, as far as it is read here: the
    body's bytes, the SDK's own (lenient) parsing of them, and the response headers."""

    @property
    def content(self) -> bytes: ...

    @property
    def headers(self) -> Mapping[str, str]: ...

    def parse(self) -> object: ...


class _InvalidAnswer(Exception):
    """The answer's text failed validation; the message is what the model is told."""


def token_logprobs(choice: Choice) -> list[TokenLogprob] | None:
    """The SDK's per-token logprobs as `TokenLogprob`s, or None when the provider sent none."""
    content = choice.logprobs.content if choice.logprobs is not None else None
    if not content:
        return None
    return [
        TokenLogprob(
            token=token.token,
            logprob=token.logprob,
            top=tuple((alt.token, alt.logprob) for alt in token.top_logprobs or ()),
        )
        for token in content
    ]


def parse_answer(text: str | None, model: type[BaseModel]) -> BaseModel:
    if text is None or not text.strip():
        raise _InvalidAnswer("the answer was empty")
    try:
        return model.model_validate_json(strip_fences(text))
    except ValidationError as exc:
        raise _InvalidAnswer(_describe(exc)) from exc


def _final_error(
    problem: _InvalidAnswer, truncated: bool, max_tokens: int, reasks: int, meter: CallMeter
) -> InvalidOutputError:
    if truncated:
        message = f"the answer was cut off at max_tokens={max_tokens} after {reasks} re-ask(s)"
        return TruncatedOutputError(message, attempts=meter.attempts, usage=meter.usage)
    message = f"invalid answer after {reasks} re-ask(s): {problem}"
    return InvalidOutputError(message, attempts=meter.attempts, usage=meter.usage)


def _describe(exc: ValidationError) -> str:
    problems = []
    for error in exc.errors(include_url=False)[:5]:
        where = ".".join(str(part) for part in error["loc"])
        problems.append(f"{where}: {error['msg']}" if where else error["msg"])
    text = "; ".join(problems)
    return text if len(text) <= _MAX_PROBLEM_CHARS else text[: _MAX_PROBLEM_CHARS - 3] + "..."


async def _create(
    client: openai.AsyncOpenAI,
    request: StructuredRequest,
    messages: Sequence[dict[str, Any]],
    max_tokens: int,
    params: dict[str, Any],
    *,
    settings: Settings,
    meter: CallMeter,
    quirks: ProviderQuirks | None,
    gate: RateGate | None,
) -> ChatCompletion:
    """One completion, retried by the HTTP layer; a parameter the provider rejects with a 400 is
    dropped (and remembered) and the call made again without it."""
    sent = {
        "messages": list(messages),
        "temperature": request.temperature,
        "max_tokens": max_tokens,
        **params,
    }
    # What a provider's tokens-per-minute limit counts for the request: the prompt and the
    # whole answer budget. Estimated from characters; the real count is settled afterwards.
    charge = sum(len(str(m.get("content") or "")) for m in messages) // 4 + max_tokens
    base_url = str(client.base_url)
    while True:
        adjusted = quirks.adjust(base_url, request.model, sent) if quirks else sent
        # Everything but the model goes as `extra_body`: the SDK sends it as given, where the
        # named parameters are first walked against its typed schema, which for a long prompt
        # and a deep JSON schema costs more CPU than the rest of the call.
        create = functools.partial(
            client.chat.completions.with_raw_response.create,
            model=request.model,
            messages=[],
            extra_body=adjusted,
        )
        try:
            raw: RawCompletion = await call_with_retries(
                settings, timed_attempts(create, request.model), meter, gate=gate, tokens=charge
            )
        except LLMCallError as exc:
            learned = quirks is not None and quirks.learn(
                base_url, request.model, exc.__cause__, adjusted
            )
            if not learned:
                raise
            continue
        completion = parse_completion(raw)
        if gate is not None:
            used = completion.usage.total_tokens if completion.usage is not None else None
            await gate.observe(raw.headers, charged=charge, used=used)
        return completion


def parse_completion(raw: RawCompletion) -> ChatCompletion:
    """The response body as a `ChatCompletion`, validated from JSON in one pass; a body the strict
    model rejects (a provider's odd field) goes through the SDK's lenient parser instead.

    The fast path matters: an answer about several items carries thousands of logprob entries,
    and building them one by one in Python costs more than the rest of labeling them.
    """
    try:
        return ChatCompletion.model_validate_json(raw.content)
    except ValidationError:
        return cast(ChatCompletion, raw.parse())


def _params(request: StructuredRequest) -> dict[str, Any]:
    """The output mode's parameters, and logprobs when the request wants them."""
    params = mode_params(request.mode, request.schema)
    if request.top_logprobs is not None and request.mode != "tool":
        params.update(logprobs=True, top_logprobs=request.top_logprobs)
    return params


def request_body(request: StructuredRequest) -> dict[str, Any]:
    """The chat.completions body of a request's first ask (what a provider batch line carries)."""
    return {
        "model": request.model,
        "messages": list(request.messages),
        "temperature": request.temperature,
        "max_tokens": request.max_tokens,
        **_params(request),
    }


def answer_from(
    completion: ChatCompletion, request: StructuredRequest, meter: CallMeter
) -> StructuredAnswer:
    """The validated answer of a completion that was asked for elsewhere (a provider batch):
    a refusal or an invalid answer raises, with no re-ask."""
    count_tokens(request.model, usage_from_sdk(completion.usage))
    choice = _first_choice(completion, meter)
    try:
        answer = parse_answer(answer_text(choice.message, request.mode), request.answer_model)
    except _InvalidAnswer as problem:
        truncated = choice.finish_reason == "length"
        raise _final_error(problem, truncated, request.max_tokens, 0, meter) from problem
    return StructuredAnswer(answer, token_logprobs(choice), completion.model)


def _first_choice(completion: ChatCompletion, meter: CallMeter) -> Choice:
    if not completion.choices:
        raise InvalidOutputError(
            "the response held no choices", attempts=meter.attempts, usage=meter.usage
        )
    choice = completion.choices[0]
    message = choice.message
    if message.refusal or choice.finish_reason == "content_filter":
        reason = message.refusal or "the provider's content filter stopped the answer"
        raise RefusalError(
            f"the model refused: {reason}", attempts=meter.attempts, usage=meter.usage
        )
    return choice


async def call_structured(
    client: openai.AsyncOpenAI,
    request: StructuredRequest,
    *,
    settings: Settings,
    meter: CallMeter,
    quirks: ProviderQuirks | None = None,
    gate: RateGate | None = None,
) -> StructuredAnswer:
    messages = list(request.messages)
    max_tokens = request.max_tokens
    params = _params(request)
    reasks = 0
    while True:
        completion = await _create(
            client,
            request,
            messages,
            max_tokens,
            params,
            settings=settings,
            meter=meter,
            quirks=quirks,
            gate=gate,
        )
        meter.add_usage(completion.usage)
        count_tokens(request.model, usage_from_sdk(completion.usage))
        try:
            choice = _first_choice(completion, meter)
        except (InvalidOutputError, RefusalError) as exc:
            count_answer(request.model, exc.reason.value)
            raise
        message = choice.message
        try:
            answer = parse_answer(answer_text(message, request.mode), request.answer_model)
        except _InvalidAnswer as problem:
            # A cut-off answer is asked again unchanged with a larger budget; feeding the
            # fragment back would only teach the model to continue it.
            truncated = choice.finish_reason == "length"
            count_answer(request.model, "truncated" if truncated else "invalid_output")
            if reasks >= settings.llm_max_reasks:
                raise _final_error(problem, truncated, max_tokens, reasks, meter) from problem
            reasks += 1
            if truncated:
                max_tokens *= 2
            else:
                messages += reask_messages(message, request.mode, str(problem))
            continue
        # An answer that validates is complete, even if the provider also reported "length".
        count_answer(request.model, "ok")
        return StructuredAnswer(answer, token_logprobs(choice), completion.model)
