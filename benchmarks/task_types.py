"""How well each task type beyond categories labels the shipped samples: span F1, field accuracy,
rating error and pairwise order agreement, measured from the export against the samples' truth.

    .venv/bin/python benchmarks/task_types.py            # the fake LLM
    .venv/bin/python benchmarks/task_types.py --local    # the embedded model

The samples are `examples/{tweets_ner,invoices,reviews,answers}` (written by
`examples/make_task_examples.py`). Items are posted without their truth, so nothing calibrates on
it; every measure here is computed from the exported values, independently of labelwise's own
quality report.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

from stack import running_stack

from labelwise.client import LabelwiseClient
from labelwise.local.model import find_local_model

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ["tweets_ner", "invoices", "reviews", "answers"]


def span_f1(pairs: list[tuple[list[dict[str, Any]], list[dict[str, Any]]]]) -> dict[str, float]:
    """Exact-match micro F1: a predicted span counts when start, end and label all match."""
    found = expected = hit = 0
    for predicted, truth in pairs:
        keys = {(s["start"], s["end"], s["label"]) for s in predicted}
        gold = {(s["start"], s["end"], s["label"]) for s in truth}
        found, expected, hit = found + len(keys), expected + len(gold), hit + len(keys & gold)
    precision = hit / found if found else 0.0
    recall = hit / expected if expected else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": round(precision, 3), "recall": round(recall, 3), "f1": round(f1, 3)}


def _same_field(value: Any, truth: Any) -> bool:
    if isinstance(truth, float | int) and not isinstance(truth, bool):
        try:
            return abs(float(value) - float(truth)) < 0.005
        except (TypeError, ValueError):
            return False
    if isinstance(truth, str) and isinstance(value, str):
        return " ".join(value.split()).casefold() == " ".join(truth.split()).casefold()
    return bool(value == truth)


def field_accuracy(pairs: list[tuple[dict[str, Any], dict[str, Any]]]) -> dict[str, Any]:
    per_field: dict[str, list[bool]] = {}
    exact = 0
    for value, truth in pairs:
        rights = [_same_field((value or {}).get(name), want) for name, want in truth.items()]
        for name, right in zip(truth, rights, strict=True):
            per_field.setdefault(name, []).append(right)
        exact += all(rights)
    return {
        "per_field": {name: round(sum(r) / len(r), 3) for name, r in per_field.items()},
        "item_exact_match": round(exact / len(pairs), 3) if pairs else None,
    }


def rating_error(pairs: list[tuple[int | None, int]]) -> dict[str, Any]:
    scored = [(v, t) for v, t in pairs if isinstance(v, int)]
    if not scored:
        return {"mae": None, "exact": None, "within_one": None}
    return {
        "mae": round(sum(abs(v - t) for v, t in scored) / len(scored), 3),
        "exact": round(sum(v == t for v, t in scored) / len(scored), 3),
        "within_one": round(sum(abs(v - t) <= 1 for v, t in scored) / len(scored), 3),
    }


def pairwise_agreement(records: list[dict[str, Any]], truth: dict[str, str]) -> dict[str, Any]:
    """How often both orders of the candidates gave the same answer, and accuracy against truth."""
    agreed = right = 0
    for record in records:
        orders = (record.get("prediction") or {}).get("parts") or []
        answers = {order.get("answer") for order in orders}
        agreed += len(orders) == 2 and len(answers) == 1
        right += (record.get("prediction") or {}).get("value") == truth[record["external_id"]]
    n = len(records)
    return {
        "order_agreement": round(agreed / n, 3) if n else None,
        "accuracy": round(right / n, 3) if n else None,
    }


def measure(name: str, records: list[dict[str, Any]], items: list[dict[str, Any]]) -> Any:
    truth = {item["external_id"]: item["ground_truth"] for item in items}
    values = [((r.get("prediction") or {}).get("value"), truth[r["external_id"]]) for r in records]
    if name == "tweets_ner":
        return span_f1([(v or [], t) for v, t in values])
    if name == "invoices":
        return field_accuracy(values)
    if name == "reviews":
        return rating_error(values)
    return pairwise_agreement(records, truth)


def run_sample(client: LabelwiseClient, name: str, limit: int | None) -> dict[str, Any]:
    folder = ROOT / "examples" / name
    project = json.loads((folder / "project.json").read_text(encoding="utf-8"))
    items = [json.loads(line) for line in (folder / "items.jsonl").read_text().splitlines()]
    items = items[:limit] if limit else items
    created = client.create_project(project)
    started = time.perf_counter()
    batch = client.post_batch(
        created["id"], [{"external_id": i["external_id"], "data": i["data"]} for i in items]
    )
    while (summary := client.get_batch(batch["id"]))["status"] != "completed":
        time.sleep(0.5)
    elapsed = time.perf_counter() - started
    records = [json.loads(line) for line in b"".join(client.export(batch["id"])).splitlines()]
    return {
        "sample": name,
        "type": project["task"]["type"],
        "items": len(records),
        "seconds_per_item": round(elapsed / max(1, len(records)), 3),
        "counts": summary["counts"],
        "measures": measure(name, records, items),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--local", action="store_true", help="the embedded model, not the fake")
    parser.add_argument("--items", type=int, default=None, help="at most this many per sample")
    parser.add_argument("--only", choices=SAMPLES, action="append")
    args = parser.parse_args()
    settings_env = {"LABELWISE_LLM_CONCURRENCY": "4", "LABELWISE_LLM_TIMEOUT_SECONDS": "300"}
    local = find_local_model() if args.local else None
    with running_stack(
        workers=1, latency_ms=0, local_model=local, settings_env=settings_env
    ) as stack:
        client = LabelwiseClient(stack.api_url, stack.key, timeout=300)
        for name in args.only or SAMPLES:
            print(json.dumps(run_sample(client, name, args.items)), flush=True)


if __name__ == "__main__":
    main()
