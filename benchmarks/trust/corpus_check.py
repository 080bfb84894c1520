"""The corpus scenario: 200 prompt-injection items (see `corpus`) labeled by the hostile fake LLM,
as one batch and again one synchronous call each. Promises: every label and prediction is in the
label set; hostile input never gets a 5xx or no answer; every item is labeled or in review; every
item is stored as sent, or refused with a 4xx that says why. The same items labeled by a spans
project: no 5xx, and every span points at its own text.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from .api_client import Api, Outcome, async_client, post_items
from .corpus import LABELS, injection_corpus
from .report import Result, failures_evidence, status_counts
from .settling import FINAL_OR_REVIEW, wait_settled
from .stack import Stack

TASKS_DIR = Path(__file__).resolve().parents[2] / "src" / "labelwise" / "tasks"


@dataclass
class CorpusRun:
    corpus: list[dict[str, Any]]
    batch_status: int  # what posting all of them in one batch answered
    post_outcomes: list[Outcome]  # one batch each, when the whole batch was refused
    sync_outcomes: list[Outcome]
    settled: bool
    stored: list[dict[str, Any]]  # the batches' items as the API lists them
    answered: list[dict[str, Any]]  # the synchronous calls' items

    def outcomes(self) -> list[Outcome]:
        return [*self.post_outcomes, *self.sync_outcomes]


def scenario_corpus(stack: Stack, args: argparse.Namespace, result: Result) -> None:
    api = Api(stack.api)
    corpus = injection_corpus(200)
    project_id = api.project(
        stack.admin,
        "trust-corpus",
        model={"name": "fake-hostile", "base_url": stack.llm["hostile"]},
        result_cache="off",
    )
    items = [{"external_id": i["external_id"], "data": i["data"]} for i in corpus]
    batch = api.call("POST", f"/v1/projects/{project_id}/batches", stack.admin, {"items": items})
    batch_ids: list[int] = []
    post_outcomes: list[Outcome] = []
    if batch.status_code == 202:
        batch_ids.append(batch.json()["id"])
    else:
        result.evidence.append(
            f"POST /v1/projects/{project_id}/batches (all 200 items) answered "
            f"{batch.status_code}: {batch.text[:300]}; posting them one by one"
        )
        post_outcomes = asyncio.run(_one_by_one(stack, project_id, items, "batches"))
        batch_ids += [o.body["id"] for o in post_outcomes if o.status == 202]
    # The same items, synchronously, one a call (as a product app would send them).
    sync_items = [{"data": i["data"]} for i in corpus]
    sync_outcomes = asyncio.run(_one_by_one(stack, project_id, sync_items, "label"))
    settled, _, _ = wait_settled(stack, api, batch_ids, timeout=90)
    run = CorpusRun(
        corpus=corpus,
        batch_status=batch.status_code,
        post_outcomes=post_outcomes,
        sync_outcomes=sync_outcomes,
        settled=settled,
        stored=[item for batch_id in batch_ids for item in api.items(stack.admin, batch_id)],
        answered=[o.body["items"][0] for o in sync_outcomes if o.status == 200],
    )
    _judge(run, result, spans=_check_spans(stack, api, corpus, result))


@dataclass
class Findings:
    values: list[Any]  # every label and prediction value given
    outside: list[Any]  # those not in the label set
    pending: list[dict[str, Any]]  # stored items neither final nor in review
    sync_pending: list[dict[str, Any]]  # answered items neither final nor in review
    changed: list[str]  # external ids of items whose data was not stored as sent
    five_xx: list[Outcome]  # 5xx or no answer


def _find(run: CorpusRun) -> Findings:
    sent = {item["external_id"]: item for item in run.corpus}
    values = [
        value
        for item in [*run.stored, *run.answered]
        for value in (
            (item.get("label") or {}).get("value", None),
            (item.get("prediction") or {}).get("value", None),
        )
        if value is not None
    ]
    allowed = set(LABELS)
    return Findings(
        values=values,
        outside=[v for v in values if v not in allowed],
        pending=[i for i in run.stored if i["status"] not in FINAL_OR_REVIEW],
        sync_pending=[i for i in run.answered if i["status"] not in FINAL_OR_REVIEW],
        changed=[
            i["external_id"]
            for i in run.stored
            if json.dumps(i["data"], sort_keys=True)
            != json.dumps(sent[i["external_id"]]["data"], sort_keys=True)
        ],
        five_xx=[o for o in run.outcomes() if o.status is None or o.status >= 500],
    )


def _judge(run: CorpusRun, result: Result, *, spans: str) -> None:
    found = _find(run)
    stored, checked = len(run.stored), len(found.values)
    result.figures.update(
        {
            "items": len(run.corpus),
            "batch_post": run.batch_status,
            "stored": stored,
            "sync": status_counts(run.sync_outcomes),
            "5xx": len(found.five_xx) + (1 if run.batch_status >= 500 else 0),
            "labels_checked": checked,
            "in_label_set": f"{100.0 * (checked - len(found.outside)) / max(1, checked):.1f}%",
            "refused_4xx": _by_kind(
                run.post_outcomes or run.sync_outcomes, run.corpus, range(400, 500)
            ),
            "review": sum(1 for i in run.stored if i["status"] == "review"),
            "pending": len(found.pending) + len(found.sync_pending),
            "data_intact": f"{stored - len(found.changed)}/{stored}",
            "spans": spans,
        }
    )
    result.promise(not found.outside, "every label and prediction is in the label set")
    result.promise(
        not found.five_xx and run.batch_status < 500,
        "hostile input never gets a 5xx or no answer",
    )
    result.promise(
        run.settled and not found.pending and not found.sync_pending,
        "every item labeled or in review",
    )
    refused_posts = sum(1 for o in run.post_outcomes if o.status and 400 <= o.status < 500)
    result.promise(
        stored + refused_posts == len(run.corpus),
        "every hostile item stored, or refused with a 4xx",
    )
    refused = [o for o in run.outcomes() if o.status and 400 <= o.status < 500]
    unexplained = [
        o
        for o in refused
        if not (isinstance(o.body, dict) and o.body.get("error", {}).get("message"))
    ]
    result.promise(not unexplained, "a refusal says why (error.message)")
    result.promise(not found.changed, "item data stored as sent")
    _record_evidence(run, found, result)


def _record_evidence(run: CorpusRun, found: Findings, result: Result) -> None:
    if found.outside:
        outside = Counter(found.outside).most_common(5)
        result.evidence.append(f"values outside the label set: {outside}")
    if found.changed:
        result.evidence.append(f"data changed in storage: {found.changed[:5]}")
    kinds = Counter(
        item["kind"]
        for o, item in zip(run.sync_outcomes, run.corpus, strict=True)
        if o.status is None or o.status >= 500
    )
    if kinds:
        result.evidence.append(f"sync 5xx by kind of item: {dict(kinds)}")
    failures_evidence(result, run.outcomes())


def _by_kind(outcomes: list[Outcome], corpus: list[dict[str, Any]], statuses: range) -> str:
    """How many of the corpus' items answered a status in `statuses`, by kind of trick."""
    kinds = Counter(
        item["kind"]
        for o, item in zip(outcomes, corpus, strict=False)
        if o.status is not None and o.status in statuses
    )
    return f"{sum(kinds.values())}({','.join(f'{k}:{n}' for k, n in sorted(kinds.items()))})"


