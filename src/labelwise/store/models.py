"""The tables. The database is the record: every item, prediction and label lives here.

Lease and claim times are stored as UNIX seconds (floats) so that the same comparison works the same
way on SQLite and PostgreSQL; creation times are timestamps for people to read.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# SQLite only auto-increments INTEGER PRIMARY KEY; PostgreSQL gets a BIGINT identity.
BigId = BigInteger().with_variant(Integer(), "sqlite")


def utcnow() -> datetime:
    return datetime.now(UTC)


# An item's final-label columns, emptied: for an item going back to review or to the model.
NO_LABEL: dict[str, Any] = {
    "label_value": None,
    "label_confidence": None,
    "label_source": None,
    "labeled_by": None,
    "labeled_at": None,
}


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JSON, Any: JSON}


class ApiKey(Base):
    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))
    team: Mapped[str] = mapped_column(String(200), index=True)
    # sha256 of the secret: keys are 256-bit random strings, so a fast hash is enough.
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # After this the key answers 401, like a revoked one; None: it does not expire.
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class BrowserSession(Base):
    """A signed-in browser: its cookie holds a random token, never the API key, so a session
    can end (sign-out, expiry, its key revoked) without touching the key, and a stolen cookie
    stops working when it does."""

    __tablename__ = "browser_sessions"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    # sha256 of the cookie's token: the table alone cannot sign anyone in.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    key_id: Mapped[int] = mapped_column(ForeignKey("api_keys.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[float] = mapped_column(Float)
    expires_at: Mapped[float] = mapped_column(Float)
    revoked_at: Mapped[float | None] = mapped_column(Float)


class Project(Base):
    __tablename__ = "projects"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    team: Mapped[str] = mapped_column(String(200), index=True)
    name: Mapped[str] = mapped_column(String(200))
    current_version: Mapped[int] = mapped_column(Integer, default=1)
    # US dollars this project may spend in all; batches that would pass it are refused.
    spend_limit_usd: Mapped[float | None] = mapped_column(Float, nullable=True)
    # What its LLM calls have cost, in all: only ever added to (`labelwise.store.spend`).
    spent_usd: Mapped[float] = mapped_column(Float, default=0.0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ProjectVersion(Base):
    __tablename__ = "project_versions"
    __table_args__ = (UniqueConstraint("project_id", "version"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(Integer)
    spec: Mapped[dict[str, Any]] = mapped_column(JSON)
    # The calibration this version routes by (`Calibration.to_json`), rewritten when its gold
    # changes; stale when reviewers added gold that a later pass has to take in.
    calibration: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    calibration_stale: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Batch(Base):
    __tablename__ = "batches"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    project_id: Mapped[int] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), index=True
    )
    team: Mapped[str] = mapped_column(String(200))
    received: Mapped[int] = mapped_column(Integer, default=0)
    created: Mapped[int] = mapped_column(Integer, default=0)
    # "online": labeled as soon as workers get to it; "batch": through the provider's batch API.
    mode: Mapped[str] = mapped_column(String(20), default="online", server_default="online")
    # With a dataset-error target: the sample's rate and, once reviewed, the certified cut
    # (`labelwise.domain.BatchGuarantee`); `awaiting_sample` while the sample is not reviewed.
    guarantee: Mapped[dict[str, Any] | None] = mapped_column(JSON(none_as_null=True))
    awaiting_sample: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Item(Base):
    __tablename__ = "items"
    __table_args__ = (
        # A re-post of the same external_id is the same item (NULLs never collide).
        UniqueConstraint("project_id", "external_id", name="uq_items_project_external_id"),
        Index("ix_items_batch_status", "batch_id", "status"),
        Index("ix_items_status_lease", "status", "lease_expires_at"),
        Index("ix_items_project_status", "project_id", "status", "id"),
        Index("ix_items_project_gold", "project_id", "gold"),
        Index("ix_items_project_content", "project_id", "content_hash"),
        Index("ix_items_review_order", "project_id", "status", "review_rank", "id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    batch_id: Mapped[int] = mapped_column(ForeignKey("batches.id", ondelete="CASCADE"))
    external_id: Mapped[str | None] = mapped_column(String(400))
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    # sha256 of the canonical JSON of `data`: items with the same content share a label.
    content_hash: Mapped[str | None] = mapped_column(String(64))
    # SQL NULL when absent (not JSON `null`), so `ground_truth IS NULL` means what it says.
    ground_truth: Mapped[Any | None] = mapped_column(JSON(none_as_null=True))
    # The true label is known: sent as ground_truth, or decided by a reviewer.
    gold: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    status: Mapped[str] = mapped_column(String(20), default="pending")
    reason: Mapped[str | None] = mapped_column(String(40))
    # Drawn into a random sample ("guarantee" or "audit") with this known probability: what
    # makes estimates from reviewed samples unbiased (`labelwise.quality.estimates`).
    sampled: Mapped[str | None] = mapped_column(String(20))
    sample_probability: Mapped[float | None] = mapped_column(Float)
    # The review queue serves the lowest rank first (`labelwise.scoring.routing.review_rank`).
    review_rank: Mapped[float | None] = mapped_column(Float)

    # Delivery lease: the RQ job that owns the item and until when.
    lease_owner: Mapped[str | None] = mapped_column(String(64))
    lease_expires_at: Mapped[float | None] = mapped_column(Float)
    deliveries: Mapped[int] = mapped_column(Integer, default=0)

    # The project version of the current prediction.
    version: Mapped[int | None] = mapped_column(Integer)

    # The final label (exactly one per item; written only by a conditional UPDATE).
    label_value: Mapped[Any | None] = mapped_column(JSON)
    label_confidence: Mapped[float | None] = mapped_column(Float)
    label_source: Mapped[str | None] = mapped_column(String(10))
    labeled_by: Mapped[str | None] = mapped_column(String(200))
    labeled_at: Mapped[float | None] = mapped_column(Float)

    # Review claim: a lease with a fencing token.
    claim_token: Mapped[str | None] = mapped_column(String(80))
    claimed_by: Mapped[int | None] = mapped_column(BigInteger)
    claim_expires_at: Mapped[float | None] = mapped_column(Float)
    claimed_at: Mapped[float | None] = mapped_column(Float)
    claim_fence: Mapped[int] = mapped_column(Integer, default=0)

    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Prediction(Base):
    __tablename__ = "predictions"
    __table_args__ = (UniqueConstraint("item_id", "version", name="uq_predictions_item_version"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"))
    batch_id: Mapped[int] = mapped_column(BigInteger, index=True)
    version: Mapped[int] = mapped_column(Integer)
    value: Mapped[Any | None] = mapped_column(JSON)
    confidence: Mapped[float | None] = mapped_column(Float)
    method: Mapped[str] = mapped_column(String(20))
    per_label: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # With consensus: {method: {"value", "confidence", "per_label"}} for every scoring method, so
    # the method that routes can change as gold shows which one is best.
    scores: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    model: Mapped[str] = mapped_column(String(200))
    prompt_tokens: Mapped[int] = mapped_column(Integer, default=0)
    cached_tokens: Mapped[int] = mapped_column(Integer, default=0)
    completion_tokens: Mapped[int] = mapped_column(Integer, default=0)
    cost_usd: Mapped[float] = mapped_column(Float, default=0.0)
    latency_ms: Mapped[int] = mapped_column(Integer, default=0)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error_kind: Mapped[str | None] = mapped_column(String(40))
    error_message: Mapped[str | None] = mapped_column(Text)
    rationale: Mapped[str | None] = mapped_column(Text)
    # Where the task type has parts (spans, fields, a rating's distribution, pairwise orders):
    # each with its own confidence.
    parts: Mapped[Any | None] = mapped_column(JSON(none_as_null=True))
    # A usable answer a human must still check (a span not found, pairwise orders disagreeing):
    # copies of this prediction go to review for the same reason.
    review_reason: Mapped[str | None] = mapped_column(String(40))
    # Copied from an earlier prediction for the same content and version: no LLM call was made.
    cache_hit: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


# An item's prediction under the item's own version: the one its label and its routing rest on.
CURRENT_PREDICTION = (Prediction.item_id == Item.id) & (Prediction.version == Item.version)
# What `Item.sampled` holds: how an item was drawn into a random sample.
SAMPLED_AUDIT = "audit"
SAMPLED_GUARANTEE = "guarantee"


class ReviewDecision(Base):
    """One reviewer's decision on one item. A reviewer decides an item at most once; the item's
    final label follows from its decisions (see `labelwise.review.verdict`)."""

    __tablename__ = "review_decisions"
    __table_args__ = (
        UniqueConstraint("item_id", "reviewer_id", name="uq_review_decisions_item_reviewer"),
        Index("ix_review_decisions_project_reviewer", "project_id", "reviewer_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"), index=True)
    project_id: Mapped[int] = mapped_column(BigInteger)
    reviewer_id: Mapped[int] = mapped_column(BigInteger)
    reviewer_name: Mapped[str] = mapped_column(String(200))
    value: Mapped[Any | None] = mapped_column(JSON(none_as_null=True))
    unlabelable: Mapped[bool] = mapped_column(Boolean, default=False)
    adjudication: Mapped[bool] = mapped_column(Boolean, default=False)
    # The item's review reason when this decision was made: undoing it puts that back (a
    # decision can move the item to `disagreement`).
    reason_before: Mapped[str | None] = mapped_column(String(40))
    # The claim it was made under, and until when it may be undone.
    claim_token: Mapped[str] = mapped_column(String(80))
    undo_until: Mapped[float] = mapped_column(Float)
    # When the reviewer took the item and when they decided, for items per hour.
    claimed_at: Mapped[float | None] = mapped_column(Float)
    decided_at: Mapped[float] = mapped_column(Float)


class ProviderBatch(Base):
    """Requests handed to a provider's batch API: which items each request carries, and where
    the provider's batch stands. Its items are leased to it (`lease_owner` = `owner`) until its
    results are in."""

    __tablename__ = "provider_batches"
    __table_args__ = (Index("ix_provider_batches_open", "finished_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    project_id: Mapped[int] = mapped_column(BigInteger)
    batch_id: Mapped[int] = mapped_column(BigInteger, index=True)
    version: Mapped[int] = mapped_column(Integer)
    base_url: Mapped[str] = mapped_column(String(500))
    provider_batch_id: Mapped[str] = mapped_column(String(200))
    input_file_id: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(40))
    # custom_id -> the ids of the items that request carries, in order.
    requests: Mapped[dict[str, Any]] = mapped_column(JSON)
    # An item's id -> the ids of identical items that take its label (the result cache).
    copies: Mapped[dict[str, Any]] = mapped_column(JSON)
    # What came back: answered, failed (sent online again), and how many were labeled.
    counts: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    submitted_at: Mapped[float] = mapped_column(Float)
    finished_at: Mapped[float | None] = mapped_column(Float, nullable=True)

    @property
    def owner(self) -> str:
        return f"provider-batch:{self.id}"
