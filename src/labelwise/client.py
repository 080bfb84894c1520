"""A small HTTP client for the labelwise API, used by `labelwise label` and the benchmarks."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any

import httpx


class APIError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code


class LabelwiseClient:
    def __init__(self, base_url: str, key: str, *, timeout: float = 60.0) -> None:
        self.http = httpx.Client(
            base_url=base_url.rstrip("/"),
            headers={"authorization": f"Bearer {key}"},
            timeout=timeout,
        )

    def close(self) -> None:
        self.http.close()

    def _check(self, response: httpx.Response) -> Any:
        if response.status_code >= 400:
            try:
                error = response.json()["error"]
                raise APIError(response.status_code, error["code"], error["message"])
            except (ValueError, KeyError, TypeError):
                raise APIError(response.status_code, "http_error", response.text[:500]) from None
        return response.json() if response.content else None

    def create_project(self, definition: dict[str, Any]) -> dict[str, Any]:
        return self._check(self.http.post("/v1/projects", json=definition))

    def get_project(self, project_id: int) -> dict[str, Any]:
        return self._check(self.http.get(f"/v1/projects/{project_id}"))

    def post_batch(self, project_id: int, items: Iterable[dict[str, Any]]) -> dict[str, Any]:
        """Items go as NDJSON, streamed as they are produced: neither side holds the batch."""
        return self._check(
            self.http.post(
                f"/v1/projects/{project_id}/batches",
                content=_ndjson(items),
                headers={"content-type": "application/x-ndjson"},
            )
        )

    def get_batch(self, batch_id: int) -> dict[str, Any]:
        return self._check(self.http.get(f"/v1/batches/{batch_id}"))

    def relabel(self, batch_id: int) -> dict[str, Any]:
        return self._check(self.http.post(f"/v1/batches/{batch_id}/relabel"))

    def calibration(self, project_id: int) -> dict[str, Any]:
        return self._check(self.http.get(f"/v1/projects/{project_id}/calibration"))

    def quality(self, project_id: int, version: int | None = None) -> dict[str, Any]:
        params = {"version": version} if version is not None else {}
        return self._check(self.http.get(f"/v1/projects/{project_id}/quality", params=params))

    def export(self, batch_id: int, fmt: str = "jsonl") -> Iterator[bytes]:
        with self.http.stream("GET", f"/v1/batches/{batch_id}/export", params={"format": fmt}) as r:
            if r.status_code >= 400:
                r.read()
                self._check(r)
            yield from r.iter_bytes()


def _ndjson(items: Iterable[dict[str, Any]], per_write: int = 1000) -> Iterator[bytes]:
    lines: list[str] = []
    for item in items:
        lines.append(json.dumps(item, ensure_ascii=False))
        if len(lines) >= per_write:
            yield ("\n".join(lines) + "\n").encode()
            lines = []
    if lines:
        yield ("\n".join(lines) + "\n").encode()
