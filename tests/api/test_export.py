"""Export lines: every field of an item, and untrusted text that cannot become a formula."""

from __future__ import annotations

import csv
import io
import json

import pytest

from labelwise.api.export import export_lines
from labelwise.store.item_views import ItemView


def view(text: str, label: object = "positive") -> ItemView:
    return ItemView(
        id=1,
        external_id="e1",
        data={"text": text},
        status="accepted",
        reason=None,
        ground_truth="positive",
        label_value=label,
        label_confidence=0.93,
        label_source="model",
        labeled_by=None,
        prediction={"value": label, "confidence": 0.93, "method": "logprob"},
    )


@pytest.mark.parametrize(
    ("text", "cell"),
    [
        ("plain words", "plain words"),
        ('=HYPERLINK("http://x","y")', '\'=HYPERLINK("http://x","y")'),
        ("+1 555", "'+1 555"),
        ("-2", "'-2"),
        ("@SUM(A1)", "'@SUM(A1)"),
    ],
)
def test_csv_cells_never_start_a_formula(text: str, cell: str) -> None:
    rows = list(csv.reader(io.StringIO("".join(export_lines([view(text)], "csv")))))
    assert rows[0][:5] == ["id", "external_id", "text", "status", "label"]
    assert rows[1][2] == cell


def test_jsonl_line_holds_label_confidence_source_and_prediction() -> None:
    (line,) = export_lines([view("hi", ["a", "b"])], "jsonl")
    record = json.loads(line)
    assert record["label"] == ["a", "b"] and record["confidence"] == 0.93
    assert record["source"] == "model" and record["prediction"]["method"] == "logprob"
    assert record["ground_truth"] == "positive"
