"""Task types, by `TaskSpec.type`. Add a kind of task by implementing `TaskType` and registering
an instance here."""

from __future__ import annotations

from typing import Any

from labelwise.spec import TaskSpec
from labelwise.tasks.base import OutputContract, Reading, TaskType
from labelwise.tasks.classification import ClassificationTask
from labelwise.tasks.extraction import ExtractionTask
from labelwise.tasks.pairwise import PairwiseTask
from labelwise.tasks.rating import RatingTask
from labelwise.tasks.spans import SpansTask

TASK_TYPES: dict[str, TaskType] = {}


def _register(task_type: TaskType) -> None:
    TASK_TYPES[task_type.name] = task_type


_register(ClassificationTask())
_register(SpansTask())
_register(ExtractionTask())
_register(PairwiseTask())
_register(RatingTask())


def matches(task: TaskSpec, value: Any, truth: Any) -> bool:
    """Whether `value` is the same answer as `truth`, as the task's type compares them."""
    return TASK_TYPES[task.type].matches(task, value, truth)


__all__ = ["TASK_TYPES", "OutputContract", "Reading", "TaskType", "matches"]
