"""An LLM faked at the HTTP edge that answers like a real provider, item by item.

The item text decides the answer: `good` -> confident positive, `bad` -> confident negative,
`unsure` -> positive at 60%, `broken` -> HTTP 500 every time, `garbled` -> an answer outside the
schema every time.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import respx

from tests.llm.fakes import BASE_URL, completion, error, single_label_tokens


def _answer(label: str, p: float, other: str) -> httpx.Response:
    tokens = single_label_tokens(label, [(label, math.log(p)), (other, math.log(1 - p))])
    return httpx.Response(
        200, json=completion(json.dumps({"label": label}, separators=(",", ":")), tokens=tokens)
    )


def fake_llm_answer(request: httpx.Request) -> httpx.Response:
    body = json.loads(request.content)
    # The item is the first user message; a re-ask appends more after it.
    item = next(m["content"] for m in body["messages"] if m["role"] == "user")
    if "broken" in item:
        return error(500, "upstream exploded")
    if "garbled" in item:
        return httpx.Response(200, json=completion('{"label": "maybe"}'))
    if "bad" in item:
        return _answer("negative", 0.97, "positive")
    if "unsure" in item:
        return _answer("positive", 0.6, "negative")
    return _answer("positive", 0.95, "negative")


@pytest.fixture
def llm_api() -> Iterator[respx.MockRouter]:
    with respx.mock(base_url=BASE_URL, assert_all_called=False) as router:
        router.post("/chat/completions").mock(side_effect=fake_llm_answer)
        yield router


def statuses(items: list[dict[str, Any]]) -> dict[str, tuple[str, str | None]]:
    return {i["external_id"]: (i["status"], i["reason"]) for i in items}
