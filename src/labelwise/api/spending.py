"""Estimates before labeling, and the spend limit that refuses work before any of it is sent.

A batch's cost is estimated on a sample of its items drawn as they stream in, rendered as
labeling would render them (`labelwise.cost.estimate`). What the project has committed is what its
predictions cost plus, for items still waiting, the same cost per item; a batch that would take
that past the limit is refused with the numbers, and nothing of it is stored or enqueued.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Any

from sqlalchemy.orm import Session

from labelwise.cost.estimate import Estimate, estimate
from labelwise.cost.pricing import price_for
from labelwise.errors import SpendLimitError, ValidationFailedError
from labelwise.labeling.labeler import Labeler
from labelwise.settings import Settings
from labelwise.store.projects import ProjectRecord, get_project
from labelwise.store.relabel import Reserve
from labelwise.store.spend import item_data, lock_budget, waiting_items

SAMPLE_SIZE = 50


class Reservoir:
    """A uniform sample of at most `size` of the items streamed past it (reservoir sampling),
    drawn the same way for the same items: a batch sorted by length or topic is still sampled
    across all of it."""

    def __init__(self, size: int = SAMPLE_SIZE) -> None:
        self.size = size
        self.items: list[Any] = []
        self.seen = 0
        self._random = random.Random(0)

    def add(self, item: Any) -> None:
        self.seen += 1
        if len(self.items) < self.size:
            self.items.append(item)
            return
        slot = self._random.randrange(self.seen)
        if slot < self.size:
            self.items[slot] = item


def estimate_items(
    labeler: Labeler,
    settings: Settings,
    project: ProjectRecord,
    sample: Sequence[dict[str, Any]],
    count: int,
) -> Estimate:
    spec = project.spec
    requests = labeler.requests_for(spec, list(sample))
    return estimate(
        spec,
        count=count,
        sample_requests=[request.messages for request in requests],
        sample_size=len(sample),
        price=price_for(spec.model, settings.prices),
        cascade_price=price_for(spec.cascade.model, settings.prices) if spec.cascade else None,
    )


def reserve_spend(
    session: Session,
    labeler: Labeler,
    settings: Settings,
    project: ProjectRecord,
    sample: Sequence[dict[str, Any]],
    count: int,
    *,
    batch_id: int | None = None,
    job_ids: Sequence[str] = (),
) -> None:
    """The one step every path takes before LLM spend (batches, sync labels, relabels): refuse
    `count` items (`sample`: the data of some of them) if they would take the project past its
    limit. Consensus samples and voters are in the estimate.

    Called once the items are written (and flushed) in the caller's transaction, so the
    project's row is the last lock it takes, as for the workers, whose spend updates lock
    their items first. The row stays locked until the caller commits: concurrent reservations
    are decided one after the other, each seeing the items the others committed (waiting items
    count at this request's cost per item). `batch_id`, `job_ids`: where this request's items
    were written, not to count them twice."""
    if project.spend_limit_usd is None:
        return
    check_priced(project, settings)
    batch = estimate_items(labeler, settings, project, sample, count)
    budget = lock_budget(session, project_id=project.id)
    if budget.limit_usd is None:
        return
    waiting = waiting_items(
        session, project_id=project.id, excluding_batch=batch_id, excluding_owners=job_ids
    )
    per_item = batch.cost_per_item_usd or 0.0
    committed = budget.spent_usd + waiting * per_item
    cost = batch.cost_usd or 0.0
    if committed + cost > budget.limit_usd:
        raise SpendLimitError(
            f"these {count} items would cost about ${cost:.4f} (estimated); the "
            f"project has spent ${budget.spent_usd:.4f} and has {waiting} items waiting (about "
            f"${waiting * per_item:.4f}), against its spend limit of ${budget.limit_usd:.4f}. "
            "Raise spend_limit_usd (an admin can) or send fewer items."
        )


def check_priced(project: ProjectRecord, settings: Settings) -> None:
    """A limit needs the model's price; and, since every call of an item is billed at the
    project model's price, consensus voters must cost the same, or a cheap price would stand for
    dear voters."""
    spec = project.spec
    price = price_for(spec.model, settings.prices)
    if price is None:
        raise ValidationFailedError(
            f"the project has a spend limit but no price is known for model "
            f"{spec.model.name!r}: set model.price, or list it in LABELWISE_PRICES"
        )
    if spec.cascade is not None and price_for(spec.cascade.model, settings.prices) is None:
        raise ValidationFailedError(
            f"the project has a spend limit but no price is known for its cascade model "
            f"{spec.cascade.model.name!r}: set cascade.model.price, or list it in LABELWISE_PRICES"
        )
    for voter in spec.consensus.models:
        if price_for(voter, settings.prices) != price:
            raise ValidationFailedError(
                f"under a spend limit, consensus voter {voter.name!r} must be priced like the "
                f"project's model {spec.model.name!r} (its calls are billed at that price)"
            )


def relabel_reservation(
    labeler: Labeler, settings: Settings, session: Session, team: str
) -> Reserve:
    """Relabels take the same budget step as new items, on a sample of the items redone."""

    def reserve(project_id: int, item_ids: list[int], job_ids: list[str]) -> None:
        project = get_project(session, team=team, project_id=project_id)
        sample = Reservoir()
        for item_id in item_ids:
            sample.add(item_id)
        data = item_data(session, item_ids=sample.items)
        reserve_spend(
            session,
            labeler,
            settings,
            project,
            data,
            len(item_ids),
            job_ids=job_ids,
        )

    return reserve
