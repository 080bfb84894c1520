"""Ingest: a large batch posted as streamed NDJSON, through the API into the store and onto the
queue, with the API's peak memory at two sizes to show it does not grow with the batch.

    .venv/bin/python benchmarks/ingest.py --items 100000 --baseline-items 10000

Each size runs on a fresh stack (fake LLM, API, workers, a new SQLite file unless
--database-url is given). Items/s is from the first byte sent to the 202 (the items committed
and their jobs enqueued); the workers then label them, and the run waits for that to finish.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Iterator

from stack import running_stack
from throughput import PROJECT, WORDS

from labelwise.client import LabelwiseClient


def items(n: int) -> Iterator[dict[str, object]]:
    for i in range(n):
        yield {
            "external_id": f"ingest-{i}",
            "data": {"text": f"Item {i}: news about the {WORDS[i % len(WORDS)]} today."},
        }


def run(n: int, args: argparse.Namespace) -> dict[str, object]:
    with running_stack(
        workers=args.workers,
        latency_ms=args.latency_ms,
        database_url=args.database_url,
        settings_env={"LABELWISE_MAX_ITEMS_PER_BATCH": str(max(n, 100_000))},
    ) as stack:
        client = LabelwiseClient(stack.api_url, stack.key, timeout=600)
        project = client.create_project({**PROJECT, "items_per_request": 10})
        started = time.perf_counter()
        batch = client.post_batch(project["id"], items(n))
        ingest_seconds = time.perf_counter() - started
        api_peak = stack.peak_rss_mb().get("api")
        labeled = None
        if args.workers:
            while client.get_batch(batch["id"])["status"] != "completed":
                time.sleep(0.5)
            labeled = round(time.perf_counter() - started, 1)
        return {
            "items": n,
            "created": batch["created"],
            "ingest_seconds": round(ingest_seconds, 2),
            "ingest_items_per_second": round(n / ingest_seconds),
            "api_peak_rss_mb": api_peak,
            "all_labeled_after_seconds": labeled,
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--baseline-items", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--latency-ms", type=float, default=50)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    baseline, large = run(args.baseline_items, args), run(args.items, args)
    growth = None
    if baseline["api_peak_rss_mb"] and large["api_peak_rss_mb"]:
        growth = round(float(large["api_peak_rss_mb"]) - float(baseline["api_peak_rss_mb"]), 1)
    print(
        json.dumps({"baseline": baseline, "large": large, "api_memory_growth_mb": growth}, indent=2)
    )


if __name__ == "__main__":
    main()
