"""Several items per request: the answer's schema, and reading each item's answer out of it."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest

from labelwise.domain import TokenLogprob, Usage
from labelwise.scoring.confidence import label_choice_confidence
from labelwise.scoring.json_regions import ROOT, array_elements
from labelwise.spec import TaskSpec
from labelwise.tasks.classification import ClassificationTask, single_label_schema
from labelwise.tasks.packing import PackAnswer, item_ids, pack_schema, unpack

TASK = TaskSpec(labels=["positive", "negative"])
ITEM_MODEL = ClassificationTask().contract(TASK).model


def test_pack_schema_puts_the_id_first_and_depends_only_on_the_size() -> None:
    schema = pack_schema(single_label_schema(["positive", "negative"]), 3)
    element = schema["properties"]["answers"]["items"]
    assert list(element["properties"]) == ["id", "label"]
    assert element["properties"]["id"]["enum"] == ["1", "2", "3"]
    assert element["required"] == ["id", "label"]
    assert element["additionalProperties"] is False
    assert schema == pack_schema(single_label_schema(["positive", "negative"]), 3)


def answer_of(elements: list[Any]) -> PackAnswer:
    return PackAnswer.model_validate({"answers": elements})


@pytest.mark.parametrize(
    ("elements", "answered"),
    [
        # Every item answered, in any order.
        (
            [{"id": "2", "label": "negative"}, {"id": "1", "label": "positive"}],
            {"1", "2"},
        ),
        # A label outside the set, a wrong shape, an unknown id: those items stay unanswered.
        ([{"id": "1", "label": "maybe"}, {"id": "2", "label": "positive"}], {"2"}),
        ([["1", "positive"], {"id": "2", "label": "negative"}], {"2"}),
        ([{"id": "7", "label": "positive"}, {"id": 1, "label": "positive"}], set()),
        # Extra keys are not tolerated (the item model is strict).
        ([{"id": "1", "label": "positive", "why": "x"}], set()),
        # An item answered twice: which answer was meant cannot be known.
        ([{"id": "1", "label": "positive"}, {"id": "1", "label": "negative"}], set()),
        ([], set()),
    ],
)
def test_unpack_keeps_only_well_formed_answers(elements: list[Any], answered: set[str]) -> None:
    found = unpack(answer_of(elements), size=3, item_model=ITEM_MODEL, content=None)
    assert set(found) == answered
    for item_id, item in found.items():
        given = next(e for e in elements if isinstance(e, dict) and e.get("id") == item_id)
        assert item.answer.model_dump() == {"label": given["label"]}
        assert item.region is None


def tokens_for(text: str, probs: dict[int, float]) -> list[TokenLogprob]:
    """One token per character; at the offsets in `probs`, the label's first letter competes
    with the other label's."""
    tokens = []
    for offset, char in enumerate(text):
        if offset in probs:
            p = probs[offset]
            other = "n" if char == "p" else "p"
            top = ((char, math.log(p)), (other, math.log(1 - p)))
            tokens.append(TokenLogprob(char, math.log(p), top))
        else:
            tokens.append(TokenLogprob(char, 0.0))
    return tokens


def test_each_item_confidence_is_read_from_its_own_element() -> None:
    text = json.dumps(
        {"answers": [{"id": "1", "label": "positive"}, {"id": "2", "label": "negative"}]}
    )
    starts = [i + 1 for i in range(len(text)) if text.startswith('"positive"', i)] + [
        i + 1 for i in range(len(text)) if text.startswith('"negative"', i)
    ]
    tokens = tokens_for(text, {starts[0]: 0.9, starts[1]: 0.7})
    regions = array_elements(text, "answers")
    assert [text[r.start : r.end] for r in regions] == [
        '{"id": "1", "label": "positive"}',
        '{"id": "2", "label": "negative"}',
    ]
    found = unpack(
        answer_of(json.loads(text)["answers"]), size=2, item_model=ITEM_MODEL, content=text
    )
    labels = ["positive", "negative"]
    read = {
        item_id: label_choice_confidence(
            tokens, key="label", labels=labels, chosen=item.answer.label, region=item.region
        )
        for item_id, item in found.items()
    }
    assert read == {"1": pytest.approx(0.9), "2": pytest.approx(0.7)}
    # The whole answer, read as if it were one item's, has no root "label" to find.
    assert (
        label_choice_confidence(tokens, key="label", labels=labels, chosen="positive", region=ROOT)
        is None
    )


def test_array_elements_stop_at_a_truncated_tail() -> None:
    text = '{"answers": [{"id": "1", "label": "a]}"}, {"id": "2", "lab'
    regions = array_elements(text, "answers")
    assert [text[r.start : r.end] for r in regions] == ['{"id": "1", "label": "a]}"}']
    assert array_elements('{"other": []}', "answers") == []


@pytest.mark.parametrize("n", [1, 3, 4, 10])
def test_usage_shares_sum_to_the_whole(n: int) -> None:
    usage = Usage(prompt_tokens=1003, cached_tokens=512, completion_tokens=47)
    shares = usage.shares(n)
    assert len(shares) == n
    assert sum(shares, Usage()) == usage
    assert max(s.prompt_tokens for s in shares) - min(s.prompt_tokens for s in shares) <= 1


def test_item_ids_are_positions() -> None:
    assert item_ids(3) == ["1", "2", "3"]
