"""Log lines as the operator asked for them: plain text, or one JSON object a line.

Every line carries the ids bound in `labelwise.observability.context` where it was written
(request, batch, job, items), and whatever the caller passed as `extra=`, so one item can be
followed from the request that posted it to the write of its label by searching for its id.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any, Literal, TextIO

from labelwise.observability.context import ID_NAMES, current_ids

LogFormat = Literal["text", "json"]

# Set on a record once the bound ids are on it (by the handler's filter, or the formatter).
_STAMPED = "labelwise_ids_stamped"
# What every LogRecord has of its own: anything else on a record came from `extra=`.
_RECORD_ATTRIBUTES = frozenset(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {
    "message",
    "asctime",
    "taskName",
    _STAMPED,
}


def stamp(record: logging.LogRecord) -> None:
    """Put the ids bound here on the record, once; a caller's own `extra=` of the same name
    wins. Done when the record is emitted, in the context that wrote it."""
    if record.__dict__.get(_STAMPED):
        return
    for name, value in current_ids().items():
        record.__dict__.setdefault(name, value)
    record.__dict__[_STAMPED] = True


def record_fields(record: logging.LogRecord) -> dict[str, Any]:
    """The ids (first, in a fixed order) and the caller's extras on the record, by name."""
    stamp(record)
    attributes = record.__dict__
    fields = {name: attributes[name] for name in ID_NAMES if name in attributes}
    fields.update(
        (name, value)
        for name, value in attributes.items()
        if name not in _RECORD_ATTRIBUTES and name not in fields
    )
    return fields


class ContextFilter(logging.Filter):
    """Stamps each record with the bound ids as it is emitted, so a handler that formats it
    later, or in another thread, still has the ids of where it was written."""

    def filter(self, record: logging.LogRecord) -> bool:
        stamp(record)
        return True


class JsonFormatter(logging.Formatter):
    """`{"time", "level", "logger", "message", ...ids and extras, "exception"?}` on one line.

    Newlines in a message or a traceback stay inside the JSON string, so item text that reaches
    a message cannot forge a line of its own; values JSON does not know are written as `str`.
    """

    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, Any] = {
            "time": _timestamp(record.created),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name, value in record_fields(record).items():
            payload.setdefault(name, value)
        if record.exc_info:
            payload["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            payload["stack"] = self.formatStack(record.stack_info)
        return json.dumps(payload, default=str, ensure_ascii=False, separators=(",", ":"))


class TextFormatter(logging.Formatter):
    """The classic line, with the ids and extras appended as `name=value`."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        fields = record_fields(record)
        if not fields:
            return line
        head, newline, rest = line.partition("\n")  # a traceback stays below the fields
        suffix = " ".join(f"{name}={_compact(value)}" for name, value in fields.items())
        return f"{head} {suffix}{newline}{rest}"


def configure_logging(level: str, fmt: LogFormat, stream: TextIO | None = None) -> None:
    """One handler on the root logger, so libraries that log through the root (RQ does, when
    the root has a handler) come out in the same format. Like `logging.basicConfig`, it leaves
    a root logger that something else configured first (a test runner, an embedding program)
    as it is."""
    handler = logging.StreamHandler(stream if stream is not None else sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    handler.addFilter(ContextFilter())
    logging.basicConfig(level=level.upper(), handlers=[handler])


def _timestamp(created: float) -> str:
    moment = datetime.fromtimestamp(created, UTC).isoformat(timespec="milliseconds")
    return moment.replace("+00:00", "Z")


def _compact(value: Any) -> str:
    """A plain word as it is; anything else (spaces, newlines, lists) as JSON, so one field
    cannot pass for several, nor a line for two."""
    if isinstance(value, str) and value.isprintable() and " " not in value:
        return value
    return json.dumps(value, default=str, ensure_ascii=False, separators=(",", ":"))
