"""The ids a log line carries without being passed along: request, batch, job and item.

They live in context variables, so they follow a request or a chunk through `await`s and into
the threads that `asyncio.to_thread` and Starlette's thread pool start (both copy the context),
and two chunks or requests running at once never see each other's ids.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar, Token
from typing import Any

REQUEST_ID: ContextVar[str | None] = ContextVar("labelwise_request_id", default=None)
BATCH_ID: ContextVar[int | None] = ContextVar("labelwise_batch_id", default=None)
JOB_ID: ContextVar[str | None] = ContextVar("labelwise_job_id", default=None)
ITEM_ID: ContextVar[int | None] = ContextVar("labelwise_item_id", default=None)
ITEM_IDS: ContextVar[tuple[int, ...] | None] = ContextVar("labelwise_item_ids", default=None)

_VARIABLES: dict[str, ContextVar[Any]] = {
    "request_id": REQUEST_ID,
    "batch_id": BATCH_ID,
    "job_id": JOB_ID,
    "item_id": ITEM_ID,
    "item_ids": ITEM_IDS,
}

# The names the ids go by in log lines, in the order they are written.
ID_NAMES = tuple(_VARIABLES)


@contextmanager
def bound(
    *,
    request_id: str | None = None,
    batch_id: int | None = None,
    job_id: str | None = None,
    item_id: int | None = None,
    item_ids: Sequence[int] | None = None,
) -> Iterator[None]:
    """Within the block, log lines carry the ids given (those left None keep their outer value);
    on leaving it the outer values come back."""
    given: dict[str, Any] = {
        "request_id": request_id,
        "batch_id": batch_id,
        "job_id": job_id,
        "item_id": item_id,
        "item_ids": tuple(item_ids) if item_ids is not None else None,
    }
    tokens: list[tuple[ContextVar[Any], Token[Any]]] = [
        (_VARIABLES[name], _VARIABLES[name].set(value))
        for name, value in given.items()
        if value is not None
    ]
    try:
        yield
    finally:
        for variable, token in reversed(tokens):
            variable.reset(token)


def current_ids() -> dict[str, Any]:
    """The ids bound here, by name; unbound ones are left out."""
    found: dict[str, Any] = {}
    for name, variable in _VARIABLES.items():
        value = variable.get()
        if value is not None:
            found[name] = list(value) if isinstance(value, tuple) else value
    return found
