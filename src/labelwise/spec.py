"""What a project asks for: the task, the model and the routing policy.

These models are the project's versioned definition. The API validates them on the way in; the
worker reads them back from the stored version to render prompts and route answers.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from labelwise.task_spec import FewShotExample, LabelDef, RatingScale, TaskSpec

OutputMode = Literal["json_schema", "tool", "json_object"]
ResultCache = Literal["off", "batch", "project"]

__all__ = [
    "FewShotExample",
    "LabelDef",
    "RatingScale",
    "TaskSpec",
]


class StrictModel(BaseModel):
    """Unknown fields are refused, so a misspelt setting fails loudly instead of being ignored.
    NaN and infinities are not JSON, and would pass `ge=0` and turn every sum they enter into NaN
    or inf."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


# Dollars per million tokens: a thousand times any model's price so far.
MAX_PRICE = 100_000.0


class Price(StrictModel):
    """US dollars per million tokens."""

    prompt: float = Field(default=0.0, ge=0, le=MAX_PRICE)
    cached_prompt: float | None = Field(default=None, ge=0, le=MAX_PRICE)
    completion: float = Field(default=0.0, ge=0, le=MAX_PRICE)


class ModelSpec(StrictModel):
    name: str = Field(min_length=1, max_length=200)
    base_url: str | None = None
    # The name of an environment variable holding the key, so no secret is stored in the database.
    api_key_env: str | None = None
    output_mode: OutputMode = "json_schema"
    temperature: float = Field(default=0.0, ge=0, le=2)
    max_tokens: int | None = Field(default=None, ge=1, le=32_000)
    # None: the operator's price table (LABELWISE_PRICES) for this model name.
    price: Price | None = None


class RoutingSpec(StrictModel):
    """One policy: a fixed `accept_threshold`; a `target_precision` for the accepted labels,
    certified on gold; or a `target_error` for the whole batch, certified on a uniform sample
    reviewers label first. `guarantee` is the probability with which a target holds."""

    accept_threshold: float | None = Field(default=None, ge=0, le=1)
    target_precision: float | None = Field(default=None, gt=0, le=1)
    target_error: float | None = Field(default=None, gt=0, lt=1)
    guarantee: float = Field(default=0.95, ge=0.5, lt=1)
    # With target_error: how many items of a batch the sample should hold (None: about
    # `labelwise.scoring.dataset_error.default_sample_size`).
    sample_size: int | None = Field(default=None, ge=1, le=1_000_000)
    # The share of accepted items sent to reviewers anyway, to measure the accepted precision.
    audit_rate: float = Field(default=0.0, ge=0, le=1)

    @model_validator(mode="after")
    def _exactly_one_policy(self) -> RoutingSpec:
        given = [self.accept_threshold, self.target_precision, self.target_error]
        if sum(value is not None for value in given) != 1:
            raise ValueError(
                "give exactly one of accept_threshold, target_precision or target_error"
            )
        if self.sample_size is not None and self.target_error is None:
            raise ValueError("sample_size applies to a target_error policy only")
        return self


class ReviewSpec(StrictModel):
    """How many reviewers decide an item, and how many of them must agree for it to be final.
    Without agreement once every reviewer has decided, an adjudicator decides."""

    reviewers_per_item: int = Field(default=1, ge=1, le=5)
    # Defaults to a majority of reviewers_per_item (both, for two).
    agreement: int | None = Field(default=None, ge=1, le=5)

    @model_validator(mode="after")
    def _agreement_possible(self) -> ReviewSpec:
        if self.agreement is not None and self.agreement > self.reviewers_per_item:
            raise ValueError("agreement cannot exceed reviewers_per_item")
        return self

    @property
    def needed(self) -> int:
        return self.agreement or self.reviewers_per_item // 2 + 1


ConsensusMethod = Literal["auto", "logprob", "agreement", "combined"]


