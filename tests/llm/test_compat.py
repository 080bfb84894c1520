"""Provider quirks: parameters an endpoint's model refused, dropped from later requests to that
endpoint's model only."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any, Literal

import httpx
import openai
import pytest
import respx
from pydantic import BaseModel

from labelwise.llm.call import StructuredRequest, call_structured
from labelwise.llm.client import LLMClients
from labelwise.llm.compat import ProviderQuirks
from labelwise.llm.meter import CallMeter
from labelwise.spec import ModelSpec
from tests.llm.fakes import BASE_URL, answer, error, llm_settings, sent_json

OTHER_URL = "http://other.test/v1"
SENT = {"max_tokens": 40, "temperature": 0.0, "logprobs": True, "top_logprobs": 5}


def rejection(message: str, url: str = BASE_URL) -> openai.BadRequestError:
    request = httpx.Request("POST", f"{url}/chat/completions")
    response = httpx.Response(400, request=request)
    return openai.BadRequestError(message, response=response, body=None)


@pytest.mark.parametrize(
    ("message", "learned", "sent_after"),
    [
        (
            "Unsupported parameter: 'logprobs' is not supported with this model.",
            True,
            {"max_tokens": 40, "temperature": 0.0},
        ),
        (
            "Unsupported parameter: 'max_tokens'; use 'max_completion_tokens'.",
            True,
            {"max_completion_tokens": 40, "temperature": 0.0, "logprobs": True, "top_logprobs": 5},
        ),
        ("messages: too long", False, SENT),
    ],
)
def test_a_rejected_parameter_is_learned_for_its_endpoint(
    message: str, learned: bool, sent_after: dict[str, Any]
) -> None:
    quirks = ProviderQuirks()
    assert quirks.learn(BASE_URL, "m", rejection(message), SENT) is learned
    assert quirks.adjust(BASE_URL, "m", SENT) == sent_after
    # The same endpoint however its URL ends; another endpoint or model learned nothing.
    assert quirks.adjust(f"{BASE_URL}/", "m", SENT) == sent_after
    assert quirks.adjust(OTHER_URL, "m", SENT) == SENT
    assert quirks.adjust(BASE_URL, "other-model", SENT) == SENT


def test_what_is_not_a_bad_request_teaches_nothing() -> None:
    quirks = ProviderQuirks()
    assert quirks.learn(BASE_URL, "m", RuntimeError("logprobs"), SENT) is False
    assert quirks.learn(BASE_URL, "m", None, SENT) is False
    assert quirks.adjust(BASE_URL, "m", SENT) == SENT


class Label(BaseModel):
    label: Literal["positive", "negative"]


def labeling_request() -> StructuredRequest:
    return StructuredRequest(
        model="test-model",
        messages=[{"role": "user", "content": "item"}],
        mode="json_schema",
        schema=Label.model_json_schema(),
        answer_model=Label,
        temperature=0.0,
        max_tokens=40,
        top_logprobs=5,
    )


def refuses_logprobs(request: httpx.Request) -> httpx.Response:
    if "logprobs" in json.loads(request.content):
        return error(400, "Unsupported parameter: 'logprobs' is not supported with this model.")
    return answer({"label": "positive"})


@pytest.fixture
def two_endpoints() -> Iterator[tuple[respx.Route, respx.Route]]:
    """One model name at two endpoints: the first refuses logprobs, the second takes them."""
    with respx.mock(assert_all_called=False) as router:
        strict = router.post(f"{BASE_URL}/chat/completions").mock(side_effect=refuses_logprobs)
        lenient = router.post(f"{OTHER_URL}/chat/completions").mock(
            return_value=answer({"label": "positive"})
        )
        yield strict, lenient


async def test_two_endpoints_serving_one_model_name_keep_separate_quirks(
    two_endpoints: tuple[respx.Route, respx.Route],
) -> None:
    strict, lenient = two_endpoints
    settings = llm_settings(allowed_llm_base_urls=[OTHER_URL])
    clients = LLMClients(settings)
    quirks = ProviderQuirks()
    request = labeling_request()
    for base_url in (BASE_URL, OTHER_URL, BASE_URL):
        client = clients.for_model(ModelSpec(name="test-model", base_url=base_url))
        await call_structured(client, request, settings=settings, meter=CallMeter(), quirks=quirks)
    await clients.aclose()
    # The first endpoint refused once, then was asked without logprobs; the second endpoint,
    # same model name, was still asked with them.
    assert ["logprobs" in sent_json(call) for call in strict.calls] == [True, False, False]
    assert [sent_json(call)["logprobs"] for call in lenient.calls] == [True]
