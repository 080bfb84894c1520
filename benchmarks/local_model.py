"""How good the embedded model is: accuracy, seconds per item, and how well its confidence
separates right labels from wrong ones (AUROC), on the repo's sample news dataset.

    .venv/bin/python benchmarks/local_model.py            # after `labelwise local setup`

Runs the real pipeline (API, Redis, one worker, SQLite) against llama.cpp's server with the
embedded SmolLM2-135M model on this machine's cores.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from stack import running_stack

from labelwise.client import LabelwiseClient
from labelwise.local.model import find_local_model
from labelwise.scoring.evaluation import auroc

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--items", type=int, default=200)
    parser.add_argument(
        "--items-per-request", type=int, default=1, help="what packing does to accuracy"
    )
    args = parser.parse_args()
    lines = (ROOT / "examples/news/items.jsonl").read_text().splitlines()[: args.items]
    items = [
        {"external_id": r["id"], "data": {"text": r["text"]}, "ground_truth": r["label"]}
        for r in map(json.loads, lines)
    ]
    project = json.loads((ROOT / "examples/news/project.json").read_text())
    project["items_per_request"] = args.items_per_request
    settings_env = {"LABELWISE_LLM_CONCURRENCY": "4", "LABELWISE_LLM_TIMEOUT_SECONDS": "300"}
    with running_stack(
        workers=1, latency_ms=0, local_model=find_local_model(), settings_env=settings_env
    ) as stack:
        client = LabelwiseClient(stack.api_url, stack.key, timeout=300)
        created = client.create_project(project)
        started = time.perf_counter()
        batch = client.post_batch(created["id"], items)
        while (summary := client.get_batch(batch["id"]))["status"] != "completed":
            time.sleep(0.5)
        elapsed = time.perf_counter() - started
        records = [json.loads(line) for line in b"".join(client.export(batch["id"])).splitlines()]
    scored = [
        (r["prediction"]["value"] == r["ground_truth"], r["prediction"]["confidence"])
        for r in records
        if r["prediction"]
        and r["prediction"]["value"] is not None
        and r["prediction"]["confidence"] is not None
    ]
    right = [confidence for is_right, confidence in scored if is_right]
    wrong = [confidence for is_right, confidence in scored if not is_right]
    accepted = [r for r in records if r["status"] == "accepted"]
    report = {
        "model": "SmolLM2-135M-Instruct Q4_1 (llama.cpp)",
        "items": len(records),
        "items_per_request": args.items_per_request,
        "prompt_tokens_per_item": round(summary["usage"]["prompt_tokens"] / len(records), 1),
        "seconds_per_item": round(elapsed / len(records), 3),
        "accuracy": round(len(right) / len(records), 3),
        "auroc": None if (a := auroc(right, wrong)) is None else round(a, 3),
        "scored": len(scored),
        "accepted": len(accepted),
        "accepted_accuracy": round(
            sum(r["label"] == r["ground_truth"] for r in accepted) / len(accepted), 3
        )
        if accepted
        else None,
        "counts": summary["counts"],
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
