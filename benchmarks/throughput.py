"""End-to-end labeling throughput: API, Redis, workers and store against the fake LLM server.

    .venv/bin/python benchmarks/throughput.py --items 2000 --latency-ms 50 --workers 2
    .venv/bin/python benchmarks/throughput.py --items 20000 --items-per-request 10
    .venv/bin/python benchmarks/throughput.py --items 4000 --rate-429 0.2   # a 429 storm

Starts the fake LLM server, the API and the workers as separate processes on loopback (a fresh
SQLite file unless --database-url is given), posts the items as NDJSON, polls the batch until it
completes, and prints items/s from the post to the last item finished, with each process's peak
memory (VmHWM).
"""

from __future__ import annotations

import argparse
import json
import time

from stack import running_stack

from labelwise.client import LabelwiseClient

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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--items", type=int, default=2000)
    parser.add_argument("--latency-ms", type=float, default=50)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--concurrency", type=int, default=128, help="LLM calls in flight per worker"
    )
    parser.add_argument("--chunk-size", type=int, default=100)
    parser.add_argument("--items-per-request", type=int, default=1)
    parser.add_argument("--rate-429", type=float, default=0.0, help="share of 429s (a storm)")
    parser.add_argument(
        "--retry-after-seconds", type=float, default=0.05, help="the wait a 429 advertises"
    )
    parser.add_argument(
        "--requests-per-second", type=float, default=0.0, help="the fake's own rate limit"
    )
    parser.add_argument("--transport", choices=["aiohttp", "httpx"], default="aiohttp")
    parser.add_argument("--database-url", default=None)
    parser.add_argument(
        "--llm-url", default=None, help="an OpenAI-compatible server to use instead of the fake"
    )
    return parser


def measure(args: argparse.Namespace, items: list[dict[str, object]] | None = None) -> dict:
    """One run on a fresh stack; `items` default to `make_items(args.items)`."""
    items = items if items is not None else make_items(args.items)
    settings_env = {
        "LABELWISE_LLM_CONCURRENCY": str(args.concurrency),
        "LABELWISE_CHUNK_SIZE": str(args.chunk_size),
        "LABELWISE_LLM_TRANSPORT": args.transport,
    }
    with running_stack(
        workers=args.workers,
        latency_ms=args.latency_ms,
        database_url=args.database_url,
        settings_env=settings_env,
        fake_llm_args=[
            f"--rate-429={args.rate_429}",
            f"--retry-after-seconds={args.retry_after_seconds}",
            f"--requests-per-second={args.requests_per_second}",
        ],
        llm_url=args.llm_url,
    ) as stack:
        client = LabelwiseClient(stack.api_url, stack.key, timeout=300)
        project = client.create_project({**PROJECT, "items_per_request": args.items_per_request})
        before = stack.llm_stats()
        started = time.perf_counter()
        batch = client.post_batch(project["id"], items)
        posted = time.perf_counter()
        while (summary := client.get_batch(batch["id"]))["status"] != "completed":
            time.sleep(0.25)
        elapsed = time.perf_counter() - started
        after = stack.llm_stats()
        gold = client.quality(project["id"])["gold"]
        requests = after.get("requests", 0) - before.get("requests", 0) if after else None
        n = len(items)
        return {
            "items": n,
            "workers": args.workers,
            "latency_ms": args.latency_ms,
            "transport": args.transport,
            "items_per_request": args.items_per_request,
            "seconds": round(elapsed, 2),
            "items_per_second": round(n / elapsed, 1),
            "ingest_seconds": round(posted - started, 3),
            "counts": summary["counts"],
            "llm_requests_per_item": round(requests / n, 3) if requests is not None else None,
            "llm_429s": after.get("rate_limited", 0) - before.get("rate_limited", 0)
            if after
            else None,
            "prompt_tokens_per_item": round(summary["usage"]["prompt_tokens"] / n, 1),
            "gold_accuracy": gold["accuracy"]["value"] if gold["items"] else None,
            "peak_rss_mb": stack.peak_rss_mb(),
        }


def main() -> None:
    print(json.dumps(measure(build_parser().parse_args()), indent=2))


if __name__ == "__main__":
    main()
