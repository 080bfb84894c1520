"""Reading a batch body (JSON or NDJSON) into items as it streams, with errors that name the
bad field."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any, BinaryIO

from pydantic import ValidationError

from labelwise.api.errors import validation_failed
from labelwise.api.schemas import ItemIn
from labelwise.errors import PayloadTooLargeError, ValidationFailedError
from labelwise.store.batches import NewItem

NDJSON_TYPES = ("application/x-ndjson", "application/ndjson", "application/jsonl")


def check_item_size(index: int, data: dict[str, Any], max_bytes: int) -> None:
    size = len(json.dumps(data, ensure_ascii=False).encode())
    if size > max_bytes:
        raise PayloadTooLargeError(
            f"items.{index}.data: {size} bytes, over the limit of {max_bytes} per item",
            code="item_too_large",
        )


def iter_batch_items(
    body: BinaryIO, *, content_type: str, max_items: int, max_item_bytes: int
) -> Iterator[NewItem]:
    """The items of a batch body, validated one by one as they are read.

    NDJSON is read line by line, so a batch of any size is never all in memory; a JSON body
    (`{"items": [...]}`) is parsed whole, which suits smaller batches.
    """
    if content_type.split(";")[0].strip().lower() in NDJSON_TYPES:
        raw_items = _ndjson_items(body)
    else:
        raw_items = _json_items(body.read())
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
        check_item_size(index, item.data, max_item_bytes)
        count += 1
        yield NewItem(data=item.data, external_id=item.external_id, ground_truth=item.ground_truth)
    if not count:
        raise ValidationFailedError("items: the batch has no items")


def _json_items(body: bytes) -> list[Any]:
    try:
        document = json.loads(body)
    except ValueError as exc:
        raise ValidationFailedError(f"body: not valid JSON ({exc})") from None
    if not isinstance(document, dict) or "items" not in document:
        raise ValidationFailedError('body: expected an object {"items": [...]}')
    extra = sorted(set(document) - {"items"})
    if extra:
        raise ValidationFailedError(f"{extra[0]}: extra field not permitted")
    if not isinstance(document["items"], list):
        raise ValidationFailedError("items: expected a list")
    return document["items"]


def _ndjson_items(body: BinaryIO) -> Iterator[Any]:
    for line_number, line in enumerate(body, start=1):
        if not line.strip():
            continue
        try:
            yield json.loads(line)
        except ValueError as exc:
            raise ValidationFailedError(f"line {line_number}: not valid JSON ({exc})") from None
