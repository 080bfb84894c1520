"""Plain value types shared by the worker, the store and the API.

Nothing here does I/O; these are the nouns the rest of the package passes around.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import Enum
from typing import Any

from labelwise.errors import ReviewReason


class ItemStatus(str, Enum):
    PENDING = "pending"
    ACCEPTED = "accepted"
    REVIEW = "review"
    REVIEWED = "reviewed"
    FAILED = "failed"
    # Labeled, under a dataset-error target, waiting for its batch's sample to be reviewed:
    # neither accepted nor in review until the sample certifies a cut.
    HELD = "held"


class LabelSource(str, Enum):
    MODEL = "model"
    HUMAN = "human"


class ConfidenceMethod(str, Enum):
    LOGPROB = "logprob"
    # Self-consistency over repeated samples (`labelwise.scoring.self_consistency`); the stored
    # and reported name stays "agreement".
    AGREEMENT = "agreement"
    COMBINED = "combined"
    NONE = "none"


@dataclass(frozen=True)
class TokenLogprob:
    """One generated token, its log-probability, and the alternatives the provider listed."""

    token: str
    logprob: float
    top: tuple[tuple[str, float], ...] = ()


@dataclass(frozen=True)
class Usage:
    prompt_tokens: int = 0
    cached_tokens: int = 0
    completion_tokens: int = 0

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            self.prompt_tokens + other.prompt_tokens,
            self.cached_tokens + other.cached_tokens,
            self.completion_tokens + other.completion_tokens,
        )

    def __sub__(self, other: Usage) -> Usage:
        return Usage(
            self.prompt_tokens - other.prompt_tokens,
            self.cached_tokens - other.cached_tokens,
            self.completion_tokens - other.completion_tokens,
        )

    def shares(self, n: int) -> list[Usage]:
        """This usage split over `n` items that shared one request; the shares sum to it."""

        def split(total: int) -> list[int]:
            base, left = divmod(total, n)
            return [base + (1 if i < left else 0) for i in range(n)]

        parts = zip(
            split(self.prompt_tokens),
            split(self.cached_tokens),
            split(self.completion_tokens),
            strict=True,
        )
        return [Usage(*part) for part in parts]


@dataclass(frozen=True)
class Confidence:
    """A score in [0, 1] (None when it could not be computed) and how it was obtained."""

    score: float | None
    method: ConfidenceMethod
    per_label: dict[str, float] | None = None


@dataclass(frozen=True)
class Scored:
    """A value and its confidence under one scoring method (consensus keeps one per method)."""

    value: Any
    confidence: Confidence

    def to_json(self) -> dict[str, Any]:
        return {
            "value": self.value,
            "confidence": self.confidence.score,
            "per_label": self.confidence.per_label,
        }

    @classmethod
    def from_json(cls, method: str, stored: dict[str, Any]) -> Scored:
        confidence = Confidence(
            stored.get("confidence"), ConfidenceMethod(method), stored.get("per_label")
        )
        return cls(stored.get("value"), confidence)


@dataclass(frozen=True)
class RoutingDecision:
    status: ItemStatus
    reason: ReviewReason | None = None
    # Drawn into a random sample ("audit" or "guarantee") with this known probability.
    sampled: str | None = None
    sample_probability: float | None = None


@dataclass(frozen=True)
class BatchGuarantee:
    """A batch's dataset-error guarantee (`scoring.dataset_error`), stored on it as JSON: its
    sample's rate and, once reviewed, the cut it certified. `state`: "sampling", then
    "certified" (items at or above `cut` keep the model's label) or "uncertified" (all review)."""

    target_error: float
    guarantee: float
    population: int
    rate: float
    state: str = "sampling"
    cut: float | None = None
    error_bound: float | None = None
    sampled: int | None = None
    sampled_errors_kept: int | None = None

    @property
    def settled(self) -> bool:
        return self.state != "sampling"

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, stored: dict[str, Any]) -> BatchGuarantee:
        return cls(**stored)


@dataclass(frozen=True)
class GoldAdvice:
    """About `gold` gold items (drawn like those so far) would certify `coverage`, if the model
    kept the precision it shows."""

    coverage: float
    gold: int


