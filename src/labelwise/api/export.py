"""Export lines: one item a line, JSONL or CSV, produced lazily for a streamed response."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator
from itertools import chain as _chain
from typing import Any

from labelwise.store.item_views import ItemView

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
            # Only for tasks that ask for one: other exports stay as they were.
            **({"rationale": prediction["rationale"]} if prediction.get("rationale") else {}),
        }
        if prediction
        else None,
        "ground_truth": view.ground_truth,
    }


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return _safe("|".join(str(v) for v in value))
    return _safe(str(value))


def _safe(text: str) -> str:
    """Item text is untrusted: a cell a spreadsheet would run as a formula is quoted as text."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def _csv_row(view: ItemView) -> list[str]:
    prediction = view.prediction or {}
    text = view.data.get("text")
    return [
        str(view.id),
        _cell(view.external_id),
        _safe(text) if isinstance(text, str) else "",
        view.status,
        _cell(view.label_value),
        _cell(view.label_confidence),
        _cell(view.label_source),
        _cell(view.labeled_by),
        _cell(view.reason),
        _cell(prediction.get("value")),
        _cell(prediction.get("confidence")),
        _safe(json.dumps(view.data, ensure_ascii=False)),
    ]


def export_lines(views: Iterable[ItemView], fmt: str) -> Iterator[str]:
    if fmt == "jsonl":
        for view in views:
            yield json.dumps(export_record(view), ensure_ascii=False) + "\n"
        return
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    for row in _chain([CSV_COLUMNS], (_csv_row(view) for view in views)):
        writer.writerow(row)
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
