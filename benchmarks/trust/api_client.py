"""The suite's HTTP clients of the API.

`Api` (synchronous) makes the calls a scenario needs to go on: `must` raises `Broken` on any
other answer. `acall` (asynchronous) makes the calls a scenario counts, in bursts: every answer,
timeout or transport error becomes an `Outcome` instead of an exception, so one bad answer does
not hide the others. Bodies travel as JSON the way any client may send them, escapes included.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

import httpx

# The projects' label set: the same names as `corpus.LABELS`, with what each means.
LABEL_SPECS = [
    {"name": "positive", "description": "the customer is happy with it"},
    {"name": "negative", "description": "the customer is unhappy with it"},
    {"name": "neutral", "description": "neither, or both"},
]


def request_body(payload: Any) -> bytes:
    # ensure_ascii: a lone surrogate or a NUL travels as a JSON escape, as any client may send it.
    return json.dumps(payload).encode()


class Broken(Exception):
    """A call the scenario needs to go on did not answer as it must."""


class Api:
    def __init__(self, base: str) -> None:
        self.http = httpx.Client(base_url=base, timeout=60)

    def call(
        self, method: str, path: str, key: str, payload: Any = None, **kwargs: Any
    ) -> httpx.Response:
        headers = {"authorization": f"Bearer {key}"}
        content = None
        if payload is not None:
            headers["content-type"] = "application/json"
            content = request_body(payload)
        return self.http.request(method, path, headers=headers, content=content, **kwargs)

    def must(
        self, method: str, path: str, key: str, payload: Any = None, expect: tuple[int, ...] = ()
    ) -> Any:
        response = self.call(method, path, key, payload)
        if response.status_code not in (expect or (200, 201, 202)):
            raise Broken(f"{method} {path} answered {response.status_code}: {response.text[:500]}")
        return response.json() if response.content else None

    def project(self, key: str, name: str, **spec: Any) -> int:
        """A sentiment project on the fake model; `spec` replaces any part of its body."""
        body: dict[str, Any] = {
            "name": name,
            "task": {
                "type": "classification",
                "labels": LABEL_SPECS,
                "guidelines": "Label the customer review by the customer's sentiment.",
            },
            "model": {"name": "fake"},
            "routing": {"accept_threshold": 0.8},
        }
        body.update(spec)
        return int(self.must("POST", "/v1/projects", key, body, expect=(201,))["id"])

    def batch(self, key: str, project_id: int, items: list[dict[str, Any]]) -> int:
        answer = self.must("POST", f"/v1/projects/{project_id}/batches", key, {"items": items})
        return int(answer["id"])

    def items(self, key: str, batch_id: int) -> list[dict[str, Any]]:
        """Every item of a batch, page by page."""
        found: list[dict[str, Any]] = []
        cursor = ""
        for _ in range(1000):
            after = f"&cursor={cursor}" if cursor else ""
            page = self.must("GET", f"/v1/batches/{batch_id}/items?limit=1000{after}", key)
            found.extend(page["items"])
            cursor = page.get("next_cursor") or ""
            if not cursor:
                break
        return found


@dataclass
class Outcome:
    kind: str
    status: int | None
    seconds: float
    error: str | None = None
    body: Any = None
    started: float = 0.0


async def acall(
    client: httpx.AsyncClient,
    kind: str,
    method: str,
    path: str,
    key: str,
    payload: Any = None,
    headers: dict[str, str] | None = None,
    content: bytes | None = None,
) -> Outcome:
    request_headers = {"authorization": f"Bearer {key}", **(headers or {})}
    if payload is not None:
        request_headers["content-type"] = "application/json"
        content = request_body(payload)
    started = time.monotonic()
    try:
        response = await client.request(method, path, headers=request_headers, content=content)
    except httpx.TimeoutException:
        return Outcome(kind, None, time.monotonic() - started, "timeout", started=started)
    except httpx.HTTPError as exc:
        return Outcome(kind, None, time.monotonic() - started, type(exc).__name__, started=started)
    try:
        body = response.json() if response.content else None
    except ValueError:
        body = response.text[:500]
    return Outcome(kind, response.status_code, time.monotonic() - started, None, body, started)


async def post_items(
    client: httpx.AsyncClient,
    kind: str,
    project_id: int,
    route: str,
    key: str,
    items: list[dict[str, Any]],
) -> Outcome:
    """POST `items` to a project's `route`: `batches` (202 with a batch) or `label` (200 with
    the labels, synchronously)."""
    path = f"/v1/projects/{project_id}/{route}"
    return await acall(client, kind, "POST", path, key, {"items": items})


def async_client(base_url: str, timeout: float, connections: int = 300) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        base_url=base_url,
        timeout=httpx.Timeout(timeout),
        limits=httpx.Limits(max_connections=connections, max_keepalive_connections=connections),
    )
