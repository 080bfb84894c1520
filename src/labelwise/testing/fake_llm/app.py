"""The fake LLM's HTTP surface: a plain ASGI app speaking enough of the OpenAI chat API.

This module owns the routes (`POST /v1/chat/completions`, `GET /v1/models`, `GET /healthz`,
`GET /stats`, `POST /stats/reset`, each also without the `/v1` prefix where OpenAI has one), the
lifespan protocol and `create_app`. What a completion says is `chat`'s business.
"""

from __future__ import annotations

from typing import Any

from labelwise.testing.fake_llm.asgi import (
    Receive,
    Scope,
    Send,
    error_body,
    read_body,
    respond,
    respond_bytes,
)
from labelwise.testing.fake_llm.batches import BatchAPI
from labelwise.testing.fake_llm.chat import ChatCompletions
from labelwise.testing.fake_llm.config import MODEL_ID, FakeLLMConfig
from labelwise.testing.fake_llm.stats import Stats

_MODEL = {"id": MODEL_ID, "object": "model", "created": 0, "owned_by": "labelwise"}


class FakeLLM:
    """The ASGI app. Counters and the prompt cache live for the life of the process."""

    def __init__(self, config: FakeLLMConfig) -> None:
        self.config = config
        self._stats = Stats()
        self._chat = ChatCompletions(config, self._stats)
        self._batches = BatchAPI(self._chat)

    @property
    def stats(self) -> dict[str, int]:
        return self._stats.counters

    @property
    def in_flight(self) -> int:
        return self._stats.in_flight

    def reset_stats(self) -> None:
        self._stats.reset()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            await self._http(scope, receive, send)
        elif scope["type"] == "lifespan":
            await _lifespan(receive, send)

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope["path"]
        method: str = scope["method"]
        payload: dict[str, Any]
        if path in ("/v1/chat/completions", "/chat/completions"):
            if method != "POST":
                await respond(send, 405, error_body("use POST", "invalid_request_error", None))
                return
            body = await read_body(receive)
            if body is None:
                return
            reply = await self._chat.reply(body)
            await respond(send, reply.status, reply.body, reply.headers)
            return
        if path.startswith(("/v1/files", "/v1/batches")):
            await self._batch_api(scope, receive, send, path, method)
            return
        if path in ("/v1/models", "/models") and method == "GET":
            status, payload = 200, {"object": "list", "data": [_MODEL]}
        elif path == "/healthz" and method == "GET":
            status, payload = 200, {"status": "ok"}
        elif path == "/stats" and method == "GET":
            status, payload = 200, self._stats.snapshot()
        elif path == "/stats/reset" and method == "POST":
            self._stats.reset()
            status, payload = 200, self._stats.snapshot()
        else:
            status, payload = 404, error_body(f"no route {method} {path}", "not_found", None)
        await respond(send, status, payload)

    async def _batch_api(
        self, scope: Scope, receive: Receive, send: Send, path: str, method: str
    ) -> None:
        api = self._batches
        parts = path.removeprefix("/v1/").split("/")
        status, payload = 404, error_body(f"no route {method} {path}", "not_found", None)
        if method == "POST" and parts in (["files"], ["batches"]):
            body = await read_body(receive)
            if body is None:
                return
            if parts == ["files"]:
                headers = dict(scope.get("headers", ()))
                content_type = headers.get(b"content-type", b"").decode("latin-1")
                status, payload = api.create_file(content_type, body)
            else:
                status, payload = api.create_batch(body)
        elif method == "GET" and len(parts) == 3 and parts[0] == "files" and parts[2] == "content":
            content = api.files.get(parts[1])
            if content is not None:
                await respond_bytes(send, 200, content, b"application/jsonl")
                return
        elif method == "GET" and len(parts) == 2 and parts[0] == "batches":
            batch = api.batches.get(parts[1])
            if batch is not None:
                status, payload = 200, batch
        await respond(send, status, payload)


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


def create_app(config: FakeLLMConfig | None = None) -> FakeLLM:
    """The fake LLM as an ASGI app (serve it with uvicorn)."""
    return FakeLLM(config or FakeLLMConfig())
