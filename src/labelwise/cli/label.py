"""`labelwise label FILE --project SPEC`: submit a file, show progress, write the export."""

from __future__ import annotations

import csv
import json
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TextIO

from labelwise.client import LabelwiseClient
from labelwise.spec import TaskSpec
from labelwise.tasks import matches

SUBMIT_CHUNK = 10_000


def read_items(path: Path) -> list[dict[str, Any]]:
    """JSONL (item objects, or objects with a `text`) or CSV (a `text` column)."""
    if path.suffix.lower() == ".csv":
        with path.open(newline="", encoding="utf-8") as handle:
            return [_item_from_row(row) for row in csv.DictReader(handle)]
    items = []
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except ValueError as exc:
                raise SystemExit(f"{path}:{number}: not valid JSON ({exc})") from None
            items.append(record if "data" in record else _item_from_row(record))
    return items


def _item_from_row(row: dict[str, Any]) -> dict[str, Any]:
    """A flat record: `id`/`external_id` and `label`/`ground_truth` are lifted out of the data."""
    row = dict(row)
    item: dict[str, Any] = {}
    external_id = row.pop("external_id", None) or row.pop("id", None)
    if external_id not in (None, ""):
        item["external_id"] = str(external_id)
    truth = row.pop("ground_truth", None)
    if truth is None:
        truth = row.pop("label", None)
    if truth not in (None, ""):
        item["ground_truth"] = truth
    item["data"] = row
    return item


def resolve_project(client: LabelwiseClient, spec: str) -> dict[str, Any]:
    """SPEC is a project id on the server, or a JSON file with a project definition."""
    if spec.isdigit():
        return client.get_project(int(spec))
    path = Path(spec)
    if not path.exists():
        raise SystemExit(f"--project: {spec} is neither a project id nor a file")
    definition = json.loads(path.read_text(encoding="utf-8"))
    definition.setdefault("name", path.stem)
    return client.create_project(definition)


def progress_line(counts: dict[str, int], started: float) -> str:
    total = counts["total"] or 1
    done = total - counts["pending"]
    width = 30
    filled = int(width * done / total)
    rate = done / max(time.monotonic() - started, 1e-6)
    return (
        f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total} "
        f"accepted {counts['accepted']}  review {counts['review']}  ({rate:.0f} items/s)"
    )


def run_label(
    client: LabelwiseClient,
    *,
    file: Path,
    project_spec: str,
    out: Path,
    fmt: str,
    stream: TextIO = sys.stderr,
    poll_seconds: float = 0.5,
) -> dict[str, Any]:
    items = read_items(file)
    if not items:
        raise SystemExit(f"{file}: no items")
    project = resolve_project(client, project_spec)
    print(
        f"project {project['id']} (version {project['version']}): {len(items)} items", file=stream
    )
    posted = [client.post_batch(project["id"], chunk) for chunk in _chunks(items, SUBMIT_CHUNK)]
    batch_ids = [batch["id"] for batch in posted]
    existing = sum(batch["existing"] for batch in posted)
    if existing:
        print(
            f"{existing} items were already in project {project['id']} (same external id): "
            "they keep their labels and appear in the export of the batch that first posted them",
            file=stream,
        )
    started = time.monotonic()
    last_line = 0.0
    interactive = stream.isatty()
    while True:
        summaries = [client.get_batch(b) for b in batch_ids]
        counts = _sum_counts(s["counts"] for s in summaries)
        if all(s["status"] == "completed" for s in summaries):
            break
        # On a terminal the bar redraws in place; in a log, one line every few seconds.
        if interactive or time.monotonic() - last_line >= 5:
            stream.write(progress_line(counts, started) + ("" if interactive else "\n"))
            stream.flush()
            last_line = time.monotonic()
        time.sleep(poll_seconds)
    stream.write(progress_line(counts, started) + "\n")
    _write_export(client, batch_ids, out, fmt)
    usage = _sum_counts((s["usage"] for s in summaries), float)
    print(
        f"wrote {out}: accepted {counts['accepted']}, review {counts['review']}, "
        f"tokens {int(usage['prompt_tokens'])} in / {int(usage['completion_tokens'])} out, "
        f"cost ${usage['cost_usd']:.4f}",
        file=stream,
    )
    if fmt == "jsonl":
        report = gold_report(out, project_task(client, project["id"]))
        if report:
            print(report, file=stream)
    return {"project_id": project["id"], "batch_ids": batch_ids, "counts": counts, "usage": usage}


def project_task(client: LabelwiseClient, project_id: int) -> TaskSpec:
    """The project's task as the server holds it: its type decides what counts as the same
    answer (a multi-label answer is a set, whatever its order)."""
    return TaskSpec.model_validate(client.get_project(project_id)["task"])


def gold_report(export: Path, task: TaskSpec) -> str | None:
    """How the labels compare with the gold labels the file carried, if it carried any."""
    final_right = final_total = model_right = model_total = 0
    with export.open(encoding="utf-8") as handle:
        for line in handle:
            record = json.loads(line)
            gold = record.get("ground_truth")
            if gold is None:
                continue
            if record["label"] is not None:
                final_total += 1
                final_right += matches(task, record["label"], gold)
            prediction = record.get("prediction") or {}
            if prediction.get("value") is not None:
                model_total += 1
                model_right += matches(task, prediction["value"], gold)
    if not model_total:
        return None
    parts = [f"gold: model right on {model_right}/{model_total} ({model_right / model_total:.0%})"]
    if final_total:
        parts.append(
            f"final labels right on {final_right}/{final_total} ({final_right / final_total:.0%})"
        )
    return "; ".join(parts)


def _write_export(client: LabelwiseClient, batch_ids: list[int], out: Path, fmt: str) -> None:
    with out.open("wb") as handle:
        for index, batch_id in enumerate(batch_ids):
            data = b"".join(client.export(batch_id, fmt))
            if fmt == "csv" and index > 0:
                data = data.split(b"\n", 1)[1]  # one header for the whole file
            handle.write(data)


def _chunks(items: list[dict[str, Any]], size: int) -> Iterator[list[dict[str, Any]]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _sum_counts(dicts: Any, cast: Any = int) -> dict[str, Any]:
    total: dict[str, Any] = {}
    for d in dicts:
        for key, value in d.items():
            total[key] = total.get(key, cast(0)) + cast(value)
    return total
