"""End-to-end labeling throughput: API, Redis, workers and store against the fake LLM server.

    .venv/bin/python benchmarks/throughput.py                      # 4000 news articles, 2 workers
    .venv/bin/python benchmarks/throughput.py --items 20000 --items-per-request 10
    .venv/bin/python benchmarks/throughput.py --items 4000 --rate-429 0.2   # a 429 storm
    .venv/bin/python benchmarks/throughput.py --profile /tmp/profile        # where the time goes
    .venv/bin/python benchmarks/throughput.py --tiny-items      # one-sentence items, as before

Items are news articles of 2-3 KB for a five-label project with a page of guidelines
(`news_items`): items of real size, because one-sentence items flatter every figure. The fake LLM
server, the API and the workers run as separate processes on loopback (a fresh SQLite file unless
--database-url is given), sharing the machine's cores as they would on one box. The items are
posted as NDJSON; the batch is polled until it completes. Printed: items/s in the steady state
(from 10% to 90% of the items finished, leaving out the start and the tail), items/s over the
whole run (from the post to the last item), the CPU each process used (a share of one core) and
its peak memory (VmHWM). Knobs left unset keep the product's defaults. With --profile, py-spy
samples the API, the workers and the fake while the batch runs; the top functions are printed.
"""

from __future__ import annotations

import argparse
import json
import time
from contextlib import nullcontext
from pathlib import Path
from typing import Any

from news_items import news_items, news_project
from stack import (
    Stack,
    cpu_shares,
    machine_cpu_seconds,
    profiled,
    running_stack,
    top_functions,
)

from labelwise.client import LabelwiseClient

# The one-sentence items and four-label project of --tiny-items (other benchmarks use them too).
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
STEADY_FROM, STEADY_TO = 0.1, 0.9
# Knobs passed to the stack's processes only when given; unset, the product's defaults hold.
KNOBS = {
    "concurrency": "LABELWISE_LLM_CONCURRENCY",
    "chunk_size": "LABELWISE_CHUNK_SIZE",
    "transport": "LABELWISE_LLM_TRANSPORT",
    "result_flush_seconds": "LABELWISE_RESULT_FLUSH_SECONDS",
}


def make_items(n: int) -> list[dict[str, object]]:
    return [
        {
            "external_id": f"bench-{i}",
            "data": {"text": f"Item {i}: news about the {WORDS[i % len(WORDS)]} today."},
        }
        for i in range(n)
    ]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    add = parser.add_argument
    add("--items", type=int, default=4000)
    add("--tiny-items", action="store_true", help="one-sentence items and a four-label project")
    add("--seed", type=int, default=0, help="which news articles")
    add("--gold-share", type=float, default=0.05, help="share of items posted with gold")
    add("--latency-ms", type=float, default=50)
    add("--workers", type=int, default=2)
    add("--concurrency", type=int, default=None, help="LLM calls in flight per worker")
    add("--chunk-size", type=int, default=None)
    add("--result-flush-seconds", type=float, default=None)
    add("--transport", choices=["aiohttp", "httpx"], default=None)
    add("--items-per-request", type=int, default=1)
    add("--rate-429", type=float, default=0.0, help="share of 429s (a storm)")
    add("--retry-after-seconds", type=float, default=0.05, help="the wait a 429 advertises")
    add("--requests-per-second", type=float, default=0.0, help="the fake's own rate limit")
    add("--database-url", default=None)
    add("--llm-url", default=None, help="an OpenAI-compatible server to use instead of the fake")
    add(
        "--env",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="any other setting for the stack's processes (LABELWISE_SHARED_RATE_LIMITS=false)",
    )
    add("--poll-seconds", type=float, default=0.25, help="how often the batch's counts are read")
    add("--profile", type=Path, default=None, help="a directory for py-spy's samples")
    return parser


