"""A task type shown in two views, for tests of the flow every task type shares: a
classification asked twice, the second time with the item marked `swapped`; the readings
disagreeing send the item to review, and each view's answer is kept as a part.

Tests put it in place of `classification` in `TASK_TYPES` (the task definition accepts only the
product's type names), so projects, the worker and the API run it unchanged."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import httpx
import pytest
import respx

from labelwise.domain import Confidence, ConfidenceMethod, TokenLogprob
from labelwise.errors import ReviewReason
from labelwise.scoring.json_regions import ROOT, Region
from labelwise.spec import TaskSpec
from labelwise.tasks import TASK_TYPES, Reading
from labelwise.tasks.classification import ClassificationTask
from tests.llm.fakes import completion, single_label_tokens

SWAPPED = "swapped"


class TwoViewTask(ClassificationTask):
    def views(self, task: TaskSpec, data: Mapping[str, Any]) -> list[Mapping[str, Any]]:
        return [data, {**data, SWAPPED: True}]

    def read(
        self,
        task: TaskSpec,
        answer: Any,
        data: Mapping[str, Any],
        tokens: Sequence[TokenLogprob] | None,
        region: Region = ROOT,
    ) -> Reading:
        plain = super().read(task, answer, data, tokens, region)
        score = plain.confidence.score if plain.confidence else None
        part = {"view": 2 if data.get(SWAPPED) else 1, "label": plain.value, "confidence": score}
        return Reading(plain.value, plain.confidence, [part])

    def merge(self, task: TaskSpec, readings: Sequence[Reading]) -> Reading:
        """The first view's value at the lower confidence; views that disagree need a human."""
        first = readings[0]
        scores = [r.confidence.score for r in readings if r.confidence is not None]
        known = [s for s in scores if s is not None]
        method = first.confidence.method if first.confidence else ConfidenceMethod.NONE
        score = min(known) if len(known) == len(readings) else None
        parts = [part for reading in readings for part in reading.parts]
        agree = len({json.dumps(r.value) for r in readings}) == 1
        reason = None if agree else ReviewReason.ORDER_DISAGREEMENT
        return Reading(first.value, Confidence(score, method), parts, reason)


@pytest.fixture
def two_views(monkeypatch: pytest.MonkeyPatch) -> TwoViewTask:
    task_type = TwoViewTask()
    monkeypatch.setitem(TASK_TYPES, "classification", task_type)
    return task_type


def two_view_answer(request: httpx.Request) -> httpx.Response:
    """`flip` items: positive at 0.9 as given, negative at 0.8 when swapped; others positive at
    0.95 both ways."""
    messages = json.loads(request.content)["messages"]
    item = next(m["content"] for m in messages if m["role"] == "user")
    label, other, p = "positive", "negative", 0.95
    if "flip" in item:
        label, other, p = ("negative", "positive", 0.8) if SWAPPED in item else (label, other, 0.9)
    tokens = single_label_tokens(label, [(label, math.log(p)), (other, math.log(1 - p))])
    return httpx.Response(200, json=completion(json.dumps({"label": label}), tokens=tokens))


@pytest.fixture
def two_view_llm() -> Iterator[respx.MockRouter]:
    with respx.mock(base_url="http://llm.test/v1", assert_all_called=False) as router:
        router.post("/chat/completions").mock(side_effect=two_view_answer)
        yield router
