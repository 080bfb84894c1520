from __future__ import annotations

import httpx
import openai
import pytest

from labelwise.errors import LLMCallError
from labelwise.llm.client import LLMClients, endpoint_problem
from labelwise.spec import ModelSpec
from tests.llm.fakes import BASE_URL, llm_settings


def test_endpoint_from_settings() -> None:
    clients = LLMClients(llm_settings())
    assert clients.endpoint(ModelSpec(name="m")) == (BASE_URL, "test-key")


def test_project_base_url_overrides_and_local_servers_need_no_key() -> None:
    settings = llm_settings(
        openai_base_url=None,
        openai_api_key=None,
        allowed_llm_base_urls=["http://vllm.local:8000/v1"],
    )
    model = ModelSpec(name="m", base_url="http://vllm.local:8000/v1/")
    assert LLMClients(settings).endpoint(model) == ("http://vllm.local:8000/v1/", "unused")


@pytest.mark.parametrize(
    ("model", "allowed", "problem"),
    [
        (ModelSpec(name="m"), [], None),
        (ModelSpec(name="m", base_url=BASE_URL), [], None),
        (ModelSpec(name="m", base_url="http://10.0.0.5/v1"), [], "not allowed"),
        (ModelSpec(name="m", base_url="http://10.0.0.5/v1"), ["http://10.0.0.5/v1"], None),
        (ModelSpec(name="m", api_key_env="DATABASE_PASSWORD"), [], "LABELWISE_KEY_"),
        (ModelSpec(name="m", api_key_env="LABELWISE_KEY_ACME"), [], None),
    ],
)
def test_what_a_project_may_point_workers_at(
    model: ModelSpec, allowed: list[str], problem: str | None
) -> None:
    found = endpoint_problem(model, llm_settings(allowed_llm_base_urls=allowed))
    assert (found is None) if problem is None else (problem in (found or ""))


def test_the_deployment_key_never_goes_to_another_endpoint() -> None:
    settings = llm_settings(allowed_llm_base_urls=["http://other.test/v1"])
    model = ModelSpec(name="m", base_url="http://other.test/v1")
    assert LLMClients(settings).endpoint(model) == ("http://other.test/v1", "unused")
    with pytest.raises(LLMCallError, match="not allowed"):
        LLMClients(settings).endpoint(ModelSpec(name="m", base_url="http://evil.test/v1"))


def test_project_key_comes_from_the_named_environment_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("LABELWISE_KEY_ACME", "sk-acme")
    clients = LLMClients(llm_settings())
    assert clients.endpoint(ModelSpec(name="m", api_key_env="LABELWISE_KEY_ACME"))[1] == "sk-acme"


def test_a_named_but_unset_key_variable_is_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LABELWISE_KEY_ACME", raising=False)
    with pytest.raises(LLMCallError, match="LABELWISE_KEY_ACME"):
        LLMClients(llm_settings()).for_model(ModelSpec(name="m", api_key_env="LABELWISE_KEY_ACME"))


def test_no_endpoint_at_all_is_an_error() -> None:
    clients = LLMClients(llm_settings(openai_base_url=None, openai_api_key=None))
    with pytest.raises(LLMCallError, match="no LLM endpoint configured"):
        clients.for_model(ModelSpec(name="m"))


def test_a_key_alone_means_openai() -> None:
    clients = LLMClients(llm_settings(openai_base_url=None, openai_api_key="sk-x"))
    assert clients.endpoint(ModelSpec(name="m")) == ("https://api.openai.com/v1", "sk-x")


async def test_one_shared_client_per_endpoint_without_sdk_retries() -> None:
    clients = LLMClients(
        llm_settings(
            llm_concurrency=7,
            llm_timeout_seconds=12.0,
            allowed_llm_base_urls=["http://other.test/v1"],
        )
    )
    first = clients.for_model(ModelSpec(name="a"))
    assert clients.for_model(ModelSpec(name="b")) is first
    other = clients.for_model(ModelSpec(name="a", base_url="http://other.test/v1"))
    assert other is not first
    assert first.max_retries == 0
    assert first.timeout == 12.0
    http = first._client
    assert isinstance(http, httpx.AsyncClient)  # respx can intercept it
    pool = http._transport._pool  # type: ignore[attr-defined]
    assert pool._max_connections == 7
    await clients.aclose()
    assert first.is_closed() and other.is_closed()


async def test_aiohttp_transport_pool_is_sized_to_concurrency() -> None:
    clients = LLMClients(llm_settings(llm_transport="aiohttp", llm_concurrency=9))
    client = clients.for_model(ModelSpec(name="m"))
    assert isinstance(client._client, openai.DefaultAioHttpClient)
    assert client._client._transport.limits.max_connections == 9  # type: ignore[attr-defined]
    assert client.max_retries == 0
    await clients.aclose()
    assert client.is_closed()