@dataclass(frozen=True)
class Calibration:
    """The threshold a version routes by and what it is expected to deliver, or why there is none.
    `calibrated`: there was enough gold to judge; calibrated without a threshold, gold showed
    that none is certified and nothing is accepted. Stored on the version as JSON."""

    threshold: float | None
    expected_precision: float | None
    precision_interval: tuple[float, float] | None
    expected_coverage: float | None
    gold: int
    reason: str | None = None
    calibrated: bool = True
    # With consensus: the scoring method routing uses (see `labelwise.scoring.consensus`).
    confidence_method: str | None = None
    # The probability with which the threshold's precision reaches the target.
    guarantee: float | None = None
    # Without a threshold: how much more gold would certify which coverage.
    advice: tuple[GoldAdvice, ...] | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, stored: dict[str, Any]) -> Calibration:
        interval = stored.get("precision_interval")
        advice = stored.get("advice")
        return cls(
            **{
                **stored,
                "precision_interval": tuple(interval) if interval else None,
                "advice": tuple(GoldAdvice(**row) for row in advice) if advice else None,
            }
        )


@dataclass(frozen=True)
class RoutedItem:
    """An item whose standing rests on the model's score (accepted by the model, or waiting
    unclaimed in review for a low or uncalibrated score), with the prediction under it: what a
    new calibration may route again."""

    item_id: int
    status: ItemStatus
    reason: ReviewReason | None
    label_value: Any
    label_confidence: float | None
    value: Any
    confidence: float | None


@dataclass
class LabelOutcome:
    """Everything one labeling attempt produced for one item, success or failure."""

    item_id: int
    value: Any = None
    confidence: Confidence = field(default_factory=lambda: Confidence(None, ConfidenceMethod.NONE))
    usage: Usage = field(default_factory=Usage)
    model: str = ""
    latency_ms: int = 0
    attempts: int = 0
    error_reason: ReviewReason | None = None
    error_message: str | None = None
    rationale: str | None = None
    # With consensus: the value and confidence under each scoring method, by method name.
    alternatives: dict[str, Scored] = field(default_factory=dict)
    # Copied from an item with the same content: no LLM call was made for this one.
    cache_hit: bool = False
    # The part of `usage` answered through a provider's batch API.
    batch_usage: Usage = field(default_factory=Usage)
    # Where the task type has parts (spans, fields, a rating's distribution, pairwise orders):
    # each with its own confidence, JSON-serialisable.
    parts: Any = None
    # A usable answer a human must still check (spans not found, pairwise orders disagreeing):
    # the value is kept, and the item goes to review with this reason whatever its confidence.
    review_reason: ReviewReason | None = None
    # With a model cascade: what earlier steps cost; `usage` and `model` are the settling step.
    prior_cost_usd: float = 0.0


@dataclass(frozen=True)
class GoldRecord:
    """A gold item as one version (or one scoring method) labeled it: the model's value and
    confidence, and the truth. Whether the value is right is the task type's to say
    (`labelwise.tasks.matches`), so the record only carries what was stored."""

    value: Any
    confidence: float | None
    truth: Any
    # Where the task type has parts (a pairwise answer in each order): as stored with the value.
    parts: Any = None


@dataclass(frozen=True)
class Example:
    """A reviewed item shown to the model as a few-shot example."""

    item_id: int
    data: dict[str, Any]
    label: Any


@dataclass(frozen=True)
class OutcomeRow:
    """One finished item as it is written: where routing sent it, and the prediction that sent
    it there (value, score, usage and cost). Labeling produces it and the store writes it, so
    neither needs to know how the other works."""

    item_id: int
    batch_id: int
    version: int
    status: ItemStatus
    reason: ReviewReason | None
    value: Any
    confidence: float | None
    method: str
    per_label: dict[str, float] | None
    model: str
    prompt_tokens: int
    cached_tokens: int
    completion_tokens: int
    cost_usd: float
    latency_ms: int
    attempts: int
    error_message: str | None
    rationale: str | None
    scores: dict[str, Any] | None = None
    cache_hit: bool = False
    parts: Any = None
    # The task type's reason a human must check a usable answer (also in `reason` when it
    # routed the item), kept with the prediction so copies of it are routed the same way.
    review_reason: ReviewReason | None = None
    # Drawn into a random sample with a known probability (`RoutingDecision`); the place in the
    # review queue, lowest first (`scoring.routing.review_rank`).
    sampled: str | None = None
    sample_probability: float | None = None
    review_rank: float | None = None
