"""What a task type is: the interface every kind of labeling task implements.

A task type owns its prompts, its answer schema (and the pydantic model that validates answers in
code), how an answer becomes a stored value, and how a confidence is read from logprobs or from
the self-consistency of repeated samples. It does no I/O; `labelwise.labeling.labeler` drives the
calls.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from pydantic import BaseModel

from labelwise.domain import Confidence, Example, TokenLogprob
from labelwise.errors import ReviewReason
from labelwise.scoring.consensus import Vote
from labelwise.scoring.json_regions import ROOT, Region
from labelwise.spec import TaskSpec
from labelwise.tasks.prompts import PromptLibrary


@dataclass(frozen=True)
class OutputContract:
    """The answer a task expects: its JSON schema, the model that validates it, and the length in
    characters of the longest possible answer (to size `max_tokens`: a token is at least one
    character)."""

    schema: dict[str, Any]
    model: type[BaseModel]
    max_answer_chars: int


@dataclass(frozen=True)
class Reading:
    """What one answer says of one item: its value, the confidence its logprobs give (None
    without logprobs, or when they cannot be read), the parts each with their own confidence
    (per span, per field, ...), and a reason a human must check it although it is usable."""

    value: Any
    confidence: Confidence | None = None
    parts: Any = None
    review_reason: ReviewReason | None = None


class TaskType(Protocol):
    name: str

    def views(self, task: TaskSpec, data: Mapping[str, Any]) -> list[Mapping[str, Any]]:
        """The item as each request about it shows it: one view for most types; a pairwise
        question is asked in both orders, so it has two."""
        ...

    def read(
        self,
        task: TaskSpec,
        answer: BaseModel,
        data: Mapping[str, Any],
        tokens: Sequence[TokenLogprob] | None,
        region: Region = ROOT,
    ) -> Reading:
        """What `answer` (to the request that showed `data`) says of the item; the confidence is
        read from `tokens` (in `region` of them) when there are any."""
        ...

    def merge(self, task: TaskSpec, readings: Sequence[Reading]) -> Reading:
        """The item's reading from one reading per view, in the order `views` gave them."""
        ...

    def contract(self, task: TaskSpec) -> OutputContract: ...

    def system_prompt(
        self,
        task: TaskSpec,
        prompts: PromptLibrary,
        *,
        answer_schema: str | None,
        packed: bool = False,
    ) -> str:
        """The static part: the same for every item of a project version. `packed`: for
        requests that carry several items (`labelwise.tasks.packing`)."""
        ...

    def combine(self, task: TaskSpec, votes: Sequence[Vote]) -> tuple[Any, Confidence]:
        """Several answers to one item as one value, with the combined confidence."""
        ...

    def answer_examples(self, task: TaskSpec) -> list[str]:
        """Well-formed answers (without a rationale), as the model writes them: what an answer
        typically costs, for estimates."""
        ...

    def rationale(self, answer: BaseModel) -> str | None:
        """The reasoning the answer gave before its label, when the task asked for one."""
        ...

    def user_prompt(
        self,
        task: TaskSpec,
        prompts: PromptLibrary,
        data: Mapping[str, Any],
        examples: Sequence[Example] = (),
    ) -> str:
        """The item, delimited and declared as data."""
        ...

    def pack_prompt(
        self,
        task: TaskSpec,
        prompts: PromptLibrary,
        items: Sequence[Mapping[str, Any]],
        examples: Sequence[Example] = (),
    ) -> str:
        """Several items, numbered from 1 in the order given, delimited and declared as data."""
        ...

    def value(self, answer: BaseModel) -> Any:
        """The value stored for a validated answer (JSON-serialisable)."""
        ...

    def checked_value(
        self, task: TaskSpec, value: Any, data: Mapping[str, Any] | None = None
    ) -> Any:
        """A value given from outside (an item's `ground_truth`, a reviewer's correction) as it
        is stored, or ValueError saying why it is not a value of this task: gold outside the
        task's values would count as right or wrong answers that no answer could match, and
        skew calibration. With the item's `data`, values that point into it are checked too."""
        ...

    def matches(self, task: TaskSpec, value: Any, truth: Any) -> bool:
        """Whether the label `value` is the same answer as `truth` (gold, or another reviewer's
        label). The one comparison of a value with gold: routing's calibration, the quality
        report, reviewers' agreement and the command line all ask the task type."""
        ...

    def logprob_confidence(
        self,
        task: TaskSpec,
        tokens: Sequence[TokenLogprob],
        answer: BaseModel,
        region: Region = ROOT,
    ) -> Confidence | None:
        """None when the answer cannot be located in the tokens (in `region` of them: one
        item's part of an answer about several)."""
        ...

    def self_consistency(
        self,
        task: TaskSpec,
        answers: Sequence[BaseModel],
        data: Mapping[str, Any] | None = None,
    ) -> tuple[Any, Confidence]:
        """The majority value over samples (the first answer first) and the share behind it,
        scored with the method stored as `agreement`. `data`: the item as the samples' request
        showed it (spans are found in its text)."""
        ...


