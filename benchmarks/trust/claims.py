"""The claims scenario: 50 reviewers claim from one review queue at once. Promises: never two live
claims on one item; every item claimable; an abandoned claim is claimable again within its lease
+ 30 s; a submit with the lapsed claim's token answers 409; and submit, undo and a new submit
under a live claim answer 200.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any

import httpx

from .api_client import Api, Outcome, acall, async_client
from .corpus import LABELS, review_items
from .report import Result, failures_evidence, status_counts
from .settling import wait_settled
from .stack import Stack

CLAIM = "/v1/review/claim"
CLAIMS_PER_REVIEWER = 4


def scenario_claims(stack: Stack, args: argparse.Namespace, result: Result) -> None:
    api = Api(stack.api)
    project_id = api.project(
        stack.admin, "trust-claims", routing={"accept_threshold": 1.0}, result_cache="off"
    )
    items = review_items("claim", range(args.claim_items), min_chars=200, max_chars=600)
    batch_id = api.batch(stack.admin, project_id, items)
    settled, _, summaries = wait_settled(stack, api, [batch_id], timeout=60)
    in_review = summaries[batch_id]["counts"].get("review", 0)
    # 1. Everyone claims at once.
    claims = asyncio.run(_claims_burst(stack, project_id, per_claimer=CLAIMS_PER_REVIEWER))
    taken = [(n, o) for n, o in claims if o.status == 200]
    by_item = Counter(o.body["item"]["id"] for _, o in taken)
    duplicates = sum(c - 1 for c in by_item.values() if c > 1)
    errors = [o for _, o in claims if o.status not in (200, 204)]
    # 2. An abandoned claim: give one item back, take it with a short lease and let it lapse.
    lapse = _abandon_and_reclaim(stack, api, project_id, taken, result)
    result.figures.update(
        {
            "claimers": len(stack.reviewers),
            "in_review": in_review,
            "claims": len(taken),
            "statuses": status_counts([o for _, o in claims]),
            "duplicates": duplicates + lapse.early,
            "lease_2s": lapse.short_lease,
            "lease_s": lapse.lease,
            "reclaimed_after_s": lapse.reclaimed_after,
            "late_submit": lapse.late_submit,
            "submit/undo/resubmit": lapse.undo,
        }
    )
    result.promise(settled and in_review > 0, "the review queue was filled")
    result.promise(duplicates + lapse.early == 0, "never two live claims on one item")
    every = min(in_review, len(stack.reviewers) * CLAIMS_PER_REVIEWER)
    result.promise(len(taken) == every, "every item claimable")
    result.promise(not errors, "no claim answered other than 200/204")
    result.promise(
        isinstance(lapse.reclaimed_after, float) and lapse.reclaimed_after <= lapse.lease + 30,
        f"an abandoned claim is claimable again within lease ({lapse.lease:.0f}s) + 30s",
    )
    result.promise(lapse.late_submit == 409, "a submit with an expired token answers 409")
    result.promise(
        lapse.undo == "200/200/200", "submit, undo and a new submit under the claim answer 200"
    )
    failures_evidence(result, [o for _, o in claims])


async def _claims_burst(
    stack: Stack, project_id: int, per_claimer: int
) -> list[tuple[int, Outcome]]:
    """Every reviewer claims at once, again and again until the queue is empty."""

    async def claimer(client: httpx.AsyncClient, n: int) -> list[tuple[int, Outcome]]:
        got = []
        for _ in range(per_claimer):
            key = stack.reviewers[n]
            outcome = await acall(client, "claim", "POST", CLAIM, key, {"project_id": project_id})
            got.append((n, outcome))
            if outcome.status != 200:
                break
        return got

    async with async_client(stack.api, timeout=30) as client:
        parts = await asyncio.gather(*(claimer(client, n) for n in range(len(stack.reviewers))))
    return [pair for part in parts for pair in part]


@dataclass
class LapsedClaim:
    """What became of a claim left to lapse; "n/a" where the scenario got no further."""

    lease: float = 2.0  # asked first; the API may refuse a lease this short (then 10 s)
    short_lease: Any = "n/a"  # what asking for the 2 s lease answered
    reclaimed_after: Any = "n/a"  # seconds until another reviewer got the item
    late_submit: Any = "n/a"  # what a submit with the lapsed token answered
    undo: Any = "n/a"  # "submit/undo/resubmit" statuses under the new claim
    early: int = 0  # taken while the first claim still lived


def _abandon_and_reclaim(
    stack: Stack, api: Api, project_id: int, taken: list[tuple[int, Outcome]], result: Result
) -> LapsedClaim:
    lapse = LapsedClaim()
    if not taken:
        return lapse
    first_n, first = taken[0]
    reviewer = stack.reviewers[first_n]
    api.must(
        "POST",
        f"/v1/review/{first.body['item']['id']}/release",
        reviewer,
        {"claim_token": first.body["claim_token"]},
        expect=(204,),
    )
    abandoned = _claim_short(api, reviewer, project_id, lapse)
    abandoned_at = time.monotonic()
    other = stack.reviewers[(first_n + 1) % len(stack.reviewers)]
    winner = _reclaim(api, other, project_id, abandoned["item"]["id"], abandoned_at, lapse)
    if winner is None:
        return lapse
    lapse.reclaimed_after = round(time.monotonic() - abandoned_at, 1)
    late = _submit(api, reviewer, abandoned, LABELS[0])
    lapse.late_submit = late.status_code
    if late.status_code != 409:
        result.evidence.append(f"late submit answered {late.status_code}: {late.text[:300]}")
    lapse.undo = _submit_undo_resubmit(api, other, winner, result)
    return lapse


def _claim_short(api: Api, reviewer: str, project_id: int, lapse: LapsedClaim) -> Any:
    """Claim with a 2 s lease, or with 10 s if the API refuses one that short."""
    asked = api.call(
        "POST", CLAIM, reviewer, {"project_id": project_id, "lease_seconds": lapse.lease}
    )
    lapse.short_lease = asked.status_code
    if asked.status_code == 200:
        return asked.json()
    lapse.lease = 10.0
    return api.must(
        "POST", CLAIM, reviewer, {"project_id": project_id, "lease_seconds": lapse.lease}
    )


def _reclaim(
    api: Api, other: str, project_id: int, item_id: int, abandoned_at: float, lapse: LapsedClaim
) -> Any:
    """Another reviewer claims until it gets the abandoned item (its claim), or gives up after
    the lease + 35 s."""
    deadline = abandoned_at + lapse.lease + 35
    polls = 0
    while time.monotonic() < deadline and polls < 400:
        polls += 1
        response = api.call("POST", CLAIM, other, {"project_id": project_id})
        if response.status_code == 200:
            body = response.json()
            if body["item"]["id"] == item_id:
                if time.monotonic() - abandoned_at < lapse.lease - 0.5:
                    lapse.early += 1  # taken while the first claim still lived
                return body
            continue  # another item given back; keep it and look again
        time.sleep(0.5)
    return None


def _submit(api: Api, reviewer: str, claim: Any, value: str) -> httpx.Response:
    payload = {"claim_token": claim["claim_token"], "decision": "correct", "value": value}
    return api.call("POST", f"/v1/review/{claim['item']['id']}", reviewer, payload)


def _submit_undo_resubmit(api: Api, reviewer: str, claim: Any, result: Result) -> str:
    decided = _submit(api, reviewer, claim, LABELS[1])
    undone = api.call(
        "POST",
        f"/v1/review/{claim['item']['id']}/undo",
        reviewer,
        {"claim_token": claim["claim_token"]},
    )
    again = _submit(api, reviewer, claim, LABELS[2])
    for name, response in (("submit", decided), ("undo", undone), ("resubmit", again)):
        if response.status_code != 200:
            result.evidence.append(
                f"{name} after re-claim answered {response.status_code}: {response.text[:300]}"
            )
    return f"{decided.status_code}/{undone.status_code}/{again.status_code}"
