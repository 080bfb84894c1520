"""Latency of synchronous labeling (`POST /v1/projects/{id}/label`, one item) for product apps.

    .venv/bin/python benchmarks/sync_latency.py --calls 300 --latency-ms 50
    .venv/bin/python benchmarks/sync_latency.py --tiny-items    # one-sentence items, as before

Against the fake LLM server at the given latency, one call at a time, on news articles of 2-3 KB
for a five-label project with a page of guidelines (`news_items`), each call a new article (so no
result is served from the cache). What the API adds on top of the model (storing the item,
reserving spend, rendering the prompt, the call, confidence, routing, writing the label) is
given two ways, as percentiles of per-call differences:

- over the configured latency: the end-to-end time minus `--latency-ms`;
- over the LLM's own latency: before each labeling call, the very request labeling would send
  for that item is sent to the fake directly and timed; the difference is what the API adds over
  what the model itself took (the fake's own work on a long prompt included).

The first call after the API starts (the project's prompt prepared, the LLM client and its
connection made) is reported apart as the cold call; `--warmup` calls follow it unmeasured.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import time
from collections import Counter
from contextlib import nullcontext
from pathlib import Path
from typing import Any

import httpx
from news_items import news_items, news_project
from stack import cpu_shares, machine_cpu_seconds, profiled, running_stack, top_functions
from throughput import PROJECT, make_items

from labelwise.labeling.labeler import Labeler
from labelwise.llm.call import request_body
from labelwise.llm.client import LLMClients
from labelwise.settings import Settings
from labelwise.spec import ProjectSpec
from labelwise.tasks.prompts import PromptLibrary


def percentile(values: list[float], share: float) -> float:
    """The nearest-rank percentile: the smallest value with at least `share` of them at or
    below it."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def summary(values: list[float]) -> dict[str, float]:
    return {
        f"p{round(share * 100)}_ms": round(percentile(values, share), 1)
        for share in (0.5, 0.95, 0.99)
    } | {"mean_ms": round(statistics.fmean(values), 1)}


class DirectCall:
    """The request labeling sends for an item, sent straight to the LLM and timed."""

    def __init__(self, project: dict[str, Any], llm_url: str) -> None:
        settings = Settings(openai_base_url=llm_url, openai_api_key="bench")
        self.labeler = Labeler(settings, LLMClients(settings), PromptLibrary())
        self.spec = ProjectSpec.model_validate({k: v for k, v in project.items() if k != "name"})
        self.http = httpx.Client(base_url=llm_url, timeout=30)

    def milliseconds(self, data: dict[str, Any]) -> float:
        [request] = self.labeler.requests_for(self.spec, [data])
        body = request_body(request)
        started = time.perf_counter()
        self.http.post("/chat/completions", json=body).raise_for_status()
        return (time.perf_counter() - started) * 1000


def measure(args: argparse.Namespace) -> dict[str, Any]:
    total = 1 + args.warmup + args.calls
    items = make_items(total) if args.tiny_items else news_items(total, seed=args.seed)
    project = PROJECT if args.tiny_items else news_project()
    with running_stack(workers=0, latency_ms=args.latency_ms) as stack:
        http = httpx.Client(
            base_url=stack.api_url, headers={"authorization": f"Bearer {stack.key}"}, timeout=30
        )
        created = http.post("/v1/projects", json=project).json()
        calls = TimedCalls(
            http, f"/v1/projects/{created['id']}/label", DirectCall(project, stack.llm_url)
        )
        calls.one(items[0], pause_ms=args.pause_ms)  # the cold call
        for item in items[1 : 1 + args.warmup]:
            calls.one(item, pause_ms=args.pause_ms)
        calls.restart()
        spying = profiled(stack, ["api", "fake-llm"], args.profile) if args.profile else None
        with spying or nullcontext({}) as profiles:
            cpu_before, machine_before = stack.cpu_seconds(), machine_cpu_seconds()
            started = time.perf_counter()
            for item in items[1 + args.warmup :]:
                calls.one(item, pause_ms=args.pause_ms)
            seconds = time.perf_counter() - started
            cpu = cpu_shares(cpu_before, stack.cpu_seconds(), seconds)
            others = (machine_cpu_seconds() - machine_before) / seconds - sum(cpu.values())
    return {
        "calls": args.calls,
        "item_bytes_mean": round(sum(len(json.dumps(i["data"])) for i in items) / len(items)),
        "llm_latency_ms_configured": args.latency_ms,
        "cold_first_call_ms": round(calls.cold_ms or 0.0, 1),
        "end_to_end": summary(calls.end_to_end),
        "llm_own": summary(calls.llm_own),
        "overhead_over_configured_latency": summary(
            [t - args.latency_ms for t in calls.end_to_end]
        ),
        "overhead_over_llm_own_latency": summary(
            [t - own for t, own in zip(calls.end_to_end, calls.llm_own, strict=True)]
        ),
        "item_statuses": dict(calls.statuses),
        "cpu_cores_used": cpu,
        # The same cores, used by anything else meanwhile (this script included).
        "cpu_cores_used_by_others": round(others, 2),
    } | ({"profile": {n: top_functions(path) for n, path in profiles.items()}} if profiles else {})


class TimedCalls:
    """Sync labeling calls, each one item, each preceded by the same request sent to the LLM
    directly; the times of both are kept."""

    def __init__(self, http: httpx.Client, path: str, direct: DirectCall) -> None:
        self.http, self.path, self.direct = http, path, direct
        self.cold_ms: float | None = None
        self.end_to_end: list[float] = []
        self.llm_own: list[float] = []
        self.statuses: Counter[str] = Counter()

    def one(self, item: dict[str, Any], *, pause_ms: float) -> None:
        own = self.direct.milliseconds(item["data"])
        started = time.perf_counter()
        response = self.http.post(self.path, json={"items": [{"data": item["data"]}]})
        elapsed = (time.perf_counter() - started) * 1000
        response.raise_for_status()
        self.statuses.update(labeled["status"] for labeled in response.json()["items"])
        if self.cold_ms is None:
            self.cold_ms = elapsed
        else:
            self.end_to_end.append(elapsed)
            self.llm_own.append(own)
        # Calls spaced as a product app's would be, not back to back with the probe.
        time.sleep(pause_ms / 1000)

    def restart(self) -> None:
        """Forget the warm-up calls (the cold one is kept apart)."""
        self.end_to_end.clear()
        self.llm_own.clear()
        self.statuses.clear()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--latency-ms", type=float, default=50)
    parser.add_argument("--pause-ms", type=float, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--tiny-items", action="store_true")
    parser.add_argument("--profile", type=Path, default=None, help="a directory for py-spy")
    print(json.dumps(measure(parser.parse_args()), indent=2))


if __name__ == "__main__":
    main()