def data_json(data: Mapping[str, Any]) -> str:
    """`data` as JSON that can sit between `<item>` markers without closing them.

    JSON escaping already keeps quotes and newlines inside strings; `<` and `>` only ever occur
    inside strings in JSON, so escaping them as `\\u003c` / `\\u003e` keeps it valid JSON while a
    literal `</item>` in the item's text can no longer end the data block.
    """
    encoded = json.dumps(data, ensure_ascii=False, sort_keys=False)
    return encoded.replace("<", "\\u003c").replace(">", "\\u003e")


def label_definitions(task: TaskSpec) -> list[dict[str, str]]:
    """The task's labels as prompts list them: each name as JSON (the exact string to answer
    with, whatever it contains) and its description."""
    return [
        {"name_json": json.dumps(label.name, ensure_ascii=False), "description": label.description}
        for label in task.labels
    ]


# Room in max_tokens for a rationale; prompts ask for one or two sentences.
RATIONALE_CHARS = 1200
RATIONALE_SCHEMA = {"type": "string", "description": "one or two sentences of reasoning"}


def strict_object(properties: dict[str, Any]) -> dict[str, Any]:
    """An object schema with every property required and nothing else allowed."""
    return {
        "type": "object",
        "properties": properties,
        "required": list(properties),
        "additionalProperties": False,
    }


def answer_object(properties: dict[str, Any], *, rationale: bool) -> dict[str, Any]:
    """The answer object; a rationale comes first, so the model reasons before it commits to an
    answer (schema-constrained decoding writes properties in schema order)."""
    if rationale:
        properties = {"rationale": RATIONALE_SCHEMA, **properties}
    return strict_object(properties)


class TaskTypeBase:
    """What most task types share: an item shown once, as it is (one view, one reading), the
    item and its examples rendered into the type's `user.j2` / `pack.j2`, and a rationale read
    from the answer's `rationale` property when the task asks for one. A type says how an
    example's value is written as an answer (`example_answer_json`)."""

    name: str

    def item_json(self, task: TaskSpec, data: Mapping[str, Any]) -> str:
        """The item as the prompt shows it between its markers."""
        return data_json(data)

    def example_answer_json(
        self, task: TaskSpec, data: Mapping[str, Any], value: Any
    ) -> str | None:
        """An example's value written as the model should answer it; None leaves it out."""
        raise NotImplementedError

    def shown_examples(self, task: TaskSpec, examples: Sequence[Any]) -> list[dict[str, str]]:
        """Examples (anything with `data` and `label`) as the templates show them."""
        shown = []
        for example in examples:
            answer = self.example_answer_json(task, example.data, example.label)
            if answer is not None:
                shown.append(
                    {"data_json": self.item_json(task, example.data), "answer_json": answer}
                )
        return shown

    def user_prompt(
        self,
        task: TaskSpec,
        prompts: PromptLibrary,
        data: Mapping[str, Any],
        examples: Sequence[Example] = (),
    ) -> str:
        return prompts.render(
            f"{self.name}/user.j2",
            item_json=self.item_json(task, data),
            examples=self.shown_examples(task, examples),
        )

    def pack_prompt(
        self,
        task: TaskSpec,
        prompts: PromptLibrary,
        items: Sequence[Mapping[str, Any]],
        examples: Sequence[Example] = (),
    ) -> str:
        return prompts.render(
            f"{self.name}/pack.j2",
            items=[self.item_json(task, data) for data in items],
            examples=self.shown_examples(task, examples),
        )

    def views(self, task: TaskSpec, data: Mapping[str, Any]) -> list[Mapping[str, Any]]:
        return [data]

    def merge(self, task: TaskSpec, readings: Sequence[Reading]) -> Reading:
        return readings[0]

    def rationale(self, answer: BaseModel) -> str | None:
        text = getattr(answer, "rationale", None)
        return text.strip()[:RATIONALE_CHARS] if isinstance(text, str) else None
