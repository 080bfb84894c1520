"""One shared OpenAI client per LLM endpoint per process, over the configured transport.

Clients are created on first use, one per (base_url, api key), and kept for the life of the
process so connections are pooled; `aclose()` closes them all. The SDK's own retries are off
(`labelwise.llm.retry` owns them) and the connection pool is sized to `llm_concurrency`.
"""

from __future__ import annotations

import os

import httpx
import httpx2
import openai

from labelwise.errors import LLMCallError
from labelwise.settings import Settings
from labelwise.spec import ModelSpec

OPENAI_BASE_URL = "https://api.openai.com/v1"
API_KEY_ENV_PREFIX = "LABELWISE_KEY_"
# Local servers (vLLM, llama.cpp, Ollama) need no key, but the SDK insists on one.
_NO_KEY = "unused"


def _same_url(a: str, b: str) -> bool:
    return a.rstrip("/") == b.rstrip("/")


def endpoint_problem(
    model: ModelSpec, settings: Settings, *, team: str | None = None
) -> str | None:
    """Why a project may not call this endpoint, or None.

    A project is written by a submitter, so what it may point the workers at is bounded by the
    operator: a `base_url` other than the deployment's must be on `allowed_llm_base_urls` (else a
    submitter could aim workers at internal addresses), and `api_key_env` must name a variable
    with the `LABELWISE_KEY_` prefix (else it could read any secret in the workers' environment)
    that the operator lists for the project's team in `api_key_envs` (else one team could bill
    its calls to another team's key). `team` is given when a project is saved.
    """
    if model.base_url is not None:
        allowed = [settings.openai_base_url or OPENAI_BASE_URL, *settings.allowed_llm_base_urls]
        if not any(_same_url(model.base_url, url) for url in allowed):
            return (
                f"model.base_url {model.base_url} is not allowed here: the operator lists the "
                "endpoints projects may use in LABELWISE_ALLOWED_LLM_BASE_URLS"
            )
    if model.api_key_env is not None and not model.api_key_env.startswith(API_KEY_ENV_PREFIX):
        return f"model.api_key_env must name a variable starting with {API_KEY_ENV_PREFIX}"
    if (
        model.api_key_env is not None
        and team is not None
        and model.api_key_env not in settings.api_key_envs.get(team, ())
    ):
        return (
            f"model.api_key_env {model.api_key_env} is not one your team may use: the operator "
            "lists each team's variables in LABELWISE_API_KEY_ENVS"
        )
    return None


class LLMClients:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._clients: dict[tuple[str, str], openai.AsyncOpenAI] = {}

    def for_model(self, model: ModelSpec) -> openai.AsyncOpenAI:
        base_url, api_key = self.endpoint(model)
        client = self._clients.get((base_url, api_key))
        if client is None:
            client = self._clients[(base_url, api_key)] = self._create(base_url, api_key)
        return client

    def endpoint(self, model: ModelSpec) -> tuple[str, str]:
        """The base URL and API key a project's model is called with."""
        problem = endpoint_problem(model, self.settings)
        if problem is not None:
            raise LLMCallError(problem, attempts=0)
        configured = self.settings.openai_base_url or OPENAI_BASE_URL
        base_url = model.base_url or self.settings.openai_base_url
        if model.api_key_env:
            # The one place a component reads the environment: a project names the variable that
            # holds its key so that no secret is stored in the database, and the key is read here,
            # in the process that makes the call, when its client is first created.
            api_key = os.environ.get(model.api_key_env)
            if not api_key:
                raise LLMCallError(
                    f"the project's model.api_key_env names {model.api_key_env}, which is not set",
                    attempts=0,
                )
        elif _same_url(base_url or OPENAI_BASE_URL, configured):
            secret = self.settings.openai_api_key
            api_key = secret.get_secret_value() if secret is not None else None
        else:
            # The deployment's key goes only to the deployment's endpoint, never elsewhere.
            api_key = None
        if api_key is None and base_url is None:
            raise LLMCallError(
                "no LLM endpoint configured: set OPENAI_BASE_URL (and OPENAI_API_KEY) "
                "or the project's model.base_url",
                attempts=0,
            )
        return base_url or OPENAI_BASE_URL, api_key or _NO_KEY

    def _create(self, base_url: str, api_key: str) -> openai.AsyncOpenAI:
        return openai.AsyncOpenAI(
            base_url=base_url,
            api_key=api_key,
            max_retries=0,
            timeout=self.settings.llm_timeout_seconds,
            http_client=self._http_client(),
        )

    def _http_client(self) -> httpx.AsyncClient | httpx2.AsyncClient:
        settings = self.settings
        size = settings.llm_concurrency
        if settings.llm_transport == "httpx":
            # A plain httpx client: the SDK accepts it, and respx can intercept it in tests.
            return httpx.AsyncClient(
                limits=httpx.Limits(max_connections=size, max_keepalive_connections=size),
                timeout=settings.llm_timeout_seconds,
            )
        # The SDK's aiohttp client subclasses httpx2.AsyncClient; its transport sizes aiohttp's
        # connector (`limit`) from `limits.max_connections`.
        return openai.DefaultAioHttpClient(
            limits=httpx2.Limits(max_connections=size, max_keepalive_connections=size),
            timeout=httpx2.Timeout(settings.llm_timeout_seconds),
        )

    async def aclose(self) -> None:
        clients, self._clients = list(self._clients.values()), {}
        for client in clients:
            await client.close()  # also closes the http client we passed in
