"""How a pairwise item is shown: the two orders of its candidates, the view each request shows,
and the answer letters ("A", "B", "tie") mapped to and from the item's own terms ("a", "b", "tie").

A view carries its order under `ORDER_KEY` so an answer can be read back by it; the prompt shows
only the context and the two candidates, as one JSON object between `<item>` markers like any
item (`shown_pair`), never the marker.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from labelwise.spec import TaskSpec
from labelwise.task_values import TIE
from labelwise.tasks.base import data_json

# The view's key for the order it shows the candidates in: (shown as A, shown as B).
ORDER_KEY = "__order"
AS_GIVEN: tuple[str, str] = ("a", "b")
SWAPPED: tuple[str, str] = ("b", "a")
_ORDERS = {AS_GIVEN, SWAPPED}


def letters(task: TaskSpec) -> list[str]:
    """What the model may answer: the candidates as shown, and "tie" when a tie is allowed."""
    return ["A", "B", TIE] if task.allow_tie else ["A", "B"]


def view(task: TaskSpec, data: Mapping[str, Any], order: tuple[str, str]) -> dict[str, Any]:
    """The item as one request shows it: the context (when the task has one) and the candidate
    `order[0]` names as A, the one `order[1]` names as B. A missing field is shown as null."""
    fields = task.fields or ["a", "b"]
    source = dict(zip(AS_GIVEN, fields, strict=True))
    shown: dict[str, Any] = {ORDER_KEY: list(order)}
    if task.context_field:
        shown["context"] = data.get(task.context_field)
    shown["A"] = data.get(source[order[0]])
    shown["B"] = data.get(source[order[1]])
    return shown


def order_of(shown: Mapping[str, Any]) -> tuple[str, str] | None:
    """The order a view shows, or None for item data that is not a view (an item's own field
    of the same name but another value does not make it one)."""
    marker = shown.get(ORDER_KEY)
    if not isinstance(marker, list | tuple):
        return None
    order = tuple(marker)
    return order if order in _ORDERS else None  # type: ignore[return-value]


def as_view(task: TaskSpec, data: Mapping[str, Any]) -> Mapping[str, Any]:
    """`data` if it is already a view; the item as given otherwise."""
    return data if order_of(data) is not None else view(task, data, AS_GIVEN)


def oriented(letter: str, order: tuple[str, str]) -> str:
    """An answer about the candidates as shown ("A", "B", "tie") in the item's own terms."""
    if letter == TIE:
        return TIE
    return order[0] if letter == "A" else order[1]


def shown_letter(value: str, order: tuple[str, str] = AS_GIVEN) -> str:
    """The answer the model gives for `value` when the candidates are shown in `order`."""
    if value == TIE:
        return TIE
    return "A" if value == order[0] else "B"


def shown_pair(shown: Mapping[str, Any]) -> dict[str, Any]:
    """A view as the templates show it: one JSON object of the context (when the task has one)
    and candidates "A" and "B", without its order marker."""
    return {"item_json": data_json({k: v for k, v in shown.items() if k != ORDER_KEY})}


def shown_example(task: TaskSpec, data: Mapping[str, Any], label: Any) -> dict[str, Any]:
    """A judged item, always shown as given (its data is an item's, never a view), with the
    answer the model would give for its label."""
    pair = shown_pair(view(task, data, AS_GIVEN))
    pair["answer_json"] = json.dumps({"winner": shown_letter(str(label))})
    return pair
