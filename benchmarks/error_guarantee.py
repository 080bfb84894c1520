"""Does a dataset-error guarantee hold through the whole service, and what does it cost reviewers?

    .venv/bin/python benchmarks/error_guarantee.py --items 1500 --target-error 0.05

A batch whose truth is held back goes through the whole stack (API, Redis, workers, store)
against the fake LLM, under `{"target_error": ..., "guarantee": 0.95}`. A simulated reviewer
answers every item the service sends, truthfully (it knows the held-back truth), through the
public review API, until the batch's guarantee is settled and the queue is empty. Then the
export is compared with the truth:

- the final dataset's error (wrong final labels / items), against the target;
- human reviews, against reviewing everything and against the fewest any cut could have needed
  (an oracle that knows the truth reviews the least confident items first until the kept labels'
  error is at most the target).

The items and the fake's overconfidence are those of `benchmarks/calibration.py`.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from typing import Any

import httpx
from calibration import FAKE_ARGS, LABELS, make_sample
from stack import running_stack

from labelwise.client import LabelwiseClient


def send(api: httpx.Client, method: str, url: str, body: Any = None) -> httpx.Response:
    """A request, waited out while the API says 429 (a reviewer at machine speed is throttled)."""
    while True:
        response = api.request(method, url, json=body)
        if response.status_code != 429:
            return response
        time.sleep(float(response.headers.get("Retry-After", "0.5")))


def review_until_settled(
    api: httpx.Client, project_id: int, batch_id: int, truth: dict[str, str], timeout: float
) -> int:
    """Answer what the queue serves until the guarantee is settled and nothing waits; returns how
    many items were reviewed."""
    reviewed, deadline = 0, time.monotonic() + timeout
    while time.monotonic() < deadline:
        claim = send(
            api, "POST", "/v1/review/claim", {"project_id": project_id, "batch_id": batch_id}
        )
        if claim.status_code == 204:
            batch = send(api, "GET", f"/v1/batches/{batch_id}").json()
            if batch["guarantee"]["state"] != "sampling" and not batch["counts"]["review"]:
                return reviewed
            time.sleep(0.5)
            continue
        claim.raise_for_status()
        body = claim.json()
        value = truth[body["item"]["external_id"]]
        answer = send(
            api,
            "POST",
            f"/v1/review/{body['item']['id']}",
            {"claim_token": body["claim_token"], "decision": "correct", "value": value},
        )
        answer.raise_for_status()
        reviewed += 1
    raise TimeoutError("the batch did not settle in time")


def fewest_reviews(records: list[dict[str, Any]], truth: dict[str, str], target: float) -> int:
    """Hindsight: review the least confident items first until the kept labels' error is at most
    the target share of all items."""
    n = len(records)

    def confidence(record: dict[str, Any]) -> float:
        prediction = record["prediction"] or {}
        return prediction.get("confidence") if prediction.get("confidence") is not None else -1.0

    ranked = sorted(records, key=confidence)
    wrong = sum((r["prediction"] or {}).get("value") != truth[r["external_id"]] for r in ranked)
    for reviewed, record in enumerate(ranked):
        if wrong <= target * n:
            return reviewed
        wrong -= (record["prediction"] or {}).get("value") != truth[record["external_id"]]
    return n


def run(args: argparse.Namespace) -> dict[str, Any]:
    items = make_sample(args.items, offset=10_000, rng=random.Random(args.seed))
    truth = {i["external_id"]: i["truth"] for i in items}
    env = {"LABELWISE_RECONCILE_INTERVAL_SECONDS": "1"}
    with running_stack(
        workers=args.workers, latency_ms=20, fake_llm_args=FAKE_ARGS, settings_env=env
    ) as stack:
        client = LabelwiseClient(stack.api_url, stack.key, timeout=120)
        project = client.create_project(
            {
                "name": "error-guarantee",
                "task": {"type": "classification", "labels": LABELS, "guidelines": "The topic."},
                "model": {"name": "fake"},
                "routing": {"target_error": args.target_error, "guarantee": 0.95},
            }
        )
        batch = client.post_batch(
            project["id"], [{"external_id": i["external_id"], "data": i["data"]} for i in items]
        )
        started = time.monotonic()
        headers = {"Authorization": f"Bearer {stack.key}"}
        with httpx.Client(base_url=stack.api_url, headers=headers, timeout=60) as api:
            reviews = review_until_settled(api, project["id"], batch["id"], truth, args.timeout)
        summary = client.get_batch(batch["id"])
        lines = b"".join(client.export(batch["id"])).splitlines()
        records = [json.loads(line) for line in lines]
    wrong = sum(r["label"] != truth[r["external_id"]] for r in records)
    guarantee = summary["guarantee"]
    return {
        "items": len(records),
        "target_error": args.target_error,
        "final_error": round(wrong / len(records), 4),
        "human_reviews": reviews,
        "review_share": round(reviews / len(records), 3),
        "fewest_reviews_hindsight": fewest_reviews(records, truth, args.target_error),
        "sample_expected": guarantee["expected_sample"],
        "cut": guarantee["cut"] and round(guarantee["cut"], 4),
        "error_bound": guarantee["error_bound"],
        "state": guarantee["state"],
        "model_error": round(
            sum((r["prediction"] or {}).get("value") != truth[r["external_id"]] for r in records)
            / len(records),
            4,
        ),
        "seconds": round(time.monotonic() - started, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--items", type=int, default=1500)
    parser.add_argument("--target-error", type=float, default=0.05)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--timeout", type=float, default=1800)
    args = parser.parse_args()
    print("$ " + " ".join(["benchmarks/error_guarantee.py", *sys.argv[1:]]), flush=True)
    print(json.dumps(run(args), indent=2))


if __name__ == "__main__":
    main()
