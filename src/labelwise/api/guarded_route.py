"""The route class of every API router: hostile input is refused before FastAPI parses it, and
a sync handler gives its database sessions back in its own thread as it returns.

FastAPI reads a JSON body with `await request.json()` (Starlette's, which calls `json.loads` on
the whole body) before any dependency or validation runs, so the only place to stop a body nested
ten thousand levels deep is the request object it is handed. `GuardedRoute` hands it a
`CheckedRequest`, whose `json()` is `safe_json.loads`, and parses the body up front whenever
FastAPI would (a non-empty body of a JSON type, on a route that takes one): a refusal then answers
as the `RequestError` it is, where inside FastAPI's body reading any error but an `HTTPException`
becomes a bare 400. Query and path parameters are checked for NUL characters and lone surrogates
on the way in as well.

FastAPI ends even "function"-scoped dependencies only after it has serialized the handler's
answer, which for a sync handler is one more trip through the worker threads; under load a
handler's connection would wait, checked out and idle, for a free thread, while every thread
waits for a connection. `closing_sessions` closes them when the handler returns instead.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import params
from fastapi.routing import APIRoute
from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import Response

from labelwise.api import safe_json

Handler = Callable[[Request], Coroutine[Any, Any, Response]]


def max_json_depth(request: Request) -> int:
    return int(request.app.state.labelwise.settings.max_json_depth)


class CheckedRequest(Request):
    """A request whose JSON body is decoded by `safe_json`: bounded depth, no NUL, no lone
    surrogate, no NaN or Infinity."""

    async def json(self) -> Any:
        if not hasattr(self, "_checked_json"):
            body = await self.body()
            self._checked_json = safe_json.loads(body, max_depth=max_json_depth(self))
        return self._checked_json


def parses_as_json(content_type: str | None) -> bool:
    """Whether FastAPI reads a body of this type as JSON (`application/json`, `…+json`); it
    reads none without a content type."""
    if not content_type:
        return False
    media = content_type.split(";")[0].strip().lower()
    return media == "application/json" or (
        media.startswith("application/") and media.endswith("+json")
    )


def check_parameters(request: Request) -> None:
    """Query and path parameters: no NUL, no lone surrogate, named by the parameter."""
    for name, value in request.query_params.multi_items():
        safe_json.check_text({name: value})
    for name, value in request.path_params.items():
        if isinstance(value, str):
            safe_json.check_text({name: value})


def closing_sessions(endpoint: Callable[..., Any]) -> Callable[..., Any]:
    """A sync endpoint that closes the sessions it was given when it returns (FastAPI reads the
    wrapped function's signature through `__wrapped__`)."""
    if inspect.iscoroutinefunction(endpoint):
        return endpoint

    @functools.wraps(endpoint)
    def run(*args: Any, **kwargs: Any) -> Any:
        try:
            return endpoint(*args, **kwargs)
        finally:
            for value in kwargs.values():
                if isinstance(value, Session):
                    value.close()

    return run


class GuardedRoute(APIRoute):
    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        super().__init__(path, closing_sessions(endpoint), **kwargs)

    def get_route_handler(self) -> Handler:
        handler = super().get_route_handler()
        takes_json = self.body_field is not None and not isinstance(
            self.body_field.field_info, params.Form
        )

        async def guarded(request: Request) -> Response:
            check_parameters(request)
            checked = CheckedRequest(request.scope, request.receive)
            content_type = request.headers.get("content-type")
            if takes_json and parses_as_json(content_type) and await checked.body():
                await checked.json()
            return await handler(checked)

        return guarded
