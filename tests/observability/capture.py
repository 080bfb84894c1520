"""Log lines as a JSON-lines handler would write them, captured in a test."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from labelwise.observability.logs import ContextFilter, JsonFormatter


class JsonLines(logging.Handler):
    """Formats each record when it is emitted, in the context that wrote it, as a deployment's
    handler does."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(JsonFormatter())
        self.addFilter(ContextFilter())
        self.lines: list[dict[str, Any]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(json.loads(self.format(record)))

    def with_message(self, message: str) -> list[dict[str, Any]]:
        return [line for line in self.lines if line["message"] == message]


@contextmanager
def json_lines(*loggers: str, level: int = logging.DEBUG) -> Iterator[JsonLines]:
    """Capture what `loggers` write at `level` and above, as JSON objects."""
    handler = JsonLines()
    saved = []
    for name in loggers:
        logger = logging.getLogger(name)
        saved.append((logger, logger.level))
        logger.setLevel(level)
        logger.addHandler(handler)
    try:
        yield handler
    finally:
        for logger, previous in saved:
            logger.removeHandler(handler)
            logger.setLevel(previous)
