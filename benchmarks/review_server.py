"""The API on loopback over a scratch SQLite file, with items waiting in review: what the review
desk's benchmark and screenshot start from. Needs Redis, as the API does."""

from __future__ import annotations

import tempfile
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from sqlalchemy import select
from sqlalchemy.orm import Session

from labelwise.api.app import create_app
from labelwise.domain import ItemStatus, OutcomeRow
from labelwise.errors import ReviewReason
from labelwise.local.supervisor import free_port
from labelwise.settings import Settings
from labelwise.store.db import engine_for
from labelwise.store.keys import Role, create_key
from labelwise.store.labeling import record_outcomes
from labelwise.store.migrate import upgrade
from labelwise.store.models import Item

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]


@dataclass(frozen=True)
class InReview:
    """An item, and what the model said of it."""

    text: str
    value: Any = "positive"
    confidence: float = 0.55
    reason: ReviewReason = ReviewReason.LOW_CONFIDENCE
    rationale: str | None = None


@dataclass(frozen=True)
class ReviewQueue:
    url: str
    reviewer_key: str
    item_ids: list[int]
    engine: Any
    batch_id: int


@contextmanager
def serving_review_queue(
    task: dict[str, Any], waiting: Sequence[InReview]
) -> Iterator[ReviewQueue]:
    workdir = Path(tempfile.mkdtemp(prefix="labelwise-review-"))
    settings = Settings(
        database_url=f"sqlite:///{workdir / 'review.db'}",
        queue_name=f"review-{uuid.uuid4().hex[:8]}",
        openai_base_url="http://127.0.0.1:9/v1",
        openai_api_key="unused",
    )
    engine = engine_for(settings)
    upgrade(engine)
    with Session(engine) as session:
        admin = create_key(session, name="ada", role=Role.ADMIN, team="demo")
        reviewer = create_key(session, name="rita", role=Role.REVIEWER, team="demo")
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning")
    )
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.02)
    url = f"http://127.0.0.1:{port}"
    headers = {"Authorization": f"Bearer {admin}"}
    project = httpx.post(
        f"{url}/v1/projects",
        headers=headers,
        json={"name": "hotel-reviews", "task": task, "model": {"name": "gpt-4o-mini"}},
    ).json()
    batch = httpx.post(
        f"{url}/v1/projects/{project['id']}/batches",
        headers=headers,
        json={"items": [{"data": {"text": w.text}} for w in waiting]},
    ).json()
    with Session(engine) as session:
        ids = list(
            session.scalars(select(Item.id).where(Item.batch_id == batch["id"]).order_by(Item.id))
        )
    rows = [_in_review(item_id, batch["id"], w) for item_id, w in zip(ids, waiting, strict=True)]
    with engine.begin() as connection:
        record_outcomes(connection, rows, now=time.time())
    try:
        yield ReviewQueue(url, reviewer, ids, engine, batch["id"])
    finally:
        server.should_exit = True


def _in_review(item_id: int, batch_id: int, waiting: InReview) -> OutcomeRow:
    return OutcomeRow(
        item_id=item_id,
        batch_id=batch_id,
        version=1,
        status=ItemStatus.REVIEW,
        reason=waiting.reason,
        value=waiting.value,
        confidence=waiting.confidence,
        method="logprob",
        per_label=None,
        model="gpt-4o-mini",
        prompt_tokens=0,
        cached_tokens=0,
        completion_tokens=0,
        cost_usd=0.0,
        latency_ms=0,
        attempts=1,
        error_message=None,
        rationale=waiting.rationale,
    )
