from __future__ import annotations

import asyncio

import pytest
from pydantic import BaseModel

from labelwise.errors import LabelingError
from labelwise.labeling.asking import Asker, sampling_request
from labelwise.llm.call import StructuredAnswer, StructuredRequest


class Answer(BaseModel):
    label: str


def request(temperature: float) -> StructuredRequest:
    return StructuredRequest(
        model="m",
        messages=[{"role": "user", "content": "x"}],
        mode="json_schema",
        schema={},
        answer_model=Answer,
        temperature=temperature,
        max_tokens=10,
        top_logprobs=5,
    )


@pytest.mark.parametrize(
    ("temperature", "with_logprobs", "expected_temperature", "expected_top_logprobs"),
    [
        (0.0, True, 0.7, 5),
        (0.0, False, 0.7, None),
        (0.69, False, 0.7, None),
        (1.0, True, 1.0, 5),
        (1.5, False, 1.5, None),
    ],
)
def test_sampling_request(
    temperature: float,
    with_logprobs: bool,
    expected_temperature: float,
    expected_top_logprobs: int | None,
) -> None:
    original = request(temperature)
    sample = sampling_request(original, with_logprobs=with_logprobs)
    assert sample.temperature == expected_temperature
    assert sample.top_logprobs == expected_top_logprobs
    assert sample.messages == original.messages and sample.max_tokens == original.max_tokens


def answered(label: str) -> StructuredAnswer:
    return StructuredAnswer(Answer(label=label), None, "m")


async def succeeds(label: str) -> StructuredAnswer:
    return answered(label)


async def fails(exc: BaseException) -> StructuredAnswer:
    raise exc


async def test_failed_extra_answers_are_left_out() -> None:
    answers = await Asker.answered(
        [
            succeeds("a"),
            fails(LabelingError("bad answer")),
            fails(RuntimeError("surprise")),
            succeeds("b"),
        ]
    )
    assert [answer.answer for answer in answers] == [Answer(label="a"), Answer(label="b")]


async def test_cancellation_is_not_swallowed() -> None:
    with pytest.raises(asyncio.CancelledError):
        await Asker.answered([succeeds("a"), fails(asyncio.CancelledError())])
