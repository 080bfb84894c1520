"""Runtime configuration, read once from the environment (and a `.env`) at each entry point.

The `Settings` object is built by the CLI, the API factory or the worker start-up and passed down
explicitly; no component reads the environment by itself.
"""

from __future__ import annotations

from typing import Literal

from pydantic import AliasChoices, BaseModel, ConfigDict, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from labelwise.spec import Price

LLMTransport = Literal["aiohttp", "httpx"]


class RateLimitRule(BaseModel):
    """An operator's limit for a model (`"*"`: any model), at one endpoint or at all of them."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    model: str = "*"
    base_url: str | None = None
    requests_per_minute: int | None = Field(default=None, ge=1)
    tokens_per_minute: int | None = Field(default=None, ge=1)

    def matches(self, base_url: str, model: str) -> bool:
        same_url = self.base_url is None or self.base_url.rstrip("/") == base_url.rstrip("/")
        return same_url and self.model in ("*", model)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="LABELWISE_", env_file=".env", extra="ignore", frozen=True
    )

    # Where things live.
    database_url: str = "sqlite:///labelwise.db"
    redis_url: str = "redis://127.0.0.1:6379/0"
    queue_name: str = "labelwise"

    # The LLM endpoint: the OpenAI SDK's own variables, overridable per project.
    openai_base_url: str | None = Field(
        default=None, validation_alias=AliasChoices("LABELWISE_OPENAI_BASE_URL", "OPENAI_BASE_URL")
    )
    openai_api_key: str | None = Field(
        default=None, validation_alias=AliasChoices("LABELWISE_OPENAI_API_KEY", "OPENAI_API_KEY")
    )
    # Other endpoints a project's model.base_url may name (JSON list in the environment).
    allowed_llm_base_urls: list[str] = Field(default_factory=list)
    llm_transport: LLMTransport = "aiohttp"
    llm_timeout_seconds: float = 60.0
    llm_concurrency: int = Field(default=64, ge=1, le=4096)
    # The single layer that retries HTTP calls (the SDK's own retries are switched off).
    llm_max_attempts: int = Field(default=6, ge=1, le=20)
    llm_retry_max_wait_seconds: float = Field(default=30.0, gt=0)
    llm_retry_base_wait_seconds: float = Field(default=0.5, gt=0)
    # Schema re-asks are a second, smaller bound.
    llm_max_reasks: int = Field(default=1, ge=0, le=3)
    llm_top_logprobs: int = Field(default=10, ge=0, le=20)
    llm_agreement_samples: int = Field(default=5, ge=2, le=20)

    # Rate limits shared through Redis by every process, per endpoint and model
    # (`labelwise.llm.ratelimit`). Limits not listed are learned from x-ratelimit-* headers.
    shared_rate_limits: bool = True
    rate_limits: list[RateLimitRule] = Field(default_factory=list)
    # How much of a minute's allowance may go out at once.
    rate_limit_burst_seconds: float = Field(default=1.0, gt=0)
    # After a 429 halves the shared rate, the time it takes to climb back to the full rate.
    rate_limit_recovery_seconds: float = Field(default=30.0, gt=0)

    # US dollars per million tokens, by model name (JSON in the environment); a project's own
    # model.price comes first.
    prices: dict[str, Price] = Field(default_factory=dict)
    # What a provider's batch API charges against its online price (OpenAI's: half).
    batch_price_factor: float = Field(default=0.5, ge=0, le=1)

    # Fan-out and delivery leases.
    chunk_size: int = Field(default=100, ge=1, le=10_000)
    queued_lease_seconds: float = Field(default=1800.0, gt=0)
    work_lease_seconds: float = Field(default=120.0, gt=0)
    max_deliveries: int = Field(default=5, ge=1)
    reconcile_interval_seconds: float = Field(default=15.0, gt=0)
    result_flush_seconds: float = Field(default=0.25, gt=0)

    # Batch mode: items per provider batch (one upload each), and the window it may take.
    provider_batch_items: int = Field(default=5000, ge=1, le=50_000)
    provider_batch_window: str = Field(default="24h", pattern=r"^[1-9][0-9]*[hd]$")

    # Review.
    review_lease_seconds: float = Field(default=600.0, gt=0)

    # Request bounds.
    max_body_bytes: int = Field(default=50 * 1024 * 1024, ge=1024)
    max_items_per_batch: int = Field(default=100_000, ge=1)
    # An item's data as JSON: bounds the tokens one prompt can cost.
    max_item_bytes: int = Field(default=64 * 1024, ge=64)
    max_items_per_sync_call: int = Field(default=20, ge=1)
    max_page_size: int = Field(default=1000, ge=1)
    default_page_size: int = Field(default=100, ge=1)

    prompts_dir: str | None = None

    # The embedded model, started when no endpoint is configured.
    llama_server: str | None = None  # path of llama.cpp's server; default: the one setup built
    local_threads: int | None = Field(default=None, ge=1)
    local_parallel: int = Field(default=2, ge=1, le=16)
    local_context_tokens: int = Field(default=2048, ge=512)
