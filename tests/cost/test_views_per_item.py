"""How many requests an item takes in an estimate: one per view when asked alone."""

from __future__ import annotations

import pytest

from labelwise.cost.estimate import estimate, views_per_item
from labelwise.spec import ProjectSpec


@pytest.mark.parametrize(
    ("size", "requests", "sample", "views"),
    [
        (1, 40, 40, 1),
        (1, 80, 40, 2),
        (1, 0, 0, 1),
        (10, 4, 40, 1),
        (10, 1, 7, 1),
    ],
)
def test_views_per_item(size: int, requests: int, sample: int, views: int) -> None:
    assert views_per_item(size, requests, sample) == views


def test_two_views_double_the_requests_and_answers() -> None:
    spec = ProjectSpec.model_validate(
        {"task": {"labels": ["a", "b"]}, "model": {"name": "m"}, "routing": {"accept_threshold": 1}}
    )
    messages = [{"role": "system", "content": "Label it."}, {"role": "user", "content": "x"}]
    once = estimate(spec, count=10, sample_requests=[messages], sample_size=1, price=None)
    twice = estimate(spec, count=10, sample_requests=[messages] * 2, sample_size=1, price=None)
    assert (once.requests, twice.requests) == (10, 20)
    assert twice.completion_tokens == 2 * once.completion_tokens
    assert twice.prompt_tokens == 2 * once.prompt_tokens
