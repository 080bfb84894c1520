"""Speed and cost side by side in one run: a sequential labeler (one request at a time, one item
per request, as most labeling tools do) against labelwise with one and ten items per request,
labelwise through a storm of 429s, and labelwise against a provider with a rate limit of its own
plus the storm; each end to end through the API, Redis, workers and store.

    .venv/bin/python benchmarks/speed_and_cost.py                 # against the fake LLM, 50 ms
    .venv/bin/python benchmarks/speed_and_cost.py --llm-url http://host:port/v1

Every item names its topic, and carries it as ground truth: the gold accuracy shows that answers
about several items reach the right items (a mix-up would fall to chance), and on a real model
what packing does to accuracy. With --llm-url, request counts come from the server's `/stats`
when it has one.
"""

from __future__ import annotations

import argparse
import json
import time
from contextlib import nullcontext

import openai
from throughput import PROJECT, WORDS, build_parser, measure

from labelwise.labeling.labeler import Labeler
from labelwise.llm.call import request_body
from labelwise.llm.client import LLMClients
from labelwise.settings import Settings
from labelwise.spec import ProjectSpec
from labelwise.tasks.prompts import PromptLibrary
from labelwise.testing.fake_llm import FakeLLMConfig, running_fake_llm

LABELS = PROJECT["task"]["labels"]


def gold_items(n: int) -> list[dict[str, object]]:
    return [
        {
            "external_id": f"gold-{i}",
            "data": {
                "text": f"Item {i}: a {LABELS[i % 4]} story about the {WORDS[i % len(WORDS)]}."
            },
            "ground_truth": LABELS[i % 4],
        }
        for i in range(n)
    ]


def sequential(n: int, llm_url: str | None, latency_ms: float) -> dict[str, object]:
    """One item per request, one request at a time, the same prompt as labelwise sends."""
    server = running_fake_llm(FakeLLMConfig(latency_ms=latency_ms)) if llm_url is None else None
    with server if server is not None else nullcontext(llm_url) as url:
        settings = Settings(openai_base_url=url, openai_api_key="bench")
        labeler = Labeler(settings, LLMClients(settings), PromptLibrary())
        spec = ProjectSpec.model_validate({k: v for k, v in PROJECT.items() if k != "name"})
        client = openai.OpenAI(base_url=url, api_key="bench", max_retries=6)
        items = gold_items(n)
        started = time.perf_counter()
        prompt_tokens = 0
        for item in items:
            [request] = labeler.requests_for(spec, [item["data"]])  # type: ignore[list-item]
            completion = client.chat.completions.create(**request_body(request))
            prompt_tokens += completion.usage.prompt_tokens if completion.usage else 0
        elapsed = time.perf_counter() - started
    return {
        "items": n,
        "items_per_second": round(n / elapsed, 1),
        "llm_requests_per_item": 1.0,
        "prompt_tokens_per_item": round(prompt_tokens / n, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sequential-items", type=int, default=200)
    parser.add_argument("--items", type=int, default=6000, help="for one item per request")
    parser.add_argument("--packed-items", type=int, default=30000, help="for ten per request")
    parser.add_argument("--storm-items", type=int, default=4000)
    parser.add_argument(
        "--provider-rps",
        type=float,
        default=200,
        help="the fake's own rate limit for the last run, with 20%% faulty 429s on top (0: skip)",
    )
    parser.add_argument("--latency-ms", type=float, default=50)
    parser.add_argument("--llm-url", default=None)
    args = parser.parse_args()

    def run(n: int, *extra: str) -> dict[str, object]:
        common = ["--items", str(n), "--latency-ms", str(args.latency_ms)]
        if args.llm_url:
            common += ["--llm-url", args.llm_url]
        return measure(build_parser().parse_args([*common, *extra]), gold_items(n))

    report = {
        "sequential": sequential(args.sequential_items, args.llm_url, args.latency_ms),
        "one_per_request": run(args.items),
        "ten_per_request": run(args.packed_items, "--items-per-request", "10"),
        "storm_429_20pct": run(args.storm_items, "--rate-429", "0.2"),
    }
    if args.provider_rps and not args.llm_url:
        report["provider_limit_with_faults"] = run(
            args.storm_items,
            "--requests-per-second",
            str(args.provider_rps),
            "--rate-429",
            "0.2",
        )
    one, ten = report["one_per_request"], report["ten_per_request"]
    report["ten_vs_one_prompt_tokens_per_item"] = round(
        float(ten["prompt_tokens_per_item"]) / float(one["prompt_tokens_per_item"]), 3
    )
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
