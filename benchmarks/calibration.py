"""Does calibration to a target precision hold? Achieved precision and coverage per target.

    .venv/bin/python benchmarks/calibration.py --gold 1000 --items 2000

A labeled sample goes through the whole stack (API, Redis, workers, store) against the fake LLM,
once per target precision from 0.80 to 0.99, each certified with probability 0.95. Each run
posts a gold batch (with `ground_truth`) and a batch of items whose truth is held back from
labelwise, at the same time, so some items are labeled before the gold that calibrates them.
Once both finish, the held-back truth measures:

- achieved precision of the auto-accepted items (with its 95% Wilson interval), against the target;
- their coverage, against the best coverage any threshold could reach on those items at the
  target (an oracle that knows the truth);
- what the naive reading (the target used as the threshold) would have delivered.

The fake's confidence is informative but overconfident, as real models' often is: an item whose
text names a label gets that label with probability p drawn per item in [0.5, 0.999] (most of
them near the top), and the sample makes the label wrong 3 times as often as p says (right with
probability 1 - 3(1 - p)). A fifth of the items name no label: the fake guesses, unsure.
"""

from __future__ import annotations

import argparse
import json
import random
import time
from typing import Any

from stack import running_stack

from labelwise.client import LabelwiseClient
from labelwise.quality.metrics import best_coverage
from labelwise.scoring.calibration import wilson_interval
from labelwise.tasks.base import data_json
from labelwise.testing.fake_llm.judge import enum_distribution

LABELS = ["sports", "business", "science", "politics"]
HINT, SPREAD = 0.999, 0.5
OVERCONFIDENCE = 3.0
TARGETS = [0.80, 0.85, 0.90, 0.95, 0.99]
FAKE_ARGS = ["--accuracy-hint", str(HINT), "--confidence-spread", str(SPREAD)]


def make_sample(n: int, *, offset: int, rng: random.Random) -> list[dict[str, Any]]:
    """Items with their truth. The fake's belief is known in advance (it is deterministic), so
    the truth can be drawn to make its confidence overconfident by a known factor."""
    sample = []
    for i in range(offset, offset + n):
        named = LABELS[i % len(LABELS)] if i % 5 else None
        data = {"text": f"Story {i}: " + (f"about {named}." if named else "hard to place.")}
        if named is None:
            truth = rng.choice(LABELS)
        else:
            # The fake judges the item as the prompt carries it: its data as JSON.
            belief = enum_distribution(
                LABELS, data_json(data), accuracy_hint=HINT, confidence_spread=SPREAD
            )
            p = belief[LABELS.index(named)]
            right = rng.random() < 1 - OVERCONFIDENCE * (1 - p)
            truth = named if right else rng.choice([x for x in LABELS if x != named])
        sample.append({"external_id": f"s{i}", "data": data, "truth": truth})
    return sample


def run_target(
    client: LabelwiseClient, target: float, gold: list[dict[str, Any]], test: list[dict[str, Any]]
) -> dict[str, Any]:
    project = client.create_project(
        {
            "name": f"calibration-{target}",
            "task": {"type": "classification", "labels": LABELS, "guidelines": "The topic."},
            "model": {"name": "fake"},
            "routing": {"target_precision": target},
        }
    )
    gold_batch = client.post_batch(
        project["id"],
        [
            {"external_id": g["external_id"], "data": g["data"], "ground_truth": g["truth"]}
            for g in gold
        ],
    )
    test_batch = client.post_batch(
        project["id"], [{"external_id": t["external_id"], "data": t["data"]} for t in test]
    )
    for batch in (gold_batch, test_batch):
        while client.get_batch(batch["id"])["status"] != "completed":
            time.sleep(0.2)
    truth = {t["external_id"]: t["truth"] for t in test}
    records = [json.loads(line) for line in b"".join(client.export(test_batch["id"])).splitlines()]
    accepted = [r for r in records if r["status"] == "accepted"]
    right = sum(r["label"] == truth[r["external_id"]] for r in accepted)
    scored = [
        (r["prediction"]["confidence"], r["prediction"]["value"] == truth[r["external_id"]])
        for r in records
        if r["prediction"] and r["prediction"]["confidence"] is not None
    ]
    naive = [ok for confidence, ok in scored if confidence >= target]
    calibration = client.calibration(project["id"])
    low, high = wilson_interval(right, len(accepted)) if accepted else (None, None)
    return {
        "target": target,
        "threshold": calibration["threshold"] and round(calibration["threshold"], 4),
        "gold": calibration["gold"],
        "accepted": len(accepted),
        "precision": round(right / len(accepted), 4) if accepted else None,
        "precision_95": [round(low, 4), round(high, 4)] if accepted else None,
        "meets_target": (right / len(accepted) >= target) if accepted else True,
        "coverage": round(len(accepted) / len(records), 4),
        "best_coverage": round(best_coverage(scored, target), 4),
        "naive_precision": round(sum(naive) / len(naive), 4) if naive else None,
        "naive_coverage": round(len(naive) / len(records), 4),
        "counts": client.get_batch(test_batch["id"])["counts"],
        # Without a certified threshold: how much gold would certify which coverage.
        "advice": calibration.get("advice"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--gold", type=int, default=1000)
    parser.add_argument("--items", type=int, default=2000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--targets", type=float, nargs="*", default=TARGETS)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    gold = make_sample(args.gold, offset=0, rng=rng)
    test = make_sample(args.items, offset=args.gold, rng=rng)
    results = []
    with running_stack(workers=args.workers, latency_ms=20, fake_llm_args=FAKE_ARGS) as stack:
        client = LabelwiseClient(stack.api_url, stack.key, timeout=120)
        for target in args.targets:
            results.append(run_target(client, target, gold, test))
            print(json.dumps(results[-1]), flush=True)
    print()
    print(
        "| target | threshold | accepted precision (95% CI) | meets target | coverage "
        "| best coverage | naive precision | naive coverage |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for r in results:
        ci = r["precision_95"]
        precision = f"{r['precision']} ({ci[0]} to {ci[1]})" if ci else "none accepted"
        print(
            f"| {r['target']} | {r['threshold']} | {precision} | {r['meets_target']} "
            f"| {r['coverage']} | "
            f"{r['best_coverage']} | {r['naive_precision']} | {r['naive_coverage']} |"
        )


if __name__ == "__main__":
    main()
