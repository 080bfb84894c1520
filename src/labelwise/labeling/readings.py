"""Reading an item through its views: each view's answer read by the task type, scored by its
logprobs or, without them, by the agreement of samples of the same request.

A task type shows an item in one view or several (a pairwise question in both orders); every
view gets its own request, and the task type merges the readings into the item's.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from typing import Any

from labelwise.labeling.asking import Asker
from labelwise.labeling.votes import agreed_reading
from labelwise.llm.call import StructuredAnswer, StructuredRequest
from labelwise.llm.meter import CallMeter
from labelwise.spec import ProjectSpec
from labelwise.tasks import Reading, TaskType


async def view_reading(
    asker: Asker,
    spec: ProjectSpec,
    task_type: TaskType,
    view: Mapping[str, Any],
    request: StructuredRequest,
    first: StructuredAnswer,
    meter: CallMeter,
    *,
    single_view: bool,
) -> Reading:
    """What the answer to one view says, scored by its logprobs; without them (or when they
    cannot be read), by the agreement of samples of the same request."""
    reading = task_type.read(spec.task, first.answer, view, first.tokens or None)
    if reading.confidence is not None:
        return reading
    samples = await asker.samples(spec.model, request, meter)
    answers = [first.answer, *samples]
    return agreed_reading(task_type, spec.task, view, answers, single_view=single_view)


async def merged_reading(
    asker: Asker,
    spec: ProjectSpec,
    task_type: TaskType,
    views: Sequence[Mapping[str, Any]],
    requests: Sequence[StructuredRequest],
    firsts: Sequence[StructuredAnswer],
    meter: CallMeter,
) -> Reading:
    """The item's reading: one per view (`firsts` answered `requests`), merged by the task
    type. Views that need samples draw them concurrently."""
    single = len(views) == 1
    readings = await asyncio.gather(
        *(
            view_reading(asker, spec, task_type, view, request, first, meter, single_view=single)
            for view, request, first in zip(views, requests, firsts, strict=True)
        )
    )
    return task_type.merge(spec.task, readings)