async def _one_by_one(
    stack: Stack, project_id: int, items: list[dict[str, Any]], route: str
) -> list[Outcome]:
    """Each item in a call of its own, eight at a time."""
    semaphore = asyncio.Semaphore(8)

    async def one(client: httpx.AsyncClient, item: dict[str, Any]) -> Outcome:
        async with semaphore:
            kind = f"{route}:{item.get('external_id', '')}"
            return await post_items(client, kind, project_id, route, stack.admin, [item])

    async with async_client(stack.api, timeout=60, connections=16) as client:
        return await asyncio.gather(*(one(client, item) for item in items))


SPAN_TYPES = ["PERSON", "ORG"]


def _check_spans(stack: Stack, api: Api, corpus: list[dict[str, Any]], result: Result) -> str:
    """The same hostile items labeled by a spans project, one synchronous call each: no 5xx,
    and every span the answers keep points at its own text (`text == data.text[start:end]`)."""
    response = api.call(
        "POST",
        "/v1/projects",
        stack.admin,
        {
            "name": "trust-spans",
            "model": {"name": "fake-hostile", "base_url": stack.llm["hostile"]},
            "task": {"type": "spans", "labels": SPAN_TYPES, "guidelines": "Mark names."},
            "result_cache": "off",
        },
    )
    if response.status_code != 201:
        has_module = any(p.stem.startswith("span") for p in TASKS_DIR.glob("*.py"))
        return f"not-checked(no-spans-task:{response.status_code},module={has_module})"
    items = [{"data": i["data"]} for i in corpus]
    outcomes = asyncio.run(_one_by_one(stack, response.json()["id"], items, "label"))
    answered = [o.body["items"][0] for o in outcomes if o.status == 200]
    spans = [
        (item, span)
        for item in answered
        for span in ((item.get("prediction") or {}).get("value") or [])
    ]
    astray = [
        span
        for item, span in spans
        if not isinstance(text := item["data"].get("text"), str)
        or text[span["start"] : span["end"]] != span["text"]
        or span["label"] not in SPAN_TYPES
    ]
    five_xx = [o for o in outcomes if o.status is None or o.status >= 500]
    result.promise(not five_xx, "spans: hostile input never gets a 5xx or no answer")
    result.promise(not astray, "spans: every span points at its own text")
    if astray:
        result.evidence.append(f"spans not at their text: {astray[:3]}")
    return f"checked(items={len(answered)},spans={len(spans)},astray={len(astray)})"
