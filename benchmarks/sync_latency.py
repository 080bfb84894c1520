"""Latency of synchronous labeling (`POST /v1/projects/{id}/label`, one item) for product apps.

    .venv/bin/python benchmarks/sync_latency.py --calls 200 --latency-ms 50

Against the fake LLM server at the given latency, one call at a time, so the figure is what the
API adds on top of the model: store writes, prompt rendering, confidence and routing.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import httpx
from stack import running_stack
from throughput import PROJECT


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--latency-ms", type=float, default=50)
    args = parser.parse_args()
    with running_stack(workers=0, latency_ms=args.latency_ms) as stack:
        http = httpx.Client(
            base_url=stack.api_url, headers={"authorization": f"Bearer {stack.key}"}, timeout=30
        )
        project = http.post("/v1/projects", json=PROJECT).json()
        timings = []
        for i in range(args.calls + 10):
            body = {"items": [{"data": {"text": f"Shares of chipmaker {i} rose on earnings."}}]}
            started = time.perf_counter()
            response = http.post(f"/v1/projects/{project['id']}/label", json=body)
            elapsed = (time.perf_counter() - started) * 1000
            response.raise_for_status()
            if i >= 10:  # the first calls warm up the client pool and the prompt cache
                timings.append(elapsed)
        timings.sort()
        report = {
            "calls": args.calls,
            "llm_latency_ms": args.latency_ms,
            "p50_ms": round(statistics.median(timings), 1),
            "p95_ms": round(timings[int(len(timings) * 0.95) - 1], 1),
            "p99_ms": round(timings[int(len(timings) * 0.99) - 1], 1),
            "overhead_p50_ms": round(statistics.median(timings) - args.latency_ms, 1),
        }
        print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
