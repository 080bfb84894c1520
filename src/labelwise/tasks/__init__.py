"""Task types, by `TaskSpec.type`. Add a kind of task by implementing `TaskType` and registering
an instance here."""

from __future__ import annotations

from labelwise.tasks.base import OutputContract, TaskType
from labelwise.tasks.classification import ClassificationTask

TASK_TYPES: dict[str, TaskType] = {ClassificationTask.name: ClassificationTask()}

__all__ = ["TASK_TYPES", "OutputContract", "TaskType"]
