"""Every HTTP request gets an id: the client's `X-Request-ID` when it sent a sane one, else a new
one. It is bound for the request's log lines and echoed in the response's `X-Request-ID`, so a
client's report of one failed call finds its lines in the server's logs.

Plain ASGI (no framework), so it can sit outermost and tag even the answers the API's own limits
give before any route runs.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

from labelwise.observability.context import bound

HEADER = b"x-request-id"
# What a proxy or client id looks like (a UUID, a trace id, `req_abc-1`); anything else, longer,
# or with spaces or quotes, is replaced rather than written into log lines.
_SANE = re.compile(r"[A-Za-z0-9._:@/+=-]{1,128}")


def request_id_of(headers: list[tuple[bytes, bytes]]) -> str:
    """The client's id if it is a sane one, else a new one."""
    for name, value in headers:
        if name.lower() == HEADER:
            given = value.decode("latin-1")
            if _SANE.fullmatch(given):
                return given
            break
    return uuid.uuid4().hex


class RequestIdMiddleware:
    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = request_id_of(scope.get("headers", []))

        async def send_with_id(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                headers = [
                    (name, value)
                    for name, value in message.get("headers", [])
                    if name.lower() != HEADER
                ]
                headers.append((HEADER, request_id.encode("latin-1")))
                message = {**message, "headers": headers}
            await send(message)

        with bound(request_id=request_id):
            await self.app(scope, receive, send_with_id)
