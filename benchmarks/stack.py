"""Start the fake LLM server, the API and workers as separate processes, for the benchmarks."""

from __future__ import annotations

import os
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from labelwise.local.model import LocalModel
from labelwise.local.stack import start_fake_llm, start_local_server
from labelwise.local.supervisor import ProcessGroup, free_port, wait_until_ready


@dataclass
class Stack:
    api_url: str
    llm_url: str
    key: str
    group: ProcessGroup

    def llm_stats(self) -> dict[str, int]:
        """The LLM server's counters (the fake's `/stats`); empty for a server without them."""
        try:
            response = httpx.get(self.llm_url.removesuffix("/v1") + "/stats", timeout=5)
            return response.json() if response.status_code == 200 else {}
        except (httpx.HTTPError, ValueError):
            return {}

    def peak_rss_mb(self) -> dict[str, float]:
        """Each process's peak resident memory (VmHWM), as the kernel counted it."""
        peaks = {}
        for child in self.group.children:
            if child.process is None:
                continue
            status = Path(f"/proc/{child.process.pid}/status")
            for line in status.read_text().splitlines() if status.exists() else []:
                if line.startswith("VmHWM:"):
                    peaks[child.name] = round(int(line.split()[1]) / 1024, 1)
        return peaks


@contextmanager
def running_stack(
    *,
    workers: int,
    latency_ms: float,
    database_url: str | None = None,
    settings_env: dict[str, str] | None = None,
    fake_llm_args: list[str] | None = None,
    local_model: LocalModel | None = None,
    llm_url: str | None = None,
) -> Iterator[Stack]:
    """With `local_model`, the embedded model's server stands in for the fake LLM; with
    `llm_url`, any OpenAI-compatible server already running does."""
    workdir = Path(tempfile.mkdtemp(prefix="labelwise-bench-"))
    api_port = free_port()
    os.environ.update(
        {
            "LABELWISE_DATABASE_URL": database_url or f"sqlite:///{workdir / 'bench.db'}",
            "LABELWISE_QUEUE_NAME": f"bench-{uuid.uuid4().hex[:8]}",
            "OPENAI_API_KEY": "bench",
            **(settings_env or {}),
        }
    )
    group = ProcessGroup()
    try:
        if llm_url is None and local_model is None:
            llm_url = start_fake_llm(group, latency_ms=latency_ms, extra_args=fake_llm_args)
        elif llm_url is None and local_model is not None:
            llm_url = start_local_server(
                group, local_model, threads=os.cpu_count() or 2, parallel=2, context=2048
            )
        # Children started from here on (the API and workers) inherit the endpoint.
        os.environ["OPENAI_BASE_URL"] = llm_url
        group.add("api", ["api", "--port", str(api_port)])
        wait_until_ready(f"http://127.0.0.1:{api_port}/readyz", group=group)
        for n in range(workers):
            group.add(f"worker-{n + 1}", ["worker"])
        if workers:
            time.sleep(1.0)  # let the workers import and connect before any clock starts
        yield Stack(
            api_url=f"http://127.0.0.1:{api_port}",
            llm_url=llm_url,
            key=_new_admin_key(),
            group=group,
        )
    finally:
        group.stop()


def _new_admin_key() -> str:
    from labelwise.cli.main import new_key
    from labelwise.settings import Settings
    from labelwise.store.keys import Role

    return new_key(Settings(), name="bench", role=Role.ADMIN, team="bench")
