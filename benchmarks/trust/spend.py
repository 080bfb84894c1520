"""The spend scenario: concurrent batches and synchronous calls against a project's spend limit.
Promise: what the project spent never passes the limit plus one reservation (the largest single
request's estimate), by the API's account and by the database's; past the limit, requests are
refused with 402 `spend_limit_exceeded`.
"""

from __future__ import annotations

import argparse
import asyncio
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text

from .api_client import Api, Outcome, async_client, post_items
from .corpus import FreshItems
from .report import Result, failures_evidence, status_counts
from .settling import wait_settled
from .stack import Stack

PRICE = {"prompt": 150.0, "completion": 600.0}  # US dollars per million tokens
BATCH_SIZE, SYNC_SIZE = 20, 5


@dataclass
class Priced:
    """A priced project under a limit of `--spend-batches` batches at the estimate."""

    project_id: int
    est_batch: float  # the estimate of one batch of BATCH_SIZE fresh items
    est_sync: float  # of one synchronous call of SYNC_SIZE
    limit: float


def scenario_spend(stack: Stack, args: argparse.Namespace, result: Result) -> None:
    api = Api(stack.api)
    fresh = FreshItems("spend", seed=23)
    priced = _priced_project(stack, api, fresh, args.spend_batches)
    outcomes = asyncio.run(_hammer(stack, priced.project_id, fresh, args))
    batch_ids = [o.body["id"] for o in outcomes if o.kind == "batch" and o.status == 202]
    sync_ids = [o.body["batch_id"] for o in outcomes if o.kind == "sync" and o.status == 200]
    settled, _, summaries = wait_settled(stack, api, batch_ids + sync_ids, timeout=90)
    project = api.must("GET", f"/v1/projects/{priced.project_id}", stack.admin)
    spent_api = project.get("spent_usd")
    spent = (
        float(spent_api)
        if spent_api is not None
        else sum(s["usage"]["cost_usd"] for s in summaries.values())
    )
    spent_db = _spent_in_database(stack, priced.project_id)
    largest = max(priced.est_batch, priced.est_sync)
    refused = [o for o in outcomes if o.status == 402]
    wrong_code = [
        o
        for o in refused
        if not (
            isinstance(o.body, dict)
            and o.body.get("error", {}).get("code") == "spend_limit_exceeded"
        )
    ]
    result.figures.update(
        {
            "limit": priced.limit,
            "spent": round(spent, 6),
            "spent_source": "project.spent_usd" if spent_api is not None else "sum(batch.usage)",
            "spent_db": round(spent_db, 6),
            "largest_reservation": round(largest, 6),
            "over_by": round(max(spent, spent_db) - priced.limit, 6),
            "batches_accepted": _accepted(outcomes, "batch"),
            "syncs_accepted": _accepted(outcomes, "sync"),
            "statuses": status_counts(outcomes),
        }
    )
    bound = priced.limit + largest
    result.promise(
        spent <= bound + 1e-9 and spent_db <= bound + 1e-9,
        f"spent <= limit + one reservation ({bound:.6f})",
    )
    result.promise(bool(refused), "the limit refuses with 402 once reached")
    result.promise(not wrong_code, "a refusal says spend_limit_exceeded")
    result.promise(all(o.status in (200, 202, 402) for o in outcomes), "no answer but 200/202/402")
    result.promise(settled, "every accepted item labeled within 90 s")
    if spent > bound:
        _overspend_evidence(result, outcomes, summaries, batch_ids, sync_ids, priced, args)
    failures_evidence(result, outcomes)


def _priced_project(stack: Stack, api: Api, fresh: FreshItems, batches: float) -> Priced:
    project_id = api.project(
        stack.admin,
        "trust-spend",
        model={"name": "fake-priced", "price": PRICE},
        result_cache="off",
    )
    estimate = f"/v1/projects/{project_id}/estimate"
    est_batch = api.must("POST", estimate, stack.admin, {"items": fresh.take(BATCH_SIZE)})
    est_sync = api.must("POST", estimate, stack.admin, {"items": fresh.take(SYNC_SIZE)})
    limit = round(est_batch["cost_usd"] * batches, 6)
    api.must("PATCH", f"/v1/projects/{project_id}", stack.admin, {"spend_limit_usd": limit})
    return Priced(project_id, est_batch["cost_usd"], est_sync["cost_usd"], limit)


async def _hammer(
    stack: Stack, project_id: int, fresh: FreshItems, args: argparse.Namespace
) -> list[Outcome]:
    """Rounds of `--spend-concurrency` batches and as many synchronous calls at once, until a
    round is refused whole or `--spend-rounds` have run."""
    outcomes: list[Outcome] = []
    async with async_client(stack.api, timeout=60, connections=32) as client:
        for _ in range(args.spend_rounds):
            calls = []
            for _ in range(args.spend_concurrency):
                batch_items, sync_items = fresh.take(BATCH_SIZE), fresh.take(SYNC_SIZE)
                calls.append(
                    post_items(client, "batch", project_id, "batches", stack.admin, batch_items)
                )
                calls.append(
                    post_items(client, "sync", project_id, "label", stack.admin, sync_items)
                )
            this_round = list(await asyncio.gather(*calls))
            outcomes += this_round
            if all(o.status == 402 for o in this_round):
                break
    return outcomes


def _spent_in_database(stack: Stack, project_id: int) -> float:
    """The cost of every prediction stored for the project's items."""
    with stack.engine.connect() as connection:
        return float(
            connection.execute(
                text(
                    "SELECT COALESCE(SUM(p.cost_usd), 0) FROM predictions p "
                    "JOIN items i ON i.id = p.item_id WHERE i.project_id = :p"
                ),
                {"p": project_id},
            ).scalar_one()
        )


def _accepted(outcomes: list[Outcome], kind: str) -> str:
    """`accepted/sent` requests of a kind."""
    of_kind = [o for o in outcomes if o.kind == kind]
    return f"{sum(1 for o in of_kind if o.status in (200, 202))}/{len(of_kind)}"


def _overspend_evidence(
    result: Result,
    outcomes: list[Outcome],
    summaries: dict[int, dict[str, Any]],
    batch_ids: list[int],
    sync_ids: list[int],
    priced: Priced,
    args: argparse.Namespace,
) -> None:
    """Where the money went when it passed the bound: synchronous calls or batches."""
    accepted_sync = sum(1 for o in outcomes if o.kind == "sync" and o.status == 200)
    if not accepted_sync:
        return
    sync_cost = sum(summaries[i]["usage"]["cost_usd"] for i in sync_ids if i in summaries)
    batch_cost = sum(summaries[i]["usage"]["cost_usd"] for i in batch_ids if i in summaries)
    result.evidence.append(
        f"spent by synchronous calls ${sync_cost:.6f} ({accepted_sync} calls accepted, "
        f"none refused: {not any(o.kind == 'sync' and o.status == 402 for o in outcomes)}); "
        f"by batches ${batch_cost:.6f} ({len(batch_ids)} accepted of "
        f"{sum(1 for o in outcomes if o.kind == 'batch')}, limit ${priced.limit:.6f} = "
        f"{args.spend_batches} batches of {BATCH_SIZE} at the estimate ${priced.est_batch:.6f})"
    )
