"""The default transport (aiohttp) end to end, against a loopback server: respx cannot see it."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web

from labelwise.domain import Usage
from labelwise.errors import ReviewReason
from labelwise.labeling.labeler import Labeler
from labelwise.llm.client import LLMClients
from labelwise.spec import ProjectSpec
from labelwise.tasks.prompts import PromptLibrary
from tests.llm.fakes import completion, llm_settings, single_label_tokens

SPEC = ProjectSpec.model_validate(
    {"task": {"labels": ["positive", "negative"]}, "model": {"name": "test-model"}}
)


@pytest.fixture
async def loopback() -> AsyncIterator[tuple[str, list[dict[str, Any]]]]:
    seen: list[dict[str, Any]] = []
    statuses = iter([503])  # the first call fails, later ones answer

    async def chat(request: web.Request) -> web.Response:
        seen.append(await request.json())
        status = next(statuses, 200)
        if status != 200:
            return web.json_response({"error": {"message": "busy"}}, status=status)
        tokens = single_label_tokens("negative", [("negative", -0.01), ("positive", -4.6)])
        body = completion(json.dumps({"label": "negative"}), tokens=tokens)
        return web.json_response(body)

    app = web.Application()
    app.router.add_post("/v1/chat/completions", chat)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    yield f"http://127.0.0.1:{port}/v1", seen
    await runner.cleanup()


async def test_labels_over_aiohttp(loopback: tuple[str, list[dict[str, Any]]]) -> None:
    base_url, seen = loopback
    settings = llm_settings(llm_transport="aiohttp", openai_base_url=base_url, llm_concurrency=4)
    labeler = Labeler(settings, LLMClients(settings), PromptLibrary())
    try:
        outcome = await labeler.label(SPEC, item_id=1, data={"text": "Broke in a day"})
    finally:
        await labeler.aclose()
    assert outcome.error_reason is None, outcome.error_message
    assert outcome.value == "negative" and outcome.confidence.score is not None
    assert outcome.confidence.score > 0.95
    assert outcome.attempts == 2 and len(seen) == 2
    assert outcome.usage == Usage(120, 0, 7)


async def test_unreachable_server_is_an_llm_error(unused_tcp_port: int) -> None:
    settings = llm_settings(
        llm_transport="aiohttp", openai_base_url=f"http://127.0.0.1:{unused_tcp_port}/v1"
    )
    labeler = Labeler(settings, LLMClients(settings), PromptLibrary())
    try:
        outcome = await labeler.label(SPEC, item_id=1, data={"text": "x"})
    finally:
        await labeler.aclose()
    assert outcome.error_reason is ReviewReason.LLM_ERROR
    assert outcome.attempts == settings.llm_max_attempts
