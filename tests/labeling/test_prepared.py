from __future__ import annotations

from typing import Any

import pytest

from labelwise.labeling.prepared import MAX_TOKENS_MARGIN, answer_max_tokens, prepare, task_type_of
from labelwise.spec import ModelSpec, ProjectSpec
from labelwise.tasks.packing import PackAnswer, pack_max_chars
from labelwise.tasks.prompts import PromptLibrary


def project(**spec: Any) -> ProjectSpec:
    return ProjectSpec.model_validate(
        {
            "task": {"labels": ["positive", "negative"], "guidelines": "Label the review."},
            "model": {"name": "test-model"},
            **spec,
        }
    )


@pytest.mark.parametrize(
    ("set_max_tokens", "max_answer_chars", "pack_size", "expected"),
    [
        (None, 20, None, 20 + MAX_TOKENS_MARGIN),
        (300, 20, None, 300),
        (None, 20, 3, pack_max_chars(20, 3) + MAX_TOKENS_MARGIN),
        (100, 20, 3, 300),
        (None, 20, 1, pack_max_chars(20, 1) + MAX_TOKENS_MARGIN),
    ],
)
def test_answer_max_tokens(
    set_max_tokens: int | None, max_answer_chars: int, pack_size: int | None, expected: int
) -> None:
    assert answer_max_tokens(set_max_tokens, max_answer_chars, pack_size) == expected


def test_one_item_asks_for_the_contracts_answer() -> None:
    spec = project()
    prepared = prepare(spec, spec.model, PromptLibrary(), packed=False)
    contract = task_type_of(spec).contract(spec.task)
    assert prepared.schema == contract.schema
    assert prepared.answer_model is prepared.contract.model
    assert prepared.max_tokens == contract.max_answer_chars + MAX_TOKENS_MARGIN
    assert "Label the review." in prepared.system_prompt
    assert "Answer schema: " not in prepared.system_prompt


def test_a_pack_asks_for_a_full_pack_of_answers() -> None:
    spec = project(items_per_request=4)
    prepared = prepare(spec, spec.model, PromptLibrary(), packed=True)
    contract = prepared.contract
    assert prepared.answer_model is PackAnswer
    element = prepared.schema["properties"]["answers"]["items"]
    assert element["properties"]["id"]["enum"] == ["1", "2", "3", "4"]
    assert prepared.max_tokens == pack_max_chars(contract.max_answer_chars, 4) + MAX_TOKENS_MARGIN


def test_the_model_asked_decides_the_mode_and_budget() -> None:
    spec = project()
    voter = ModelSpec(name="other-model", output_mode="json_object", max_tokens=50)
    prepared = prepare(spec, voter, PromptLibrary(), packed=False)
    assert prepared.max_tokens == 50
    assert "Answer schema: " in prepared.system_prompt


def test_an_unknown_task_type_is_refused() -> None:
    spec = project()
    unknown = spec.model_copy(update={"task": spec.task.model_copy(update={"type": "ranking"})})
    with pytest.raises(ValueError, match="unknown task type 'ranking'"):
        task_type_of(unknown)
