"""Export lines: one item a line, JSONL or CSV, produced lazily for a streamed response; and
spans projects as CoNLL.

Values and parts are JSON in JSONL. In CSV a classification's labels stay `|`-joined names; every
other value that is not a string (spans, fields, a pairwise answer's parts ...) is a JSON cell,
so it reads back exactly.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator
from itertools import chain as _chain
from typing import Any

from fastapi.responses import StreamingResponse

from labelwise.errors import ValidationFailedError
from labelwise.spec import TaskSpec
from labelwise.store.item_views import ItemView
from labelwise.tasks.conll import conll_lines

CSV_COLUMNS = [
    "id",
    "external_id",
    "text",
    "status",
    "label",
    "confidence",
    "source",
    "labeled_by",
    "reason",
    "model_label",
    "model_confidence",
    "data",
    "model_parts",
]


def export_record(view: ItemView) -> dict[str, Any]:
    prediction = view.prediction or {}
    return {
        "id": view.id,
        "external_id": view.external_id,
        "data": view.data,
        "status": view.status,
        "label": view.label_value,
        "confidence": view.label_confidence,
        "source": view.label_source,
        "labeled_by": view.labeled_by,
        "reason": view.reason,
        "prediction": {
            "value": prediction.get("value"),
            "confidence": prediction.get("confidence"),
            "method": prediction.get("method"),
            # Which model gave the value (with a model cascade: the step that settled it).
            "model": prediction.get("model"),
            # Only for tasks that ask for one: other exports stay as they were.
            **({"rationale": prediction["rationale"]} if prediction.get("rationale") else {}),
            # Only for task types that have parts (spans, fields, ratings, pairwise orders).
            **({"parts": prediction["parts"]} if prediction.get("parts") is not None else {}),
        }
        if prediction
        else None,
        "ground_truth": view.ground_truth,
    }


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: Any, *, joined: bool = True) -> str:
    """`joined`: a list is label names, written `a|b`; otherwise lists and objects are JSON."""
    if value is None:
        return ""
    if isinstance(value, list) and joined:
        return _safe("|".join(str(v) for v in value))
    if isinstance(value, list | dict):
        return _safe(json.dumps(value, ensure_ascii=False, sort_keys=True))
    return _safe(str(value))


def _safe(text: str) -> str:
    """Item text is untrusted: a cell a spreadsheet would run as a formula is quoted as text."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def _csv_row(view: ItemView, text_field: str, joined: bool) -> list[str]:
    prediction = view.prediction or {}
    text = view.data.get(text_field)
    return [
        str(view.id),
        _cell(view.external_id),
        _safe(text) if isinstance(text, str) else "",
        view.status,
        _cell(view.label_value, joined=joined),
        _cell(view.label_confidence),
        _cell(view.label_source),
        _cell(view.labeled_by),
        _cell(view.reason),
        _cell(prediction.get("value"), joined=joined),
        _cell(prediction.get("confidence")),
        _safe(json.dumps(view.data, ensure_ascii=False)),
        _cell(prediction.get("parts"), joined=False),
    ]


def export_lines(
    views: Iterable[ItemView], fmt: str, task: TaskSpec | None = None
) -> Iterator[str]:
    """`task`: the project's task (by default a classification reading `data["text"]`)."""
    if fmt == "jsonl":
        for view in views:
            yield json.dumps(export_record(view), ensure_ascii=False) + "\n"
        return
    text_field = task.text_field if task is not None else "text"
    joined = task is None or task.type == "classification"
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    rows = (_csv_row(view, text_field, joined) for view in views)
    for row in _chain([CSV_COLUMNS], rows):
        writer.writerow(row)
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()


def conll_response(views: Iterable[ItemView], task: TaskSpec, batch_id: int) -> StreamingResponse:
    """A spans project's items as CoNLL (`labelwise.tasks.conll`): each item with a final label,
    its tokens tagged by that label; items still waiting for one are left out. Other task types
    have no tokens to tag: refused."""
    if task.type != "spans":
        raise ValidationFailedError("format=conll exports spans projects only")
    field = task.text_field
    documents = (
        (view.external_id or str(view.id), view.data[field], view.label_value)
        for view in views
        if isinstance(view.label_value, list) and isinstance(view.data.get(field), str)
    )
    return StreamingResponse(
        conll_lines(documents),
        media_type="text/plain; charset=utf-8",
        headers={"content-disposition": f'attachment; filename="batch-{batch_id}.conll"'},
    )
