"""A worker's metrics endpoint: served on its own port, with the worker's series and not the API's;
off at port 0; a taken port costs the metrics, not the worker."""

from __future__ import annotations

import logging
import socket
from collections.abc import Iterator

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from labelwise.local.supervisor import free_port
from labelwise.observability.exporter import serve_worker_metrics, worker_metrics_env
from labelwise.observability.metrics import WORKER_REGISTRY
from labelwise.observability.worker_metrics import CHUNKS
from labelwise.settings import Settings


def worker_settings(**values: object) -> Settings:
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


@pytest.fixture
def port() -> int:
    return free_port()


def test_the_worker_serves_its_metrics_on_its_port(port: int) -> None:
    server = serve_worker_metrics(
        worker_settings(worker_metrics_port=port, worker_metrics_address="127.0.0.1")
    )
    assert server is not None and server.port == port
    try:
        before = WORKER_REGISTRY.get_sample_value("labelwise_chunks_total", {"event": "started"})
        CHUNKS.labels("started").inc()
        response = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5)
    finally:
        server.close()
    assert response.status_code == 200
    families = {f.name: f for f in text_string_to_metric_families(response.text)}
    for name in (
        "labelwise_llm_calls",
        "labelwise_llm_call_seconds",
        "labelwise_llm_tokens",
        "labelwise_llm_cost_usd",
        "labelwise_llm_cooldowns",
        "labelwise_llm_rate_limit_wait_seconds",
        "labelwise_items_labeled",
        "labelwise_chunks",
        "labelwise_chunk_seconds",
        "labelwise_lease_renewals",
        "labelwise_reconciler_passes",
        "labelwise_reconciler_expired_leases",
        "labelwise_reconciler_redelivered_items",
        "labelwise_reconciler_extended_items",
        "labelwise_reconciler_exhausted_items",
    ):
        assert name in families, name
    started = [
        s.value
        for s in families["labelwise_chunks"].samples
        if s.name == "labelwise_chunks_total" and s.labels == {"event": "started"}
    ]
    assert started == [(before or 0) + 1]
    # The API's own series are the API's: a worker never serves them.
    assert "labelwise_http_requests" not in families
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=2)


def test_port_zero_serves_nothing() -> None:
    assert serve_worker_metrics(worker_settings(worker_metrics_port=0)) is None


@pytest.fixture
def taken_port() -> Iterator[int]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


def test_a_taken_port_costs_the_metrics_not_the_worker(
    taken_port: int, caplog: pytest.LogCaptureFixture
) -> None:
    settings = worker_settings(worker_metrics_port=taken_port, worker_metrics_address="127.0.0.1")
    with caplog.at_level(logging.WARNING, logger="labelwise.observability.exporter"):
        assert serve_worker_metrics(settings) is None
    assert f"port {taken_port}" in caplog.text


@pytest.mark.parametrize(
    ("base", "index", "expected"),
    [
        (9108, 0, {"LABELWISE_WORKER_METRICS_PORT": "9108"}),
        (9108, 3, {"LABELWISE_WORKER_METRICS_PORT": "9111"}),
        (0, 2, {}),
        (65535, 1, {"LABELWISE_WORKER_METRICS_PORT": "0"}),
    ],
)
def test_workers_on_one_machine_get_a_port_each(
    base: int, index: int, expected: dict[str, str]
) -> None:
    assert worker_metrics_env(worker_settings(worker_metrics_port=base), index) == expected
