"""The bare ASGI plumbing the fake needs: reading a request body and sending a JSON response.

This module owns the ASGI type aliases, the JSON response framing and the OpenAI error body shape.
It knows no routes and no chat semantics. No framework: the fake shares a small box with the
system under benchmark, so each request should cost as little CPU as possible.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping, Sequence
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
Headers = Sequence[tuple[bytes, bytes]]

_JSON = b"application/json"


def error_body(
    message: str, kind: str, code: str | None, param: str | None = None
) -> dict[str, Any]:
    """An error in the shape the OpenAI API (and so its SDK) uses."""
    return {"error": {"message": message, "type": kind, "param": param, "code": code}}


async def read_body(receive: Receive) -> bytes | None:
    """The whole request body, or None if the client disconnected first."""
    chunks = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


async def respond(send: Send, status: int, payload: dict[str, Any], headers: Headers = ()) -> None:
    body = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()
    await respond_bytes(send, status, body, _JSON, headers)


async def respond_bytes(
    send: Send, status: int, body: bytes, content_type: bytes, headers: Headers = ()
) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", content_type),
                (b"content-length", str(len(body)).encode()),
                *headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
