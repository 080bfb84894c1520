"""What labeling a number of items will cost, worked out before any is sent.

Prompt tokens are counted on the prompts labeling would render for a sample of items (the
project's current version, packed `items_per_request` at a time, every view of an item asked
alone); answer tokens on the well-formed answers the task type gives (`answer_examples`),
averaged, not on `max_tokens`, which only bounds them. The cached share follows OpenAI's
prefix caching: once a system prompt of at least 1,024 tokens has been seen, later requests read
it from the cache in 128-token steps. Pure arithmetic over counts; the rendering is the
labeler's.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from labelwise.cost.pricing import cost_usd
from labelwise.cost.tokens import chat_prompt_tokens, count_tokens, tokenizer_name
from labelwise.domain import Usage
from labelwise.spec import Price, ProjectSpec
from labelwise.tasks import TASK_TYPES
from labelwise.tasks.packing import ANSWERS_KEY, ID_KEY

CACHE_MIN_TOKENS = 1024
CACHE_STEP_TOKENS = 128
# One or two sentences of reasoning, as the prompt asks for.
RATIONALE_TOKENS = 40


@dataclass(frozen=True)
class CascadeEstimate:
    """A cascade's second step: the stronger model labels `escalated_share` of the items again,
    one per request. The share is an assumption (all items unless the caller knows better);
    `cost_usd_all_escalated` is the bound."""

    model: str
    escalated_share: float
    items: int
    requests: int
    prompt_tokens: int
    cached_prompt_tokens: int
    completion_tokens: int
    price: Price | None
    cost_usd: float | None
    cost_usd_all_escalated: float | None

    def to_json(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "escalated_share": round(self.escalated_share, 4),
            "items": self.items,
            "requests": self.requests,
            "prompt_tokens": self.prompt_tokens,
            "cached_prompt_tokens": self.cached_prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "price": self.price.model_dump() if self.price is not None else None,
            "cost_usd": _rounded(self.cost_usd),
            "cost_usd_all_escalated": _rounded(self.cost_usd_all_escalated),
        }


def _rounded(usd: float | None) -> float | None:
    return None if usd is None else round(usd, 6)


@dataclass(frozen=True)
class Estimate:
    items: int
    sample_size: int
    items_per_request: int
    requests: int
    # Requests per item beyond the first answer: consensus samples and other models.
    calls_per_request: int
    prompt_tokens: int
    cached_prompt_tokens: int
    completion_tokens: int
    price: Price | None
    cost_usd: float | None
    tokenizer: str
    # With a cascade: its second step, included in the totals above.
    cascade: CascadeEstimate | None = None

    @property
    def cost_per_item_usd(self) -> float | None:
        return None if self.cost_usd is None else self.cost_usd / max(self.items, 1)

    def to_json(self) -> dict[str, Any]:
        return {
            "items": self.items,
            "sample_size": self.sample_size,
            "items_per_request": self.items_per_request,
            "requests": self.requests,
            "calls_per_request": self.calls_per_request,
            "prompt_tokens": self.prompt_tokens,
            "cached_prompt_tokens": self.cached_prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "prompt_tokens_per_item": round(self.prompt_tokens / max(self.items, 1), 1),
            "completion_tokens_per_item": round(self.completion_tokens / max(self.items, 1), 1),
            "price": self.price.model_dump() if self.price is not None else None,
            "cost_usd": _rounded(self.cost_usd),
            "cost_per_item_usd": self.cost_per_item_usd,
            "tokenizer": self.tokenizer,
            "cascade": self.cascade.to_json() if self.cascade is not None else None,
        }


def answer_tokens(spec: ProjectSpec, size: int) -> float:
    """The tokens of a typical answer about `size` items (one request)."""
    task = spec.task
    examples = TASK_TYPES[task.type].answer_examples(task)
    per_item = sum(count_tokens(example) for example in examples) / max(len(examples), 1)
    if task.rationale:
        per_item += RATIONALE_TOKENS
    if size == 1:
        return per_item
    # Each entry adds its id to the one-item answer; the envelope is paid once.
    entry = count_tokens(json.dumps({ID_KEY: str(size)})) - count_tokens("{}")
    envelope = count_tokens(json.dumps({ANSWERS_KEY: []}))
    return envelope + size * (per_item + entry + 1)


def views_per_item(size: int, sample_requests: int, sample_size: int) -> int:
    """How many requests one item takes: packed items share one (packed task types have one
    view); an item asked alone takes one per view, as many as its sample rendered."""
    if size > 1 or sample_size == 0:
        return 1
    return max(1, round(sample_requests / sample_size))


def cached_tokens(system_tokens: int) -> int:
    if system_tokens < CACHE_MIN_TOKENS:
        return 0
    return system_tokens // CACHE_STEP_TOKENS * CACHE_STEP_TOKENS


def estimate(
    spec: ProjectSpec,
    *,
    count: int,
    sample_requests: Sequence[Sequence[dict[str, Any]]],
    sample_size: int,
    price: Price | None,
    cascade_price: Price | None = None,
    escalated_share: float = 1.0,
) -> Estimate:
    """`sample_requests`: the messages of each request the sample (`sample_size` items) renders
    to; the result scales it to `count` items. An item asked alone may take several requests,
    one per view of it (a pairwise question in both orders), each with its own answer.

    With a cascade, the totals add its second step for `escalated_share` of the items (by
    default all of them: the bound, what a spend limit must reserve), at `cascade_price` (by
    default the price the cascade's model states; the operator's table is the caller's)."""
    size = spec.items_per_request
    views = views_per_item(size, len(sample_requests), sample_size)
    requests = math.ceil(count / size) * views
    calls = 1 + spec.consensus.samples + len(spec.consensus.models)
    prompt_per_item = sum(chat_prompt_tokens(m) for m in sample_requests) / max(sample_size, 1)
    prompt = round(prompt_per_item * count) * calls
    system = count_tokens(system_prompt(sample_requests))
    cached = cached_tokens(system) * max(0, requests * calls - 1)
    full, rest = divmod(count, size)
    completion = full * answer_tokens(spec, size) + (answer_tokens(spec, rest) if rest else 0)
    completion *= views
    completion_tokens = round(completion) * calls
    usage = Usage(prompt, min(cached, prompt), completion_tokens)
    first_cost = cost_usd(usage, price) if price is not None else None
    second = None
    if spec.cascade is not None:
        alone = prompt_per_item if size == 1 else prompt_alone(sample_requests, sample_size, system)
        rates = AloneRates(alone, system, answer_tokens(spec, 1) * views, views)
        price_two = cascade_price if cascade_price is not None else spec.cascade.model.price
        second = cascade_step(spec.cascade.model.name, count, escalated_share, rates, price_two)
    return Estimate(
        items=count,
        sample_size=sample_size,
        items_per_request=size,
        requests=requests * calls + (second.requests if second else 0),
        calls_per_request=calls,
        prompt_tokens=prompt + (second.prompt_tokens if second else 0),
        cached_prompt_tokens=usage.cached_tokens + (second.cached_prompt_tokens if second else 0),
        completion_tokens=completion_tokens + (second.completion_tokens if second else 0),
        price=price,
        cost_usd=first_cost if second is None else _sum(first_cost, second.cost_usd),
        tokenizer=tokenizer_name(),
        cascade=second,
    )


def system_prompt(sample_requests: Sequence[Sequence[dict[str, Any]]]) -> str:
    return next(
        (str(m.get("content")) for r in sample_requests for m in r if m.get("role") == "system"),
        "",
    )


def prompt_alone(
    sample_requests: Sequence[Sequence[dict[str, Any]]], sample_size: int, system: int
) -> float:
    """The prompt tokens of one item asked alone, from requests that packed several: the system
    prompt once, and the item's share of the rest (approximate: a packed prompt words its
    instructions for a pack)."""
    total = sum(chat_prompt_tokens(m) for m in sample_requests)
    return system + max(0.0, total - system * len(sample_requests)) / max(sample_size, 1)


@dataclass(frozen=True)
class AloneRates:
    """What one item costs asked alone: prompt tokens over all its views, the system prompt's
    tokens (the cacheable prefix), answer tokens over all its views, and its views."""

    prompt: float
    system: int
    completion: float
    views: int


def cascade_step(
    model: str, count: int, share: float, rates: AloneRates, price: Price | None
) -> CascadeEstimate:
    """The second step for `share` of `count` items, one item per request."""

    def usage_of(items: int) -> Usage:
        requests = items * rates.views
        prompt = round(rates.prompt * items)
        cached = cached_tokens(rates.system) * max(0, requests - 1)
        return Usage(prompt, min(cached, prompt), round(rates.completion * items))

    escalated = round(count * share)
    usage, every = usage_of(escalated), usage_of(count)
    return CascadeEstimate(
        model=model,
        escalated_share=share,
        items=escalated,
        requests=escalated * rates.views,
        prompt_tokens=usage.prompt_tokens,
        cached_prompt_tokens=usage.cached_tokens,
        completion_tokens=usage.completion_tokens,
        price=price,
        cost_usd=None if price is None else cost_usd(usage, price),
        cost_usd_all_escalated=None if price is None else cost_usd(every, price),
    )


def _sum(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None else a + b