def measure(
    args: argparse.Namespace,
    items: list[dict[str, Any]] | None = None,
    project: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """One run on a fresh stack. Items default to news articles (to `make_items` with
    --tiny-items); items given without a project are asked under the tiny `PROJECT`, which is
    what the callers that pass them built them for."""
    tiny = getattr(args, "tiny_items", False)
    if items is None:
        items = make_items(args.items) if tiny else news_items(args.items, **_news_args(args))
        project = project or (PROJECT if tiny else news_project())
    project = {**(project or PROJECT), "items_per_request": args.items_per_request}
    settings_env = {
        env: str(getattr(args, name))
        for name, env in KNOBS.items()
        if getattr(args, name, None) is not None
    } | dict(pair.split("=", 1) for pair in getattr(args, "env", []))
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
        created = client.create_project(project)
        profile_dir = getattr(args, "profile", None)
        spying = (
            profiled(stack, ["api", *_worker_names(stack), "fake-llm"], profile_dir)
            if profile_dir
            else nullcontext({})
        )
        with spying as profiles:
            report = _run_batch(stack, client, created["id"], items, args)
        report["peak_rss_mb"] = stack.peak_rss_mb()
    if profiles:
        report["profile"] = {name: top_functions(path) for name, path in profiles.items()}
    return report


def _run_batch(
    stack: Stack,
    client: LabelwiseClient,
    project_id: int,
    items: list[dict[str, Any]],
    args: argparse.Namespace,
) -> dict[str, Any]:
    """Post the batch, follow its progress until it completes, and say how fast it went."""
    before, cpu_before = stack.llm_stats(), stack.cpu_seconds()
    machine_before = machine_cpu_seconds()
    started = time.perf_counter()
    batch = client.post_batch(project_id, items)
    posted = time.perf_counter()
    summary, progress = _follow(client, batch["id"], getattr(args, "poll_seconds", 0.25))
    elapsed = time.perf_counter() - started
    cpu_after = stack.cpu_seconds()
    cpu = cpu_shares(cpu_before, cpu_after, elapsed)
    machine = (machine_cpu_seconds() - machine_before) / elapsed
    after = stack.llm_stats()
    gold = client.quality(project_id)["gold"]
    n = len(items)
    requests = after.get("requests", 0) - before.get("requests", 0) if after else None
    return {
        "items": n,
        "item_bytes_mean": round(sum(len(json.dumps(i["data"])) for i in items) / n),
        "workers": args.workers,
        "latency_ms": args.latency_ms,
        "knobs": {name: getattr(args, name, None) for name in KNOBS}
        | {"env": getattr(args, "env", [])},
        "items_per_request": args.items_per_request,
        "steady_items_per_second": steady_rate(progress, n),
        "items_per_second": round(n / elapsed, 1),
        "seconds": round(elapsed, 2),
        "ingest_seconds": round(posted - started, 3),
        "first_item_after_post_seconds": _first_finished(progress),
        "counts": summary["counts"],
        "llm_requests_per_item": round(requests / n, 3) if requests is not None else None,
        "llm_429s": after.get("rate_limited", 0) - before.get("rate_limited", 0) if after else None,
        "prompt_tokens_per_item": round(summary["usage"]["prompt_tokens"] / n, 1),
        "gold_accuracy": gold["accuracy"]["value"] if gold["items"] else None,
        "cpu_cores_used": cpu,
        # What an item costs each process, whatever else shares the machine.
        "cpu_ms_per_item": {
            name: round((cpu_after[name] - cpu_before.get(name, 0.0)) / n * 1000, 2)
            for name in cpu_after
        },
        # The same cores, used by anything else meanwhile (this script, py-spy, other jobs).
        "cpu_cores_used_by_others": round(machine - sum(cpu.values()), 2),
    }


def _follow(
    client: LabelwiseClient, batch_id: int, poll_seconds: float
) -> tuple[dict[str, Any], list[tuple[float, int]]]:
    """Read the batch until it completes: its last summary, and its progress as (seconds since
    the post was answered, items finished). Labeling starts only once the batch is committed
    and enqueued, just before that answer."""
    posted = time.perf_counter()
    progress: list[tuple[float, int]] = []
    while True:
        summary = client.get_batch(batch_id)
        counts = summary["counts"]
        progress.append((time.perf_counter() - posted, counts["total"] - counts["pending"]))
        if summary["status"] == "completed":
            return summary, progress
        time.sleep(poll_seconds)


def steady_rate(progress: list[tuple[float, int]], total: int) -> float | None:
    """Items/s between the moments STEADY_FROM and STEADY_TO of the items had finished (each
    moment interpolated between the two reads around it): the rate once the workers are busy
    and before the last chunks trail off. None when the reads are too few to tell."""
    low, high = _moment(progress, STEADY_FROM * total), _moment(progress, STEADY_TO * total)
    if low is None or high is None or high <= low:
        return None
    return round((STEADY_TO - STEADY_FROM) * total / (high - low), 1)


def _moment(progress: list[tuple[float, int]], done: float) -> float | None:
    """When `done` items had finished, by linear interpolation of the reads (none had at 0)."""
    previous = (0.0, 0)
    for seconds, finished in progress:
        if finished >= done:
            t0, d0 = previous
            if finished == d0:
                return seconds
            return t0 + (seconds - t0) * (done - d0) / (finished - d0)
        previous = (seconds, finished)
    return None


def _first_finished(progress: list[tuple[float, int]]) -> float | None:
    """Seconds from the post's answer to the first read that showed an item finished."""
    return next((round(seconds, 2) for seconds, finished in progress if finished > 0), None)


def _news_args(args: argparse.Namespace) -> dict[str, Any]:
    return {"seed": getattr(args, "seed", 0), "gold_share": getattr(args, "gold_share", 0.0)}


def _worker_names(stack: Stack) -> list[str]:
    return [name for name in stack.pids() if name.startswith("worker-")]


def main() -> None:
    print(json.dumps(measure(build_parser().parse_args()), indent=2))


if __name__ == "__main__":
    main()
