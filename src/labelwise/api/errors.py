"""Every error leaves the API as `{"error": {"code", "message"}}` with a fitting status."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from starlette.exceptions import HTTPException as StarletteHTTPException

from labelwise.errors import RequestError, ValidationFailedError

log = logging.getLogger(__name__)


# How long an overloaded client is asked to wait before trying again.
RETRY_AFTER_SECONDS = 1


def error_response(
    status: int, code: str, message: str, headers: dict[str, str] | None = None
) -> JSONResponse:
    return JSONResponse(
        {"error": {"code": code, "message": message}}, status_code=status, headers=headers
    )


def overloaded(message: str) -> JSONResponse:
    return error_response(
        503, "overloaded", message, headers={"Retry-After": str(RETRY_AFTER_SECONDS)}
    )


def describe_validation_errors(errors: Sequence[Any], prefix: Sequence[str | int] = ()) -> str:
    """`items.3.data: Field required; name: ...` — the field first, so a client sees what to fix."""
    parts = []
    for error in errors[:5]:
        location = [str(p) for p in (*prefix, *error.get("loc", ())) if p not in ("body",)]
        # A check across fields names the one at fault (see `labelwise.task_spec.problem`).
        if error.get("type") == "task_field":
            location.append(str(error["ctx"]["field"]))
        field = ".".join(location) or "body"
        parts.append(f"{field}: {error.get('msg', 'invalid')}")
    if len(errors) > 5:
        parts.append(f"and {len(errors) - 5} more")
    return "; ".join(parts)


def validation_failed(
    exc: ValidationError, prefix: Sequence[str | int] = ()
) -> ValidationFailedError:
    return ValidationFailedError(describe_validation_errors(exc.errors(), prefix))


# SQLite's words for a database another writer holds; its other operational errors ("no such
# table") are bugs, not load.
_SQLITE_BUSY = ("database is locked", "database table is locked", "database is busy")


def is_transient(exc: OperationalError) -> bool:
    """An error that trying again later can cure: PostgreSQL's operational errors (the server
    restarting or refusing clients, a deadlock or serialization failure chosen as victim), a
    dropped connection, or SQLite's busy database."""
    if exc.connection_invalidated:
        return True
    if type(exc.orig).__module__.startswith("psycopg"):
        return True
    return any(words in str(exc.orig) for words in _SQLITE_BUSY)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(RequestError)
    async def _request_error(_request: Request, exc: RequestError) -> JSONResponse:
        retry_after = getattr(exc, "retry_after", None)
        headers = {"Retry-After": str(retry_after)} if retry_after is not None else None
        return error_response(exc.status, exc.code, exc.message, headers)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(_request: Request, exc: RequestValidationError) -> JSONResponse:
        return error_response(422, "validation_error", describe_validation_errors(exc.errors()))

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed", 413: "payload_too_large"}.get(
            exc.status_code, "http_error"
        )
        return error_response(exc.status_code, code, str(exc.detail))

    @app.exception_handler(PoolTimeoutError)
    async def _pool_exhausted(_request: Request, _exc: PoolTimeoutError) -> JSONResponse:
        # Every pooled connection stayed busy for db_pool_timeout_seconds: say so at once.
        log.warning("database pool exhausted; answering 503")
        return overloaded("the service is busy: try again shortly")

    @app.exception_handler(OperationalError)
    async def _store_unavailable(request: Request, exc: OperationalError) -> JSONResponse:
        if not is_transient(exc):
            return await _unexpected(request, exc)
        # The statement is not logged: its parameters are item text and tokens.
        log.warning("database unavailable: %s", type(exc.orig).__name__)
        return overloaded("the store is unavailable: try again shortly")

    @app.exception_handler(Exception)
    async def _unexpected(_request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error", exc_info=exc)
        return error_response(500, "internal_error", "an internal error occurred; it was logged")
