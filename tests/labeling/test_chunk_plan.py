"""Planning a chunk without I/O: what is reused, copied, asked, or stopped by a spend limit."""

from __future__ import annotations

import pytest

from labelwise.domain import Confidence, ConfidenceMethod, LabelOutcome, Usage
from labelwise.errors import ReviewReason
from labelwise.labeling.chunk_plan import (
    copied,
    fits_task,
    packs_of,
    plan_chunk,
    spend_limit_reached,
)
from labelwise.spec import ProjectSpec
from labelwise.store.labeling import ClaimedItem


def spec(result_cache: str = "project") -> ProjectSpec:
    return ProjectSpec.model_validate(
        {
            "task": {"type": "classification", "labels": ["positive", "negative"]},
            "model": {"name": "test-model"},
            "result_cache": result_cache,
        }
    )


def item(
    item_id: int, content: str | None, *, project: int = 1, version: int = 1, batch: int = 1
) -> ClaimedItem:
    return ClaimedItem(
        id=item_id,
        project_id=project,
        batch_id=batch,
        version=version,
        data={"text": content or ""},
        content_hash=content,
    )


def answered(item_id: int) -> LabelOutcome:
    return LabelOutcome(
        item_id=item_id,
        value="positive",
        confidence=Confidence(0.9, ConfidenceMethod.LOGPROB),
        usage=Usage(10, 0, 2),
        latency_ms=120,
        attempts=2,
    )


@pytest.mark.parametrize(
    ("items", "size", "packs"),
    [
        ([], 3, []),
        ([1], 3, [[1]]),
        ([1, 2, 3], 3, [[1, 2, 3]]),
        ([1, 2, 3, 4], 3, [[1, 2, 3], [4]]),
        ([1, 2, 3, 4, 5], 2, [[1, 2], [3, 4], [5]]),
        ([1, 2], 1, [[1], [2]]),
    ],
)
def test_packs_of(items: list[int], size: int, packs: list[list[int]]) -> None:
    assert packs_of(items, size) == packs


@pytest.mark.parametrize(
    ("scope", "claimed", "reused", "to_ask", "copies", "reused_ids"),
    [
        # Identical content: the first is asked, the others wait on it.
        ("project", [item(1, "a"), item(2, "a"), item(3, "b")], {}, [1, 3], {1: [2]}, []),
        # With the cache off every item is asked, identical or not.
        ("off", [item(1, "a"), item(2, "a")], {}, [1, 2], {}, []),
        # Without a content hash an item is never shared.
        ("project", [item(1, None), item(2, None)], {}, [1, 2], {}, []),
        # Per batch: the same content in two batches is asked twice.
        ("batch", [item(1, "a", batch=1), item(2, "a", batch=2)], {}, [1, 2], {}, []),
        ("project", [item(1, "a", batch=1), item(2, "a", batch=2)], {}, [1], {1: [2]}, []),
        # A cache hit is reused and asks nothing.
        ("project", [item(1, "a"), item(2, "b")], {1: answered(99)}, [2], {}, [1]),
    ],
)
def test_plan_chunk(
    scope: str,
    claimed: list[ClaimedItem],
    reused: dict[int, LabelOutcome],
    to_ask: list[int],
    copies: dict[int, list[int]],
    reused_ids: list[int],
) -> None:
    plan = plan_chunk(claimed, {(1, 1): spec(scope)}, reused)
    assert [i.id for group in plan.to_ask.values() for i in group] == to_ask
    assert {first: [c.id for c in waiting] for first, waiting in plan.copies.items()} == copies
    assert [(i.id, outcome.item_id) for i, outcome in plan.reused] == [(i, i) for i in reused_ids]
    assert all(outcome.cache_hit for _, outcome in plan.reused)


def test_items_are_asked_by_project_version() -> None:
    claimed = [item(1, "a", version=1), item(2, "a", version=2), item(3, "c", project=2)]
    specs = {(1, 1): spec(), (1, 2): spec(), (2, 1): spec()}
    plan = plan_chunk(claimed, specs, {})
    assert {v: [i.id for i in group] for v, group in plan.to_ask.items()} == {
        (1, 1): [1],
        (1, 2): [2],
        (2, 1): [3],
    }


@pytest.mark.parametrize(
    ("stopped", "taken", "left"),
    [
        (set(), [], [1, 3, 4]),
        ({1}, [((1, 1), 1), ((1, 1), 2), ((1, 1), 3)], [4]),
        ({2}, [((2, 1), 4)], [1, 3]),
        ({1, 2}, [((1, 1), 1), ((1, 1), 2), ((1, 1), 3), ((2, 1), 4)], []),
    ],
)
def test_take_stopped_takes_the_copies_along(
    stopped: set[int], taken: list[tuple[tuple[int, int], int]], left: list[int]
) -> None:
    claimed = [item(1, "a"), item(2, "a"), item(3, "b"), item(4, "c", project=2)]
    plan = plan_chunk(claimed, {(1, 1): spec(), (2, 1): spec()}, {})
    assert [(version, i.id) for version, i in plan.take_stopped(stopped)] == taken
    assert [i.id for group in plan.to_ask.values() for i in group] == left
    if 1 in stopped:
        assert not plan.copies


def test_a_copy_costs_nothing_and_keeps_the_label() -> None:
    copy = copied(answered(1), 7)
    assert (copy.item_id, copy.value, copy.confidence.score) == (7, "positive", 0.9)
    assert (copy.usage, copy.attempts, copy.latency_ms, copy.cache_hit) == (Usage(), 0, 0, True)
    original = answered(1)
    copied(original, 7)
    assert (original.item_id, original.cache_hit, original.attempts) == (1, False, 2)


def test_a_stopped_item_goes_to_review_without_a_call() -> None:
    outcome = spend_limit_reached(item(5, "a"))
    assert (outcome.item_id, outcome.error_reason) == (5, ReviewReason.SPEND_LIMIT)
    assert outcome.usage == Usage() and outcome.attempts == 0


MULTI = ProjectSpec.model_validate(
    {
        "task": {"type": "classification", "labels": ["a", "b", "c"], "multi_label": True},
        "model": {"name": "test-model"},
    }
)


@pytest.mark.parametrize(
    ("project", "label", "fits"),
    [
        (spec(), "positive", True),
        (spec(), "neutral", False),  # a label the version no longer has
        (spec(), ["positive"], False),  # a multi-label answer, shown to a single-label task
        (spec(), 3, False),
        (MULTI, ["a", "c"], True),
        (MULTI, "b", True),  # a lone label is a set of one
        (MULTI, ["a", "z"], False),
        (MULTI, [], True),  # no label applies
    ],
)
def test_a_reviewed_example_fits_the_task_as_it_is_now(
    project: ProjectSpec, label: object, fits: bool
) -> None:
    assert fits_task(project, label) is fits
