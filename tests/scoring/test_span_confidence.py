"""Entity confidences from logprobs, hand-computed: label x text, and an empty list's."""

from __future__ import annotations

import math

import pytest

from labelwise.domain import TokenLogprob
from labelwise.scoring.json_regions import ROOT, array_elements
from labelwise.scoring.span_confidence import (
    EntityConfidence,
    empty_list_confidence,
    entity_confidences,
    entity_regions,
    text_confidence,
)

LABELS = ["PER", "LOC"]
ln = math.log


def tok(text: str, p: float = 1.0, *top: tuple[str, float]) -> TokenLogprob:
    return TokenLogprob(text, ln(p), tuple((t, ln(q)) for t, q in top))


# {"entities":[{"text":"Paris","label":"LOC","occurrence":1}]}
ONE_ENTITY = [
    tok('{"entities":[{"text":"'),
    tok("Par", 0.8),
    tok("is", 0.9),
    tok('","label":"', 1.0),
    # "loc" is no entity type: left out; LOC's share is .6 / (.6 + .2).
    tok("LOC", 0.6, ("LOC", 0.6), ("PER", 0.2), ("loc", 0.1)),
    tok('","occurrence":1}]}'),
]


def test_one_entity_label_times_text() -> None:
    (score,) = entity_confidences(ONE_ENTITY, [("Paris", "LOC")], LABELS, ROOT) or []
    assert score.label == pytest.approx(0.75)
    assert score.text == pytest.approx(0.8 * 0.9)
    assert score.score == pytest.approx(0.75 * 0.72)


def test_the_text_token_that_carries_structure_is_renormalised_over_that_structure() -> None:
    tokens = [
        tok('{"entities":[{"text'),
        # Alternatives keeping `":"` (any spacing): .5 + .3 + .1; "x" breaks it.
        tok('":"Par', 0.5, ('":"Par', 0.5), ('":"Lon', 0.3), ('": "Par', 0.1), ("x", 0.05)),
        tok("is", 0.9),
        tok('"', 0.5),
        tok(',"label":"PER","occurrence":1}]}'),
    ]
    expected = 0.5 / 0.9 * 0.9 * 0.5
    assert text_confidence(tokens, entity_regions(_content(tokens), ROOT)[0], "Paris") == (
        pytest.approx(expected)
    )


def test_text_that_is_not_the_parsed_text_is_not_scored() -> None:
    region = entity_regions(_content(ONE_ENTITY), ROOT)[0]
    assert text_confidence(ONE_ENTITY, region, "Paris") is not None
    assert text_confidence(ONE_ENTITY, region, "London") is None


def test_two_entities_each_in_its_own_object() -> None:
    tokens = [
        tok('{"entities":[{"text":"'),
        tok("Ann", 0.5),
        tok('","label":"'),
        tok("PER", 0.9, ("PER", 0.9), ("LOC", 0.1)),
        tok('","occurrence":1},{"text":"'),
        tok("Rome", 0.8),
        tok('","label":"'),
        tok("LOC", 0.4, ("LOC", 0.4), ("PER", 0.4), ("ORG", 0.2)),
        tok('","occurrence":2}]}'),
    ]
    scores = entity_confidences(tokens, [("Ann", "PER"), ("Rome", "LOC")], LABELS, ROOT)
    assert scores == [
        EntityConfidence(pytest.approx(0.9), pytest.approx(0.5)),  # type: ignore[arg-type]
        EntityConfidence(pytest.approx(0.5), pytest.approx(0.8)),  # type: ignore[arg-type]
    ]


def test_entities_that_do_not_match_the_tokens_give_no_score() -> None:
    assert entity_confidences(ONE_ENTITY, [("Paris", "LOC"), ("Rome", "LOC")], LABELS, ROOT) is None
    assert entity_confidences(ONE_ENTITY, [("Paris", "PER")], LABELS, ROOT) is None
    assert entity_confidences(ONE_ENTITY[:3], [("Paris", "LOC")], LABELS, ROOT) is None


@pytest.mark.parametrize(
    ("tokens", "expected"),
    [
        # `[]` against `[{`; `[\n` decides nothing yet and is left out.
        (
            [tok('{"entities":'), tok("[]", 0.7, ("[]", 0.7), ("[{", 0.2), ("[\n", 0.1)), tok("}")],
            0.7 / 0.9,
        ),
        # The decision at its own token after `[`.
        ([tok('{"entities":['), tok("]}", 0.6, ("]}", 0.6), ('{"', 0.3), (" ", 0.1))], 0.6 / 0.9),
        # Whitespace before the bracket, in the same token.
        ([tok('{"entities": ['), tok(" ]", 0.5, (" ]", 0.5), (" {", 0.5)), tok("}")], 0.5),
        # No `{` listed: it had at most what the list leaves over (.1).
        ([tok('{"entities":'), tok("[]", 0.9, ("[]", 0.9)), tok("}")], 0.9 / 1.0),
        # No alternatives at all: the token's own probability.
        ([tok('{"entities":'), tok("[]", 0.8), tok("}")], 0.8),
    ],
)
def test_empty_list_confidence(tokens: list[TokenLogprob], expected: float) -> None:
    assert empty_list_confidence(tokens, ROOT) == pytest.approx(expected)


def test_a_list_that_is_not_empty_has_no_empty_list_confidence() -> None:
    assert empty_list_confidence(ONE_ENTITY, ROOT) is None


def test_items_of_a_packed_answer_are_read_in_their_own_region() -> None:
    tokens = [
        tok('{"answers":[{"id":"1","entities":'),
        tok("[]", 0.6, ("[]", 0.6), ("[{", 0.4)),
        tok('},{"id":"2","entities":[{"text":"'),
        tok("Bo", 0.7),
        tok('","label":"'),
        tok("PER", 0.3, ("PER", 0.3), ("LOC", 0.1)),
        tok('","occurrence":1}]}]}'),
    ]
    first, second = array_elements(_content(tokens), "answers")
    assert empty_list_confidence(tokens, first) == pytest.approx(0.6)
    assert empty_list_confidence(tokens, second) is None
    assert entity_confidences(tokens, [], LABELS, first) == []
    (score,) = entity_confidences(tokens, [("Bo", "PER")], LABELS, second) or []
    assert (score.label, score.text) == (pytest.approx(0.75), pytest.approx(0.7))


def _content(tokens: list[TokenLogprob]) -> str:
    return "".join(t.token for t in tokens)
