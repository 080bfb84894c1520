"""End-to-end labeling throughput: API, Redis, workers and store against the fake LLM server.

    .venv/bin/python benchmarks/throughput.py --items 2000 --latency-ms 50 --workers 2

Starts the fake LLM server, the API and the workers as separate processes on loopback (a fresh
SQLite file unless --database-url is given), posts the items as NDJSON, polls the batch until it
completes, and prints items/s from the post to the last item finished, with each process's peak
memory (VmHWM).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path

from labelwise.client import LabelwiseClient
from labelwise.supervisor import ProcessGroup, free_port, wait_until_ready

PROJECT = {
    "name": "bench",
    "task": {
        "type": "classification",
        "labels": ["world", "sports", "business", "science_tech"],
        "guidelines": "Label the news article's topic.",
    },
    "model": {"name": "fake"},
    "routing": {"accept_threshold": 0.8},
}
WORDS = ["market", "match", "election", "chip", "league", "shares", "summit", "rocket", "sports"]


def make_items(n: int) -> list[dict[str, object]]:
    return [
        {
            "external_id": f"bench-{i}",
            "data": {"text": f"Item {i}: news about the {WORDS[i % len(WORDS)]} today."},
        }
        for i in range(n)
    ]


def peak_rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--items", type=int, default=2000)
    parser.add_argument("--latency-ms", type=float, default=50)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--concurrency", type=int, default=128, help="LLM calls in flight per worker"
    )
    parser.add_argument("--chunk-size", type=int, default=100)
    parser.add_argument("--transport", choices=["aiohttp", "httpx"], default="aiohttp")
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="labelwise-bench-"))
    llm_port, api_port = free_port(), free_port()
    env = {
        "LABELWISE_DATABASE_URL": args.database_url or f"sqlite:///{workdir / 'bench.db'}",
        "LABELWISE_QUEUE_NAME": f"bench-{uuid.uuid4().hex[:8]}",
        "LABELWISE_LLM_CONCURRENCY": str(args.concurrency),
        "LABELWISE_CHUNK_SIZE": str(args.chunk_size),
        "LABELWISE_LLM_TRANSPORT": args.transport,
        "OPENAI_BASE_URL": f"http://127.0.0.1:{llm_port}/v1",
        "OPENAI_API_KEY": "bench",
    }
    os.environ.update(env)
    group = ProcessGroup()
    try:
        group.add(
            "fake-llm", ["fake-llm", "--port", str(llm_port), "--latency-ms", str(args.latency_ms)]
        )
        wait_until_ready(f"http://127.0.0.1:{llm_port}/healthz", group=group)
        group.add("api", ["api", "--port", str(api_port)])
        wait_until_ready(f"http://127.0.0.1:{api_port}/readyz", group=group)
        key = _new_admin_key()
        for n in range(args.workers):
            group.add(f"worker-{n + 1}", ["worker", "--name", f"bench-{os.getpid()}-{n}"])
        time.sleep(1.0)  # let the workers import and connect before the clock starts

        client = LabelwiseClient(f"http://127.0.0.1:{api_port}", key, timeout=300)
        project = client.create_project(PROJECT)
        items = make_items(args.items)
        started = time.perf_counter()
        batch = client.post_batch(project["id"], items)
        posted = time.perf_counter()
        while True:
            summary = client.get_batch(batch["id"])
            if summary["status"] == "completed":
                break
            time.sleep(0.05)
        finished = time.perf_counter()
        stats = _fake_stats(llm_port)
        elapsed = finished - started
        report = {
            "items": args.items,
            "workers": args.workers,
            "latency_ms": args.latency_ms,
            "transport": args.transport,
            "seconds": round(elapsed, 2),
            "items_per_second": round(args.items / elapsed, 1),
            "ingest_seconds": round(posted - started, 3),
            "counts": summary["counts"],
            "llm_requests_per_item": round(stats.get("requests", 0) / args.items, 3),
            "peak_rss_mb": {
                c.name: round(peak_rss_mb(c.process.pid), 1) for c in group.children if c.process
            },
        }
        print(json.dumps(report, indent=2))
    finally:
        group.stop()


def _new_admin_key() -> str:
    from labelwise.cli import new_key
    from labelwise.settings import Settings
    from labelwise.store.keys import Role

    return new_key(Settings(), name="bench", role=Role.ADMIN, team="bench")


def _fake_stats(port: int) -> dict[str, int]:
    import httpx

    try:
        return httpx.get(f"http://127.0.0.1:{port}/stats", timeout=5).json()
    except Exception:
        return {}


if __name__ == "__main__":
    sys.exit(main())
