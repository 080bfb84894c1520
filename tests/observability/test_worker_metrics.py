"""A worker's own accounting: chunks from taken to their end, and each write of labels."""

from __future__ import annotations

import logging

import pytest

from labelwise.domain import ItemStatus
from labelwise.observability.label_writes import report_written
from labelwise.observability.metrics import LABELING_REGISTRY, WORKER_REGISTRY
from labelwise.observability.worker_metrics import chunk_span
from tests.conftest import outcome
from tests.observability.capture import json_lines

EVENTS = ("started", "finished", "handed_back", "failed")


def chunk_counts() -> dict[str, float]:
    return {
        event: WORKER_REGISTRY.get_sample_value("labelwise_chunks_total", {"event": event}) or 0.0
        for event in EVENTS
    }


def chunk_seconds_count() -> float:
    return WORKER_REGISTRY.get_sample_value("labelwise_chunk_seconds_count") or 0.0


def test_a_chunk_is_counted_and_logged_from_taken_to_finished() -> None:
    before, timed = chunk_counts(), chunk_seconds_count()
    with json_lines("labelwise") as captured:
        with chunk_span("job-1", [11, 12, 13]) as span:
            logging.getLogger("labelwise.somewhere").info("inside the chunk")
            span.written = 3
        logging.getLogger("labelwise.somewhere").info("after the chunk")
    after = chunk_counts()
    assert {e: after[e] - before[e] for e in EVENTS} == {
        "started": 1,
        "finished": 1,
        "handed_back": 0,
        "failed": 0,
    }
    assert chunk_seconds_count() == timed + 1
    [taken] = captured.with_message("chunk taken")
    assert (taken["job_id"], taken["item_ids"], taken["level"]) == ("job-1", [11, 12, 13], "INFO")
    [inside] = captured.with_message("inside the chunk")
    assert inside["job_id"] == "job-1"
    [outside] = captured.with_message("after the chunk")
    assert "job_id" not in outside
    [ended] = captured.with_message("chunk ended")
    assert {k: ended[k] for k in ("job_id", "event", "items", "written")} == {
        "job_id": "job-1",
        "event": "finished",
        "items": 3,
        "written": 3,
    }


def test_a_chunk_handed_back_is_counted_as_such() -> None:
    before = chunk_counts()
    with chunk_span("job-2", [1, 2]) as span:
        span.written, span.handed_back = 1, 1
    after = chunk_counts()
    assert (after["handed_back"] - before["handed_back"], after["finished"]) == (
        1,
        before["finished"],
    )


def test_a_chunk_that_raises_is_counted_failed_and_the_error_goes_on() -> None:
    before = chunk_counts()
    with (
        json_lines("labelwise.chunks") as captured,
        pytest.raises(RuntimeError),
        chunk_span("job-3", [5]),
    ):
        raise RuntimeError("database gone")
    after = chunk_counts()
    assert (after["failed"] - before["failed"], after["finished"]) == (1, before["finished"])
    [ended] = captured.with_message("chunk ended")
    assert (ended["event"], ended["error"], ended["level"]) == ("failed", "RuntimeError", "WARNING")


def labeled(status: str, reason: str = "") -> float:
    labels = {"status": status, "reason": reason}
    return LABELING_REGISTRY.get_sample_value("labelwise_items_labeled_total", labels) or 0.0


def cost(model: str) -> float:
    value = LABELING_REGISTRY.get_sample_value("labelwise_llm_cost_usd_total", {"model": model})
    return value or 0.0


def test_a_write_counts_items_by_status_and_cost_and_logs_each_item() -> None:
    rows = [outcome(101, 7, ItemStatus.ACCEPTED), outcome(102, 7, ItemStatus.REVIEW)]
    before = (labeled("accepted"), labeled("review", "low_confidence"), cost("m"))
    with json_lines("labelwise.labels") as captured:
        report_written(rows)
    after = (labeled("accepted"), labeled("review", "low_confidence"), cost("m"))
    assert after[0] - before[0] == 1 and after[1] - before[1] == 1
    assert after[2] - before[2] == pytest.approx(0.002)
    [written] = captured.with_message("labels written")
    assert written["labels"] == {"101": "accepted", "102": "review:low_confidence"}
    per_item = captured.with_message("label written")
    assert [(line["item_id"], line["status"], line["reason"]) for line in per_item] == [
        (101, "accepted", None),
        (102, "review", "low_confidence"),
    ]
    assert {line["level"] for line in per_item} == {"DEBUG"}


def test_per_item_lines_are_left_out_above_debug() -> None:
    with json_lines("labelwise.labels", level=logging.INFO) as captured:
        report_written([outcome(103, 7, ItemStatus.ACCEPTED)])
    assert [line["message"] for line in captured.lines] == ["labels written"]
