"""Prometheus metrics: requests and latency by route; queue and store gauges at scrape time.

The middleware also writes the access log line of each request (at DEBUG for probes and scrapes,
which come every few seconds and say nothing), carrying the request id bound outside it.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from typing import Any, Generic, TypeVar

from prometheus_client import CollectorRegistry, Counter, Histogram

T = TypeVar("T")
log = logging.getLogger("labelwise.api.access")
_QUIET_ROUTES = frozenset({"/healthz", "/readyz", "/metrics"})
REGISTRY = CollectorRegistry()
REQUESTS = Counter(
    "labelwise_http_requests_total",
    "HTTP requests by route template and status",
    ["method", "route", "status"],
    registry=REGISTRY,
)
LATENCY = Histogram(
    "labelwise_http_request_seconds",
    "HTTP request latency by route template",
    ["method", "route"],
    registry=REGISTRY,
)


class MetricsMiddleware:
    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def capture(message: Any) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, capture)
        finally:
            route = scope.get("route")
            # The template, not the raw path: ids would make the label set unbounded.
            name = getattr(route, "path", "unmatched")
            seconds = time.perf_counter() - started
            REQUESTS.labels(scope["method"], name, str(status)).inc()
            LATENCY.labels(scope["method"], name).observe(seconds)
            _access_log(scope["method"], name, status, seconds)


def _access_log(method: str, route: str, status: int, seconds: float) -> None:
    level = logging.DEBUG if route in _QUIET_ROUTES else logging.INFO
    if log.isEnabledFor(level):
        fields = {"method": method, "route": route, "status": status}
        duration = {"duration_ms": round(seconds * 1000, 1)}
        log.log(level, "%s %s %s", method, route, status, extra=fields | duration)


class CachedValue(Generic[T]):
    """A value computed at most once per `ttl_seconds`: what scrapes read from the store."""

    def __init__(self, ttl_seconds: float) -> None:
        self.ttl_seconds = ttl_seconds
        self._value: T | None = None
        self._at = -math.inf

    def get(self, compute: Callable[[], T]) -> T:
        if self._value is None or time.monotonic() - self._at >= self.ttl_seconds:
            self._value, self._at = compute(), time.monotonic()
        return self._value
