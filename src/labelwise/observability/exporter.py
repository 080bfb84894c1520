"""A worker's own metrics endpoint: `http://<worker_metrics_address>:<port>/metrics`.

A worker has no web server of its own; prometheus_client's serves the worker registry from a
daemon thread. Several workers on one machine each need a port: `labelwise up` gives the n-th
(from 0) `worker_metrics_port + n` through `worker_metrics_env`. A port already taken costs the
worker its metrics, with a warning, never its labeling.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from wsgiref.simple_server import WSGIServer

from prometheus_client import start_http_server

from labelwise.observability.metrics import WORKER_REGISTRY
from labelwise.settings import Settings

log = logging.getLogger(__name__)

_HIGHEST_PORT = 65535


@dataclass
class MetricsServer:
    server: WSGIServer
    thread: threading.Thread

    @property
    def port(self) -> int:
        return int(self.server.server_port)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


def serve_worker_metrics(settings: Settings) -> MetricsServer | None:
    """Start serving the worker registry; None when switched off or the port is taken."""
    port, address = settings.worker_metrics_port, settings.worker_metrics_address
    if port == 0:
        return None
    try:
        server, thread = start_http_server(port, addr=address, registry=WORKER_REGISTRY)
    except OSError as exc:
        log.warning("worker metrics not served: %s port %d: %s", address, port, exc)
        return None
    log.info("worker metrics at http://%s:%d/metrics", address, port)
    return MetricsServer(server, thread)


def worker_metrics_env(settings: Settings, index: int) -> dict[str, str]:
    """The environment that gives the `index`-th worker (from 0) of one machine its own port."""
    base = settings.worker_metrics_port
    if base == 0:
        return {}
    port = base + index
    return {"LABELWISE_WORKER_METRICS_PORT": str(port if port <= _HIGHEST_PORT else 0)}
