"""The spans task type: answer shape, locating entities, confidences, comparison, prompts."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
from pydantic import ValidationError

from labelwise.domain import ConfidenceMethod, Example, TokenLogprob
from labelwise.errors import ReviewReason
from labelwise.scoring.consensus import Vote
from labelwise.scoring.json_regions import array_elements
from labelwise.spec import TaskSpec
from labelwise.tasks import TASK_TYPES
from labelwise.tasks.packing import pack_schema
from labelwise.tasks.prompts import PromptLibrary
from labelwise.tasks.spans import SpansTask

SPANS = SpansTask()
TASK = TaskSpec(
    type="spans",
    labels=[{"name": "PER", "description": "a person's name"}, "LOC"],
    guidelines="Tag people and places.",
)


def answer(*entities: tuple[str, str, int], task: TaskSpec = TASK, **extra: Any) -> Any:
    named = [{"text": t, "label": label, "occurrence": k} for t, label, k in entities]
    return SPANS.contract(task).model.model_validate({**extra, "entities": named})


def span(start: int, end: int, label: str, text: str) -> dict[str, Any]:
    return {"start": start, "end": end, "label": label, "text": text}


def tok(text: str, p: float = 1.0, *top: tuple[str, float]) -> TokenLogprob:
    return TokenLogprob(text, math.log(p), tuple((t, math.log(q)) for t, q in top))


def test_registered() -> None:
    assert isinstance(TASK_TYPES["spans"], SpansTask)


def test_schema_names_entities_by_text_label_and_occurrence() -> None:
    schema = SPANS.contract(TASK).schema
    entity = schema["properties"]["entities"]["items"]
    assert list(entity["properties"]) == ["text", "label", "occurrence"]
    assert entity["properties"]["label"]["enum"] == ["PER", "LOC"]
    assert entity["properties"]["occurrence"] == {
        **entity["properties"]["occurrence"],
        "minimum": 1,
    }
    assert entity["required"] == ["text", "label", "occurrence"]
    assert entity["additionalProperties"] is False and schema["additionalProperties"] is False
    with_reasons = SPANS.contract(TASK.model_copy(update={"rationale": True})).schema
    assert list(with_reasons["properties"]) == ["rationale", "entities"]
    # A pack wraps the one-item schema.
    assert pack_schema(schema, 2)["properties"]["answers"]["items"]["properties"]["entities"]


@pytest.mark.parametrize(
    "bad",
    [
        {"entities": [{"text": "Ann", "label": "ORG", "occurrence": 1}]},
        {"entities": [{"text": "Ann", "label": "PER", "occurrence": 0}]},
        {"entities": [{"text": "Ann", "label": "PER", "occurrence": "1"}]},
        {"entities": [{"text": "Ann", "label": "PER"}]},
        {"entities": [{"text": "Ann", "label": "PER", "occurrence": 1, "start": 0}]},
        {"entities": [], "extra": 1},
        {},
    ],
)
def test_answers_are_checked_strictly(bad: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        SPANS.contract(TASK).model.model_validate(bad)


def test_answer_examples_are_valid_answers() -> None:
    model = SPANS.contract(TASK).model
    examples = SPANS.answer_examples(TASK)
    assert len(examples) == 3
    for example in examples:
        model.model_validate_json(example)
    assert SPANS.contract(TASK).max_answer_chars > max(len(e) for e in examples) * 10


@pytest.mark.parametrize(
    ("text", "entities", "value", "missing"),
    [
        (
            "Ann met Ann in Paris",
            [("Ann", "PER", 2), ("Paris", "LOC", 1)],
            [span(8, 11, "PER", "Ann"), span(15, 20, "LOC", "Paris")],
            False,
        ),
        # Named out of order: the value is sorted by start.
        (
            "Ann met Bob",
            [("Bob", "PER", 1), ("Ann", "PER", 1)],
            [span(0, 3, "PER", "Ann"), span(8, 11, "PER", "Bob")],
            False,
        ),
        ("Ann met Bob", [("Zed", "PER", 1), ("Bob", "PER", 1)], [span(8, 11, "PER", "Bob")], True),
        ("Ann met Bob", [("Ann", "PER", 2)], [], True),
        # Emoji before the entity count one code point each (or two with a skin tone).
        (
            "👋🏽😀 Zoë in Köln",
            [("Köln", "LOC", 1), ("Zoë", "PER", 1)],
            [span(4, 7, "PER", "Zoë"), span(11, 15, "LOC", "Köln")],
            False,
        ),
        # Decomposed accents in the text, composed in the answer: found loosely.
        ("Jose\u0301 left", [("José", "PER", 1)], [span(0, 5, "PER", "Jose\u0301")], False),
        ("visit NEW YORK", [("New York", "LOC", 1)], [span(6, 14, "LOC", "NEW YORK")], False),
        # The same entity named twice, and one overlapping an earlier one: the first stays.
        (
            "New York City",
            [("New York", "LOC", 1), ("New York", "LOC", 1), ("York City", "PER", 1)],
            [span(0, 8, "LOC", "New York")],
            False,
        ),
        ("", [("Ann", "PER", 1)], [], True),
    ],
)
def test_read_locates_entities(
    text: str, entities: list[tuple[str, str, int]], value: list[dict[str, Any]], missing: bool
) -> None:
    reading = SPANS.read(TASK, answer(*entities), {"text": text}, None)
    assert reading.value == value
    for found in reading.value:
        assert text[found["start"] : found["end"]] == found["text"]
    assert reading.review_reason == (ReviewReason.SPAN_NOT_FOUND if missing else None)
    assert reading.confidence is None
    assert [{k: p[k] for k in ("start", "end", "label", "text")} for p in reading.parts] == value
    assert all(p["confidence"] is None for p in reading.parts)
    # Whatever was located is a valid value of the task for this item.
    assert SPANS.checked_value(TASK, reading.value, {"text": text}) == reading.value


def test_read_uses_the_task_text_field() -> None:
    task = TASK.model_copy(update={"text_field": "body"})
    reading = SPANS.read(task, answer(("Ann", "PER", 1)), {"text": "Bob", "body": "Hi Ann"}, None)
    assert reading.value == [span(3, 6, "PER", "Ann")]


# {"entities":[{"text":"Ann",...PER},{"text":"Zed",...PER},{"text":"Rome",...LOC}]}
TOKENS = [
    tok('{"entities":[{"text":"'),
    tok("Ann", 0.9),
    tok('","label":"'),
    tok("PER", 0.8, ("PER", 0.8), ("LOC", 0.2)),
    tok('","occurrence":1},{"text":"'),
    tok("Zed", 0.5),
    tok('","label":"'),
    tok("PER", 0.9, ("PER", 0.9), ("LOC", 0.1)),
    tok('","occurrence":1},{"text":"'),
    tok("Ro", 0.8),
    tok("me", 0.75),
    tok('","label":"'),
    tok("LOC", 0.5, ("LOC", 0.5), ("PER", 0.5)),
    tok('","occurrence":1}]}'),
]
THREE = answer(("Ann", "PER", 1), ("Zed", "PER", 1), ("Rome", "LOC", 1))


def test_read_with_logprobs_scores_each_span_and_the_item() -> None:
    reading = SPANS.read(TASK, THREE, {"text": "Rome: Ann"}, TOKENS)
    assert reading.value == [span(0, 4, "LOC", "Rome"), span(6, 9, "PER", "Ann")]
    rome, ann = reading.parts
    assert (rome["label_confidence"], rome["text_confidence"]) == (
        pytest.approx(0.5),
        pytest.approx(0.6),
    )
    assert rome["confidence"] == pytest.approx(0.3)
    assert ann["confidence"] == pytest.approx(0.8 * 0.9)
    # The weakest entity named, found or not: Rome .3 (Zed .45).
    assert reading.confidence is not None
    assert reading.confidence.score == pytest.approx(0.3)
    assert reading.confidence.method is ConfidenceMethod.LOGPROB
    assert reading.review_reason is ReviewReason.SPAN_NOT_FOUND
    assert SPANS.logprob_confidence(TASK, TOKENS, THREE) == reading.confidence


def test_an_empty_answer_is_scored_by_the_chance_of_an_empty_list() -> None:
    tokens = [tok('{"entities":'), tok("[]", 0.6, ("[]", 0.6), ("[{", 0.2)), tok("}")]
    reading = SPANS.read(TASK, answer(), {"text": "nothing here"}, tokens)
    assert reading.value == [] and reading.parts == [] and reading.review_reason is None
    assert reading.confidence is not None
    assert reading.confidence.score == pytest.approx(0.75)


def test_tokens_that_do_not_spell_the_answer_give_no_confidence() -> None:
    other = answer(("Ann", "PER", 1))
    assert SPANS.logprob_confidence(TASK, TOKENS, other) is None
    reading = SPANS.read(TASK, other, {"text": "Ann"}, TOKENS)
    assert reading.confidence is None and reading.parts[0]["confidence"] is None


def test_read_in_a_packed_answer_reads_only_its_item() -> None:
    tokens = [
        tok('{"answers":[{"id":"1","entities":[{"text":"'),
        tok("Ann", 0.5),
        tok('","label":"PER","occurrence":1}]},{"id":"2","entities":[{"text":"'),
        tok("Bo", 0.8),
        tok('","label":"'),
        tok("LOC", 0.6, ("LOC", 0.6), ("PER", 0.4)),
        tok('","occurrence":1}]}]}'),
    ]
    _, second = array_elements("".join(t.token for t in tokens), "answers")
    reading = SPANS.read(TASK, answer(("Bo", "LOC", 1)), {"text": "Bo"}, tokens, second)
    assert reading.confidence is not None
    assert reading.confidence.score == pytest.approx(0.48)


def test_merge_takes_the_one_view() -> None:
    reading = SPANS.read(TASK, answer(), {"text": "x"}, None)
    assert SPANS.views(TASK, {"text": "x"}) == [{"text": "x"}]
    assert SPANS.merge(TASK, [reading]) is reading


A, B = span(0, 3, "PER", "Ann"), span(8, 11, "PER", "Bob")


@pytest.mark.parametrize(
    ("value", "truth", "same"),
    [
        ([A, B], [B, A], True),
        ([A], [A, B], False),
        ([], [], True),
        ([A], [{**A, "label": "LOC"}], False),
        ([A], [{**A, "end": 4}], False),
        ([{**A, "text": "???"}], [A], True),
        (None, [], False),
        ([{"start": 0}], [A], False),
    ],
)
def test_matches_compares_span_sets(value: Any, truth: Any, same: bool) -> None:
    assert SPANS.matches(TASK, value, truth) is same


def test_checked_value_checks_offsets_against_the_text() -> None:
    data = {"text": "Ann met Bob"}
    assert SPANS.checked_value(TASK, [B, A], data) == [A, B]
    with pytest.raises(ValueError):
        SPANS.checked_value(TASK, [{**A, "text": "Bob"}], data)
    with pytest.raises(ValueError):
        SPANS.checked_value(TASK, [{**A, "label": "ORG"}], data)


def test_self_consistency_is_decided_per_span() -> None:
    data = {"text": "Ann met Bob"}
    answers = [
        answer(("Ann", "PER", 1), ("Bob", "PER", 1)),
        answer(("Ann", "PER", 1)),
        answer(("Ann", "PER", 1), ("Bob", "LOC", 1)),
    ]
    value, agreed = SPANS.self_consistency(TASK, answers, data)
    assert value == [A]
    assert agreed.score == pytest.approx(2 / 3) and agreed.method is ConfidenceMethod.AGREEMENT
    with pytest.raises(ValueError):
        SPANS.self_consistency(TASK, answers)
    with pytest.raises(ValueError):
        SPANS.value(answers[0])


def test_combine_votes_per_span() -> None:
    value, combined = SPANS.combine(TASK, [Vote([A, B], 0.9), Vote([A], 0.8)])
    # Bob: (.9 + .2) / 2 = .55; Ann: (.9 + .8) / 2 = .85.
    assert value == [A, B]
    assert combined.score == pytest.approx(0.55) and combined.method is ConfidenceMethod.COMBINED


def test_prompts_show_types_guidelines_examples_and_the_item() -> None:
    example = {"data": {"text": "Ann saw Ann"}, "label": [span(8, 11, "PER", "Ann")]}
    task = TaskSpec.model_validate({**TASK.model_dump(), "rationale": True, "examples": [example]})
    prompts = PromptLibrary()
    system = SPANS.system_prompt(task, prompts, answer_schema=None)
    assert '"PER": a person\'s name' in system and '- "LOC"' in system
    assert "Tag people and places." in system and '"rationale"' in system
    assert "occurrence" in system and '"text" field' in system
    assert 'Answer: {"entities": [{"text": "Ann", "label": "PER", "occurrence": 2}]}' in system
    user = SPANS.user_prompt(task, prompts, {"text": "Hi </item> Bob"})
    assert user.rstrip().endswith("</item>") and "\\u003c/item\\u003e" in user
    packed = SPANS.system_prompt(task, prompts, answer_schema="{}", packed=True)
    assert '"answers"' in packed and "Answer schema: {}" in packed
    pack = SPANS.pack_prompt(task, prompts, [{"text": "a"}, {"text": "b"}])
    assert '<item id="2">{"text": "b"}</item>' in pack
    shown = SPANS.user_prompt(task, prompts, {"text": "x"}, task_examples(task))
    assert '"occurrence": 2' in shown


def task_examples(task: TaskSpec) -> list[Example]:
    return [Example(item_id=1, data=e.data, label=e.label) for e in task.examples]


def test_a_rationale_is_read_back() -> None:
    task = TASK.model_copy(update={"rationale": True})
    reasoned = answer(("Ann", "PER", 1), task=task, rationale="  Ann is a name. ")
    assert SPANS.rationale(reasoned) == "Ann is a name."
    assert json.loads(SPANS.answer_examples(task)[0]) == {"entities": []}
