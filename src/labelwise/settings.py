"""Runtime configuration, read once from the environment (and a `.env`) at each entry point.

The `Settings` object is built by the CLI, the API factory or the worker start-up and passed down
explicitly; no component reads the environment by itself.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Literal
from urllib.parse import urlsplit, urlunsplit

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, SecretStr
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
    # PostgreSQL's connection pool, per process. Each API request holds at most one connection;
    # a request that waits `db_pool_timeout_seconds` for one is answered 503 with Retry-After.
    db_pool_size: int = Field(default=10, ge=1, le=1000)
    db_max_overflow: int = Field(default=30, ge=0, le=1000)
    db_pool_timeout_seconds: float = Field(default=5.0, gt=0, le=300)
    redis_url: str = "redis://127.0.0.1:6379/0"
    queue_name: str = "labelwise"

    # The LLM endpoint: the OpenAI SDK's own variables, overridable per project.
    openai_base_url: str | None = Field(
        default=None, validation_alias=AliasChoices("LABELWISE_OPENAI_BASE_URL", "OPENAI_BASE_URL")
    )
    # A secret: `repr(settings)` and logs show it as '**********'.
    openai_api_key: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("LABELWISE_OPENAI_API_KEY", "OPENAI_API_KEY")
    )
    # Other endpoints a project's model.base_url may name (JSON list in the environment).
    allowed_llm_base_urls: list[str] = Field(default_factory=list)
    # The variables each team's projects may name as model.api_key_env (JSON object in the
    # environment: {"team": ["LABELWISE_KEY_TEAM"]}); none for a team not listed.
    api_key_envs: dict[str, list[str]] = Field(default_factory=dict)
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
    # On SIGTERM a worker takes no new chunk and gives the one it runs this long to finish; then
    # it writes what is done and hands the rest back to the queue at once. The API drains its
    # requests for as long. Keep it below the orchestrator's kill deadline (Kubernetes'
    # terminationGracePeriodSeconds, Compose's stop_grace_period) with a few seconds to spare.
    stop_grace_seconds: float = Field(default=20.0, ge=0, le=3600)

    # Batch mode: items per provider batch (one upload each), and the window it may take.
    provider_batch_items: int = Field(default=5000, ge=1, le=50_000)
    provider_batch_window: str = Field(default="24h", pattern=r"^[1-9][0-9]*[hd]$")

    # Review.
    review_lease_seconds: float = Field(default=600.0, gt=0)
    # Gold a version's calibration is computed on: its most recent gold items, at most this many,
    # so a recalibration after each write of gold reads a bounded amount however large the
    # project grows.
    calibration_max_gold: int = Field(default=20_000, ge=1)

    # Browser sessions: how long a sign-in lasts (never past its key's expiry), and the cookies'
    # Secure flag (None: set when the request came over https; true behind a TLS proxy).
    session_ttl_seconds: float = Field(default=12 * 3600.0, gt=0, le=90 * 86400)
    cookie_secure: bool | None = None

    # Requests per API key, shared by every API process through Redis (429 past them), and the
    # wrong keys a client may send in a minute before its wrong keys get 429 for the rest of it.
    api_requests_per_second: float = Field(default=50.0, gt=0)
    api_burst: int = Field(default=200, ge=1)
    auth_failures_per_minute: int = Field(default=20, ge=1)
    # The proxies whose X-Forwarded-For/-Proto the API believes (comma-separated addresses or
    # networks, "*" for any): behind a load balancer, its address, or every client shares one.
    forwarded_allow_ips: str = "127.0.0.1"
    # `/metrics` answers requests with this bearer token; without one, loopback clients only.
    metrics_token: SecretStr | None = None

    # Request bounds. Past `max_concurrent_requests` in flight, the API answers 503 at once.
    max_concurrent_requests: int = Field(default=512, ge=1)
    max_body_bytes: int = Field(default=50 * 1024 * 1024, ge=1024)
    max_items_per_batch: int = Field(default=100_000, ge=1)
    # An item's data as JSON: bounds the tokens one prompt can cost. Its ground_truth too.
    max_item_bytes: int = Field(default=64 * 1024, ge=64)
    # Arrays and objects nested in one JSON document (a body, an NDJSON line); a deeper one is
    # refused before it is parsed (Python's parser recurses once per level).
    max_json_depth: int = Field(default=32, ge=4, le=200)
    max_items_per_sync_call: int = Field(default=20, ge=1)
    max_page_size: int = Field(default=1000, ge=1)
    default_page_size: int = Field(default=100, ge=1)

    prompts_dir: str | None = None

    # The embedded model, started when no endpoint is configured.
    llama_server: str | None = None  # path of llama.cpp's server; default: the one setup built
    local_threads: int | None = Field(default=None, ge=1)
    local_parallel: int = Field(default=2, ge=1, le=16)
    local_context_tokens: int = Field(default=2048, ge=512)

    # Logs: "json" writes one object a line (time, level, logger, message, and the request,
    # batch, job and item ids known where the line was written), for a log pipeline to index.
    log_format: Literal["text", "json"] = "text"
    log_level: str = Field(default="WARNING", pattern=r"(?i)^(debug|info|warning|error)$")
    # Each worker serves its Prometheus metrics here (0: not at all). The address is loopback by
    # default: in a pod, 0.0.0.0, so the scraper can reach it. `labelwise up` gives its N workers
    # this port, the next one, and so on.
    worker_metrics_port: int = Field(default=9108, ge=0, le=65535)
    worker_metrics_address: str = "127.0.0.1"

    def __repr_args__(self) -> Iterator[tuple[str | None, Any]]:
        """Connection URLs may carry passwords: shown without them."""
        for name, value in super().__repr_args__():
            if name in ("database_url", "redis_url") and isinstance(value, str):
                value = without_password(value)
            yield name, value


def without_password(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))
