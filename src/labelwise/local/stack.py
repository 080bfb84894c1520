"""Running labelwise on one machine: the API, the workers, and an LLM to talk to.

`labelwise up` and `labelwise label` start these as one group of child processes. The LLM is the
configured endpoint; with none, the embedded model (or, when asked, the fake LLM server).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager

from labelwise.local.model import LocalModel, LocalModelUnavailable, find_local_model
from labelwise.local.supervisor import ProcessGroup, free_port, wait_until_ready
from labelwise.observability.exporter import worker_metrics_env
from labelwise.settings import Settings

DEFAULT_FAKE_LLM_LATENCY_MS = 50


def has_endpoint(settings: Settings) -> bool:
    return bool(settings.openai_base_url or settings.openai_api_key)


def require_llm_endpoint(settings: Settings, *, fake_llm: bool) -> LocalModel | None:
    """The embedded model to start, when no endpoint is configured; exits if there is none."""
    if fake_llm or has_endpoint(settings):
        return None
    try:
        return find_local_model(settings.llama_server)
    except LocalModelUnavailable as exc:
        raise SystemExit(
            "no LLM endpoint configured and no embedded model: set OPENAI_BASE_URL (and "
            f"OPENAI_API_KEY), or {exc}; or pass --fake-llm to try labelwise with the built-in "
            "fake model"
        ) from None


@contextmanager
def local_stack(
    settings: Settings,
    *,
    host: str,
    port: int,
    workers: int,
    fake_llm: bool,
    local_model: LocalModel | None,
) -> Iterator[str]:
    """The API and workers as child processes, with the fake LLM or the embedded model when
    asked; yields the API URL."""
    env: dict[str, str] = {}
    group = ProcessGroup()
    try:
        if fake_llm:
            base_url = start_fake_llm(group, latency_ms=DEFAULT_FAKE_LLM_LATENCY_MS)
            env |= {"OPENAI_BASE_URL": base_url, "OPENAI_API_KEY": "fake"}
        elif local_model is not None:
            env |= start_local_model(group, local_model, settings)
        group.add("api", ["api", "--host", host, "--port", str(port)], env)
        # The workers start beside the API rather than after it: their start-up (imports, Redis)
        # then overlaps the API's, and the first batch finds them listening. They touch the
        # database only once a job arrives, after the API has migrated it.
        for n in range(workers):
            # No fixed --name: a worker killed with SIGKILL leaves its name registered in Redis
            # for minutes, and its restart must not collide with it.
            group.add(f"worker-{n + 1}", ["worker"], env | worker_metrics_env(settings, n))
        url = f"http://{host}:{port}"
        wait_until_ready(f"{url}/readyz", group=group)
        group.watch_in_background()
        yield url
    finally:
        # The children's own grace period, and a little more to write and hand back.
        group.stop(timeout=settings.stop_grace_seconds + 5)


def start_fake_llm(
    group: ProcessGroup, *, latency_ms: float, extra_args: list[str] | None = None
) -> str:
    """Start the built-in fake LLM server in `group`; returns its base URL once it answers."""
    port = free_port()
    group.add(
        "fake-llm",
        ["fake-llm", "--port", str(port), "--latency-ms", str(latency_ms), *(extra_args or [])],
    )
    wait_until_ready(f"http://127.0.0.1:{port}/healthz", group=group)
    return f"http://127.0.0.1:{port}/v1"


def start_local_server(
    group: ProcessGroup, model: LocalModel, *, threads: int, parallel: int, context: int
) -> str:
    """Start the embedded model's server in `group`; returns its base URL once it answers."""
    port = free_port()
    argv = model.server_argv(port=port, threads=threads, parallel=parallel, context=context)
    group.add_program("local-llm", argv)
    # Loading the model takes a while on a busy machine.
    wait_until_ready(f"http://127.0.0.1:{port}/health", group=group, timeout=180)
    return f"http://127.0.0.1:{port}/v1"


def start_local_model(group: ProcessGroup, model: LocalModel, settings: Settings) -> dict[str, str]:
    """Start the embedded model as `settings` ask; returns the environment that points children
    at it."""
    print(f"labelwise: starting the embedded model ({model.model.name})", file=sys.stderr)
    base_url = start_local_server(
        group,
        model,
        threads=settings.local_threads or os.cpu_count() or 2,
        parallel=settings.local_parallel,
        context=settings.local_context_tokens,
    )
    return {
        "OPENAI_BASE_URL": base_url,
        "OPENAI_API_KEY": "local",
        # A small CPU model answers a few requests at a time: queue few, and wait patiently.
        "LABELWISE_LLM_CONCURRENCY": str(settings.local_parallel * 2),
        "LABELWISE_LLM_TIMEOUT_SECONDS": str(max(settings.llm_timeout_seconds, 300)),
    }
