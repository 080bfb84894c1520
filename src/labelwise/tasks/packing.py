"""Several items in one request: the answer's shape, and reading each item's answer out of it.

A packed request shows items `1..n`, each between `<item id="k">` markers, and asks for
`{"answers": [{"id": "k", ...the one-item answer...}, ...]}`. The ids are positions, not database
ids, so the schema depends only on the pack's size: every full pack of a project version sends
the same schema (a provider compiles its grammar once) and no internal id reaches the model.

Each element is validated on its own with the task's one-item answer model, and its confidence is
read only from its own tokens. An element that is missing, malformed or repeated leaves its item
unanswered; the labeler then asks for that item alone. Pure functions; nothing does I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from labelwise.scoring.json_regions import Region, array_elements

ANSWERS_KEY = "answers"
ID_KEY = "id"
# Per element beyond the one-item answer: `{"id": "12", ` and the separator, generously.
_ELEMENT_OVERHEAD_CHARS = 24


class PackAnswer(BaseModel):
    """The envelope only: elements are checked one by one, so one bad element does not cost
    the others their answers."""

    model_config = ConfigDict(extra="forbid")

    answers: list[Any]


@dataclass(frozen=True)
class ItemAnswer:
    answer: BaseModel
    # Where the element sits in the generated tokens; None when it cannot be located.
    region: Region | None


def item_ids(size: int) -> list[str]:
    return [str(position) for position in range(1, size + 1)]


def pack_schema(item_schema: dict[str, Any], size: int) -> dict[str, Any]:
    """The answer schema for `size` items: the one-item schema with an `id` first, in an array.

    The id comes first so the model commits to which item it answers before it answers.
    """
    element = dict(item_schema)
    element["properties"] = {
        ID_KEY: {"type": "string", "enum": item_ids(size)},
        **item_schema["properties"],
    }
    element["required"] = [ID_KEY, *item_schema["required"]]
    return {
        "type": "object",
        "properties": {ANSWERS_KEY: {"type": "array", "items": element}},
        "required": [ANSWERS_KEY],
        "additionalProperties": False,
    }


def pack_max_chars(item_max_chars: int, size: int) -> int:
    """The longest answer `size` items can take, to size `max_tokens`."""
    return 20 + size * (item_max_chars + _ELEMENT_OVERHEAD_CHARS)


def unpack(
    answer: PackAnswer,
    *,
    size: int,
    item_model: type[BaseModel],
    content: str | None,
) -> dict[str, ItemAnswer]:
    """Each item's answer by id. `content` is the generated text the logprobs cover (None when
    there are none): element k of the parsed array is the k-th object in it.

    An element with no valid id, or that fails the one-item model, is dropped; an id answered
    twice is dropped entirely, since which answer the model meant cannot be known.
    """
    wanted = set(item_ids(size))
    regions: list[Region | None] = list(array_elements(content, ANSWERS_KEY)) if content else []
    if len(regions) != len(answer.answers):
        regions = [None] * len(answer.answers)
    found: dict[str, ItemAnswer] = {}
    repeated: set[str] = set()
    for element, region in zip(answer.answers, regions, strict=True):
        if not isinstance(element, dict):
            continue
        item_id = element.get(ID_KEY)
        if not isinstance(item_id, str) or item_id not in wanted:
            continue
        if item_id in found or item_id in repeated:
            found.pop(item_id, None)
            repeated.add(item_id)
            continue
        body = {key: value for key, value in element.items() if key != ID_KEY}
        try:
            found[item_id] = ItemAnswer(item_model.model_validate(body), region)
        except ValidationError:
            continue
    return found