class ConsensusSpec(StrictModel):
    """More answers per item: extra samples of the project's model and/or other models. Their
    agreement, and the answers combined, become scores beside the model's own logprob one."""

    samples: int = Field(default=0, ge=0, le=10)
    models: list[ModelSpec] = Field(default_factory=list, max_length=5)
    # Which score routes: `auto` takes the one that separates right from wrong best on gold.
    method: ConsensusMethod = "auto"

    @property
    def enabled(self) -> bool:
        return self.samples > 0 or bool(self.models)


class CascadeSpec(StrictModel):
    """A stronger model for what the project's model cannot settle: items whose confidence is
    below `escalate_below`, or without a usable answer, are labeled again by `model`, and its
    answer is theirs (`labelwise.labeling.cascade`)."""

    model: ModelSpec
    escalate_below: float = Field(default=0.9, gt=0, le=1)


# Until a project says otherwise, the model's answers this sure are accepted without review.
DEFAULT_ACCEPT_THRESHOLD = 0.8


def default_routing() -> RoutingSpec:
    return RoutingSpec(accept_threshold=DEFAULT_ACCEPT_THRESHOLD)


# A pairwise question is asked twice (the candidates swapped), so it goes one item per request.
PACKABLE_TASKS = {"classification", "spans", "extraction", "rating"}
CONSENSUS_TASKS = {"classification"}


class ProjectParts(StrictModel):
    """The parts of a project's definition, each valid on its own. The API's bodies for creating,
    editing and showing a project are built from these fields, so they cannot drift apart."""

    task: TaskSpec
    model: ModelSpec
    routing: RoutingSpec = Field(default_factory=default_routing)
    consensus: ConsensusSpec = Field(default_factory=ConsensusSpec)
    review: ReviewSpec = Field(default_factory=ReviewSpec)
    # Items with the same content under the same version are labeled once: within a batch
    # ("batch"), across the project's batches ("project"), or never reused ("off").
    result_cache: ResultCache = "project"
    # Items sent together in one request, each answered under its own id: fewer requests and
    # prompt tokens per item. What it does to accuracy shows in the quality report's gold.
    items_per_request: int = Field(default=1, ge=1, le=50)
    # A stronger model for the items the project's model cannot settle (None: none).
    cascade: CascadeSpec | None = None


class ProjectSpec(ProjectParts):
    """The versioned part of a project: its parts, checked against each other too."""

    @model_validator(mode="after")
    def _parts_fit_together(self) -> ProjectSpec:
        kind = self.task.type
        if self.items_per_request > 1 and self.consensus.enabled:
            raise ValueError("consensus asks about one item per request: set items_per_request 1")
        if self.items_per_request > 1 and kind not in PACKABLE_TASKS:
            raise ValueError(
                f"a {kind} task asks about one item per request: set items_per_request 1"
            )
        if self.consensus.enabled and self.routing.target_error is not None:
            raise ValueError(
                "a target_error cut is certified on one score, and consensus may change it: "
                "use target_precision or accept_threshold with consensus"
            )
        if self.consensus.enabled and kind not in CONSENSUS_TASKS:
            raise ValueError(f"consensus combines categories' votes: a {kind} task cannot use it")
        if self.cascade is not None:
            self._cascade_fits()
        return self

    def _cascade_fits(self) -> None:
        """A cascade escalates by one model's confidence, and the record tells which model
        settled an item by the model's name."""
        if self.consensus.enabled:
            raise ValueError(
                "cascade: a cascade escalates by one model's confidence, and consensus replaces "
                "it with votes: use either cascade or consensus"
            )
        if self.cascade is not None and self.cascade.model.name == self.model.name:
            raise ValueError(
                "cascade.model.name: the cascade's model must differ from the project's model "
                "(each prediction records, by name, which of the two settled it)"
            )

    @property
    def learns_from_gold(self) -> bool:
        """Whether gold changes how items route: a target precision's threshold, or which
        consensus score to route by."""
        return self.routing.target_precision is not None or self.consensus.enabled
