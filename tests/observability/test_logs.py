"""The log formats: what a JSON line holds, which ids it carries and where they come from."""

from __future__ import annotations

import io
import json
import logging
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from labelwise.observability.context import bound, current_ids
from labelwise.observability.logs import (
    ContextFilter,
    JsonFormatter,
    TextFormatter,
    configure_logging,
)


def record(
    message: str = "hello %s",
    args: tuple[Any, ...] = ("world",),
    *,
    level: int = logging.INFO,
    extra: dict[str, Any] | None = None,
    exc_info: Any = None,
) -> logging.LogRecord:
    made = logging.getLogger("labelwise.test").makeRecord(
        "labelwise.test", level, __file__, 1, message, args, exc_info, extra=extra
    )
    made.created = 1_735_689_600.25  # 2025-01-01T00:00:00.250Z
    return made


def as_json(made: logging.LogRecord) -> dict[str, Any]:
    line = JsonFormatter().format(made)
    assert "\n" not in line
    return json.loads(line)


BASE = {
    "time": "2025-01-01T00:00:00.250Z",
    "level": "INFO",
    "logger": "labelwise.test",
    "message": "hello world",
}


@pytest.mark.parametrize(
    ("made", "bound_ids", "expected"),
    [
        pytest.param(record(), {}, BASE, id="plain"),
        pytest.param(
            record(level=logging.WARNING),
            {},
            BASE | {"level": "WARNING"},
            id="level",
        ),
        pytest.param(
            record(extra={"items": 3, "item_ids": [1, 2, 3]}),
            {},
            BASE | {"items": 3, "item_ids": [1, 2, 3]},
            id="extras",
        ),
        pytest.param(
            record(),
            {"request_id": "req-1", "batch_id": 7, "job_id": "j1", "item_ids": (4, 5)},
            BASE | {"request_id": "req-1", "batch_id": 7, "job_id": "j1", "item_ids": [4, 5]},
            id="bound ids",
        ),
        pytest.param(
            record(extra={"job_id": "given"}),
            {"job_id": "bound", "item_id": 9},
            BASE | {"job_id": "given", "item_id": 9},
            id="an extra wins over a bound id",
        ),
        pytest.param(
            record("line one\nline two", ()),
            {},
            BASE | {"message": "line one\nline two"},
            id="a newline stays inside the string",
        ),
        pytest.param(
            record(extra={"when": threading}),
            {},
            BASE | {"when": str(threading)},
            id="a value JSON does not know is a string",
        ),
        pytest.param(
            record(extra={"level": "forged", "time": "forged"}),
            {},
            BASE,
            id="extras cannot replace the standard fields",
        ),
    ],
)
def test_json_lines(
    made: logging.LogRecord, bound_ids: dict[str, Any], expected: dict[str, Any]
) -> None:
    with bound(**bound_ids):
        assert as_json(made) == expected


def test_an_exception_goes_in_one_field() -> None:
    try:
        raise ValueError("boom")
    except ValueError:
        made = record("failed", (), level=logging.ERROR, exc_info=sys.exc_info())
    fields = as_json(made)
    assert fields["message"] == "failed"
    assert fields["exception"].startswith("Traceback") and "ValueError: boom" in fields["exception"]


def test_ids_are_unbound_when_the_block_ends() -> None:
    with bound(job_id="outer"):
        with bound(job_id="inner", item_id=1):
            assert current_ids() == {"job_id": "inner", "item_id": 1}
        assert current_ids() == {"job_id": "outer"}
    assert current_ids() == {}
    assert set(as_json(record())) == set(BASE)


def test_the_filter_keeps_the_ids_of_where_the_line_was_written() -> None:
    """A record formatted later, outside the block (a queued handler, pytest's capture), still
    carries the ids bound when it was emitted."""
    made = record()
    with bound(job_id="j-42"):
        ContextFilter().filter(made)
    with bound(job_id="another"):
        assert as_json(made)["job_id"] == "j-42"


@pytest.mark.parametrize(
    ("extra", "bound_ids", "suffix"),
    [
        ({}, {}, ""),
        ({"items": 2}, {"job_id": "j1"}, " job_id=j1 items=2"),
        ({"item_ids": [1, 2]}, {}, " item_ids=[1,2]"),
        ({"note": "two words"}, {}, ' note="two words"'),
        ({"note": "a\nb"}, {}, ' note="a\\nb"'),
    ],
)
def test_text_lines_append_the_ids(
    extra: dict[str, Any], bound_ids: dict[str, Any], suffix: str
) -> None:
    with bound(**bound_ids):
        line = TextFormatter().format(record(extra=extra))
    assert line.endswith(f" INFO labelwise.test hello world{suffix}")


@contextmanager
def unconfigured_root_logging() -> Iterator[None]:
    """The root logger as a fresh `labelwise` process has it: no handler (pytest's, added
    around each test, put back after)."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    root.handlers.clear()
    try:
        yield
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)


def test_configure_logging_writes_json_lines_at_the_level_asked() -> None:
    stream = io.StringIO()
    with unconfigured_root_logging():
        configure_logging("info", "json", stream=stream)
        log = logging.getLogger("labelwise.some.module")
        log.debug("not shown")
        with bound(batch_id=3):
            log.info("posted %d items", 2, extra={"items": 2})
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert [(line["message"], line["batch_id"], line["items"]) for line in lines] == [
        ("posted 2 items", 3, 2)
    ]
    assert lines[0]["logger"] == "labelwise.some.module" and lines[0]["level"] == "INFO"


def test_a_root_logger_configured_before_is_left_alone() -> None:
    first, second = io.StringIO(), io.StringIO()
    with unconfigured_root_logging():
        configure_logging("info", "text", stream=first)
        configure_logging("debug", "json", stream=second)
        logging.getLogger("labelwise.some.module").info("once")
    assert "INFO labelwise.some.module once" in first.getvalue() and second.getvalue() == ""
