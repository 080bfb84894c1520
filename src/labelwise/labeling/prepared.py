"""What every request of a project version shares: the task type, the answer contract, the
system prompt, the schema asked for and the token budget.

Worked out once per version and model rather than per item: the system prompt then stays
byte-identical for every item, so providers can serve it from their prefix cache, and the
contract's schema is not rebuilt for each call.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from labelwise.llm.output import schema_line
from labelwise.spec import ModelSpec, ProjectSpec
from labelwise.tasks import TASK_TYPES, OutputContract, TaskType
from labelwise.tasks.packing import PackAnswer, pack_max_chars, pack_schema
from labelwise.tasks.prompts import PromptLibrary

# Room beyond the longest possible answer for whitespace a model may add around it.
MAX_TOKENS_MARGIN = 16


@dataclass(frozen=True)
class PreparedRequest:
    """The fixed part of the requests about one item, or (`packed`) about several."""

    task_type: TaskType
    contract: OutputContract  # the one-item answer
    system_prompt: str
    schema: dict[str, Any]  # what the request asks for: one answer, or a pack of them
    answer_model: type[BaseModel]
    max_tokens: int


def task_type_of(spec: ProjectSpec) -> TaskType:
    task_type = TASK_TYPES.get(spec.task.type)
    if task_type is None:
        raise ValueError(f"unknown task type {spec.task.type!r}")
    return task_type


def answer_max_tokens(
    set_max_tokens: int | None, max_answer_chars: int, pack_size: int | None
) -> int:
    """The token budget of one item's answer (`pack_size` None) or of a pack's: the model's own
    `max_tokens` per item when set, else the longest answer the schema allows (a character is
    at least a token) plus a margin. A pack is budgeted in full, so a smaller last pack sends
    the very same request."""
    if pack_size is None:
        return set_max_tokens or max_answer_chars + MAX_TOKENS_MARGIN
    if set_max_tokens:
        return set_max_tokens * pack_size
    return pack_max_chars(max_answer_chars, pack_size) + MAX_TOKENS_MARGIN


def prepare(
    spec: ProjectSpec, model: ModelSpec, prompts: PromptLibrary, *, packed: bool
) -> PreparedRequest:
    """The fixed part of `spec`'s requests when sent to `model` (the project's own, or a
    consensus voter asked the same task)."""
    task_type = task_type_of(spec)
    contract = task_type.contract(spec.task)
    schema: dict[str, Any] = contract.schema
    answer_model: type[BaseModel] = contract.model
    size = spec.items_per_request if packed else None
    if size is not None:
        # Sized for a full pack, so a smaller last pack sends the very same request prefix.
        schema, answer_model = pack_schema(contract.schema, size), PackAnswer
    answer_schema = schema_line(schema) if model.output_mode == "json_object" else None
    return PreparedRequest(
        task_type=task_type,
        contract=contract,
        system_prompt=task_type.system_prompt(
            spec.task, prompts, answer_schema=answer_schema, packed=packed
        ),
        schema=schema,
        answer_model=answer_model,
        max_tokens=answer_max_tokens(model.max_tokens, contract.max_answer_chars, size),
    )
