"""Reading a batch body (JSON or NDJSON) into items as it streams, with errors that name the
bad field; and the checks every item passes before it is stored, however it arrived."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any, BinaryIO

from pydantic import ValidationError

from labelwise.api import safe_json
from labelwise.api.errors import validation_failed
from labelwise.api.schemas import ItemIn
from labelwise.errors import PayloadTooLargeError, ValidationFailedError
from labelwise.spec import TaskSpec
from labelwise.store.batch_writer import NewItem
from labelwise.tasks import TASK_TYPES

NDJSON_TYPES = ("application/x-ndjson", "application/ndjson", "application/jsonl")


def check_item_size(index: int, value: Any, max_bytes: int, field: str = "data") -> None:
    size = len(json.dumps(value, ensure_ascii=False).encode())
    if size > max_bytes:
        raise PayloadTooLargeError(
            f"items.{index}.{field}: {size} bytes, over the limit of {max_bytes} per item",
            code="item_too_large",
        )


def checked_item(index: int, item: ItemIn, task: TaskSpec, max_bytes: int) -> NewItem:
    """The item as it is stored: its data and its gold within the size bound, and the gold a
    value of the project's task (in the form the task keeps it) that fits the item's data
    (spans must point at its text)."""
    check_item_size(index, item.data, max_bytes)
    truth = item.ground_truth
    if truth is not None:
        check_item_size(index, truth, max_bytes, field="ground_truth")
        try:
            truth = TASK_TYPES[task.type].checked_value(task, truth, item.data)
        except ValueError as exc:
            raise ValidationFailedError(f"items.{index}.ground_truth: {exc}") from None
    return NewItem(data=item.data, external_id=item.external_id, ground_truth=truth)


def iter_batch_items(
    body: BinaryIO,
    *,
    content_type: str,
    task: TaskSpec,
    max_items: int,
    max_item_bytes: int,
    max_json_depth: int,
) -> Iterator[NewItem]:
    """The items of a batch body, validated one by one as they are read.

    NDJSON is read line by line, so a batch of any size is never all in memory; a JSON body
    (`{"items": [...]}`) is parsed whole, which suits smaller batches.
    """
    if content_type.split(";")[0].strip().lower() in NDJSON_TYPES:
        raw_items = _ndjson_items(body, max_json_depth)
    else:
        raw_items = _json_items(body.read(), max_json_depth)
    count = 0
    for index, raw in enumerate(raw_items):
        if index >= max_items:
            raise PayloadTooLargeError(
                f"a batch takes at most {max_items} items; split it into several batches",
                code="too_many_items",
            )
        try:
            item = ItemIn.model_validate(raw)
        except ValidationError as exc:
            raise validation_failed(exc, ("items", index)) from None
        count += 1
        yield checked_item(index, item, task, max_item_bytes)
    if not count:
        raise ValidationFailedError("items: the batch has no items")


def _json_items(body: bytes, max_depth: int) -> list[Any]:
    document = safe_json.loads(body, max_depth=max_depth)
    if not isinstance(document, dict) or "items" not in document:
        raise ValidationFailedError('body: expected an object {"items": [...]}')
    extra = sorted(set(document) - {"items"})
    if extra:
        raise ValidationFailedError(f"{extra[0]}: extra field not permitted")
    if not isinstance(document["items"], list):
        raise ValidationFailedError("items: expected a list")
    return document["items"]


def _ndjson_items(body: BinaryIO, max_depth: int) -> Iterator[Any]:
    index = 0
    for line_number, line in enumerate(body, start=1):
        if not line.strip():
            continue
        yield safe_json.loads(
            line, max_depth=max_depth, path=("items", index), document=f"line {line_number}"
        )
        index += 1
