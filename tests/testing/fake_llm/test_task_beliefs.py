"""The fake's beliefs for the task shapes, as pure functions: what it finds in an item's text and
the distributions it answers from."""

from __future__ import annotations

import json
import math

import pytest

from labelwise.testing.fake_llm.entities import PHANTOM_RATE, entities
from labelwise.testing.fake_llm.entity_kinds import label_kind
from labelwise.testing.fake_llm.fields import field_belief, raw_value, typed
from labelwise.testing.fake_llm.item import candidates, item_fields, main_text
from labelwise.testing.fake_llm.judge import Judge
from labelwise.testing.fake_llm.preference import preference_distribution
from labelwise.testing.fake_llm.ratings import rating_distribution, stated_score, worded_score
from labelwise.testing.fake_llm.shapes import answer_shape, integer_scores, nullable_inner


def judge(data: dict[str, object], seed: int = 0, hint: float = 0.9) -> Judge:
    return Judge(json.dumps(data), seed=seed, accuracy_hint=hint)


def resolve(schema: dict[str, object]) -> dict[str, object]:
    return schema


@pytest.mark.parametrize(
    ("properties", "kind"),
    [
        ({"label": {"type": "string", "enum": ["a"]}}, None),
        ({"labels": {"type": "object", "properties": {"a": {"type": "boolean"}}}}, None),
        (
            {
                "entities": {
                    "type": "array",
                    "items": {"type": "object", "properties": {"text": {}, "label": {}}},
                }
            },
            "spans",
        ),
        ({"entities": {"type": "array", "items": {"type": "string"}}}, None),
        ({"fields": {"type": "object", "properties": {"x": {"type": "string"}}}}, "extraction"),
        ({"score": {"type": "integer", "enum": [1, 2, 3]}}, "rating"),
        ({"score": {"type": "integer", "minimum": 0, "maximum": 10}}, "rating"),
        ({"score": {"type": "string", "enum": ["1", "2"]}}, None),
        ({"rationale": {"type": "string"}, "winner": {"enum": ["A", "B", "tie"]}}, "pairwise"),
        ({"winner": {"type": "string", "enum": ["yes", "no"]}}, None),
    ],
)
def test_the_answer_shape_is_told_from_the_schema(
    properties: dict[str, object], kind: str | None
) -> None:
    shape = answer_shape(properties, resolve)
    assert (shape.kind if shape else None) == kind


@pytest.mark.parametrize(
    ("schema", "inner", "nullable"),
    [
        ({"type": ["string", "null"]}, {"type": "string"}, True),
        ({"type": "integer"}, {"type": "integer"}, False),
        ({"anyOf": [{"type": "number"}, {"type": "null"}]}, {"type": "number"}, True),
        (
            {"type": ["string", "null"], "enum": ["x", None]},
            {"type": "string", "enum": ["x"]},
            True,
        ),
    ],
)
def test_nullable_fields_lose_their_null(
    schema: dict[str, object], inner: dict[str, object], nullable: bool
) -> None:
    assert nullable_inner(schema) == (inner, nullable)


def test_integer_scores_come_from_an_enum_or_a_range() -> None:
    assert integer_scores({"enum": [3, 1, 2, 1]}) == [3, 1, 2]
    assert integer_scores({"type": "integer", "minimum": -1, "maximum": 1}) == [-1, 0, 1]
    assert integer_scores({"enum": [1, "2"]}) is None
    assert integer_scores({"type": "integer", "minimum": 0, "maximum": 1000}) is None


@pytest.mark.parametrize(
    ("text", "low", "high", "score"),
    [
        ("score 4", 1, 5, 4),
        ("Rated: 2 overall", 1, 5, 2),
        ("4/5, would buy again", 1, 5, 4),
        ("3 out of 5", 1, 5, 3),
        ("8/10", 1, 5, 4),  # 1 + round(0.8 * 4)
        ("5 stars", 1, 5, 5),
        ("score 9", 1, 5, None),  # outside the scale: no statement
        ("nothing stated", 1, 5, None),
    ],
)
def test_a_stated_score_is_read_onto_the_scale(
    text: str, low: int, high: int, score: int | None
) -> None:
    assert stated_score(text, low, high) == score


@pytest.mark.parametrize(
    ("text", "score"),
    [("excellent", 5), ("Terrible.", 1), ("good", 4), ("average", 3), ("great but poor", 3)],
)
def test_words_of_praise_and_blame_point_into_the_scale(text: str, score: int) -> None:
    assert worded_score(text, 1, 5) == score


@pytest.mark.parametrize(
    ("data", "peak", "low", "high"),
    [
        ({"text": "score 2 of five"}, 2, 0.89, 0.91),  # stated: the named mass (hint 0.9)
        ({"text": "an excellent answer"}, 5, 0.5, 0.8),  # worded: moderate
        ({"text": "hmm"}, None, 0.3, 0.55),  # neither: unsure
    ],
)
def test_the_rating_distribution_peaks_where_the_text_hints(
    data: dict[str, object], peak: int | None, low: float, high: float
) -> None:
    scores = [1, 2, 3, 4, 5]
    probs = rating_distribution(judge(data), scores)
    assert sum(probs) == pytest.approx(1.0)
    top = max(range(5), key=probs.__getitem__)
    assert low <= probs[top] <= high
    if peak is not None:
        assert scores[top] == peak
    # Mass falls off with the distance from the peak.
    assert probs[top - 1 if top else top + 1] >= min(probs)


@pytest.mark.parametrize(
    ("text", "name", "raw"),
    [
        ("vendor: Acme Corp\nTotal: 12.50", "vendor", "Acme Corp"),
        ("vendor: Acme Corp\nTotal: 12.50", "total", "12.50"),
        ("The due date is 2024-05-01.", "due_date", "2024-05-01"),
        ("invoiceNumber = INV-7, thanks", "invoiceNumber", "INV-7"),
        ("Total: $1,212.50, paid", "total", "$1,212.50"),
        ("nothing here", "vendor", None),
    ],
)
def test_a_field_value_is_what_follows_its_name(text: str, name: str, raw: str | None) -> None:
    assert raw_value(text, name) == raw


@pytest.mark.parametrize(
    ("raw", "schema", "value"),
    [
        ("$1,212.50", {"type": "number"}, 1212.5),
        ("12", {"type": "number"}, 12),
        ("3 items", {"type": "integer"}, 3),
        ("3.5", {"type": "integer"}, None),
        ("Yes, paid", {"type": "boolean"}, True),
        ("no", {"type": "boolean"}, False),
        ("maybe", {"type": "boolean"}, None),
        ("eur", {"enum": ["USD", "EUR"]}, "EUR"),
        ("GBP", {"enum": ["USD", "EUR"]}, None),
        ("a, b and c", {"type": "array", "items": {"type": "string"}}, ["a", "b", "c"]),
        ("1, 2", {"type": "array", "items": {"type": ["integer", "null"]}}, [1, 2]),
        ("Acme", {"type": "string"}, "Acme"),
    ],
)
def test_a_raw_value_is_typed_by_the_field(
    raw: str, schema: dict[str, object], value: object
) -> None:
    assert typed(raw, schema) == value


def test_a_found_field_is_likely_and_a_missing_one_is_null() -> None:
    item = judge({"text": "vendor: Acme\nItems: a, b"})
    found = field_belief(item, "vendor", {"type": "string"})
    assert found.value == "Acme"
    assert 0.85 <= found.probability < 0.99
    listed = field_belief(item, "items", {"type": "array", "items": {"type": "string"}})
    assert listed.value == ["a", "b"]
    missing = field_belief(item, "total", {"type": "number"})
    assert missing.value is None
    assert 0.75 <= missing.probability < 0.95


@pytest.mark.parametrize(
    ("name", "description", "kind"),
    [
        ("PER", "", "person"),
        ("LOC", "", "place"),
        ("ORG", "", "organization"),
        ("X", "a company or agency", "organization"),
        ("when", "the date of the event", "date"),
        ("symptom", "what hurts", None),
    ],
)
def test_an_entity_type_suggests_a_kind(name: str, description: str, kind: str | None) -> None:
    assert label_kind(name, description) == kind


LABELS = ["PER", "LOC", "ORG"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "Yesterday Angela Merkel met Mr Smith in Paris.",
            [("Angela Merkel", 1, "PER"), ("Smith", 1, "PER"), ("Paris", 1, "LOC")],
        ),
        ("Acme Inc hired IBM.", [("Acme Inc", 1, "ORG"), ("IBM", 1, "ORG")]),
        ("Paris, then Paris (LOC) again.", [("Paris", 1, None), ("Paris", 2, "LOC")]),
        ("The cat sat. It was fine.", []),
        ("no capitals at all", []),
    ],
)
def test_entities_are_found_with_their_occurrence_and_likely_type(
    text: str, expected: list[tuple[str, int, str | None]]
) -> None:
    found = entities(judge({"text": text}), LABELS, {})
    assert [(e.text, e.occurrence) for e in found] == [(t, k) for t, k, _ in expected]
    for entity, (_, _, label) in zip(found, expected, strict=True):
        assert sum(entity.probs) == pytest.approx(1.0)
        top = LABELS[max(range(3), key=entity.probs.__getitem__)]
        if label is not None:
            assert top == label
        # Every candidate is in the text, at the occurrence named.
        assert entity.misread_from is None
        assert text[entity.start : entity.start + len(entity.text)] == entity.text


def test_a_type_named_in_the_text_gets_the_named_mass() -> None:
    found = entities(
        judge({"text": "Took aspirin (drug) today"}, hint=0.8), ["symptom", "drug"], {}
    )
    assert [e.text for e in found] == ["aspirin"]
    assert found[0].probs[1] == pytest.approx(0.8, abs=1e-5)
    # Without a kind, capitalised words are not candidates.
    assert entities(judge({"text": "Aspirin and Paris"}), ["symptom", "drug"], {}) == []


def test_descriptions_and_the_text_field_are_used() -> None:
    data = {"title": "Bob Jones", "body": "It was written in Berlin by Ann Lee."}
    notes = {"who": "a person", "where": "a city"}
    found = entities(judge(data), ["who", "where"], notes, "body")
    assert [(e.text, e.start) for e in found] == [("Berlin", 18), ("Ann Lee", 28)]
    assert found[0].probs[1] > 0.6  # "in" before it: a place
    assert found[1].probs[0] > 0.6  # two capitalised words: a person


def test_rarely_a_text_not_in_the_item_is_named() -> None:
    texts = [f"Report {i}: Ann Lee visited Paris." for i in range(600)]
    misread = []
    for text in texts:
        found = entities(judge({"text": text}), LABELS, {})
        phantoms = [e for e in found if e.misread_from is not None]
        assert len(phantoms) <= 1
        misread += [(text, e) for e in phantoms]
    assert 0.3 * PHANTOM_RATE * len(texts) <= len(misread) <= 2 * PHANTOM_RATE * len(texts)
    for text, entity in misread:
        assert entity.text.casefold() not in text.casefold()
        assert entity.misread_from in text
        assert entity.occurrence == 1


@pytest.mark.parametrize(
    ("data", "pair"),
    [
        ({"A": "one", "B": "two", "context": "q"}, ("one", "two")),
        ({"context": "q", "candidate_b": "two", "candidate_a": "one"}, ("one", "two")),
        ({"question": "q", "first": "one", "second": "two"}, ("one", "two")),
        ({"A": "one"}, ("one", "")),
    ],
)
def test_the_pairwise_candidates_are_read_from_the_view(
    data: dict[str, str], pair: tuple[str, str]
) -> None:
    assert candidates(item_fields(json.dumps(data))) == pair


def test_main_text_is_text_or_the_longest_field() -> None:
    assert main_text({"title": "a long title here", "text": "short"}) == "short"
    assert main_text({"title": "short", "body": "the longer body"}) == "the longer body"
    assert item_fields("not json") == {"text": "not json"}


def test_the_preference_follows_quality_whatever_the_order_with_a_mild_bias() -> None:
    long = "Paris is the capital of France, home to 2.1 million people."
    short = "Paris."
    forward = preference_distribution(judge({"A": long, "B": short}), ["A", "B"])
    backward = preference_distribution(judge({"A": short, "B": long}), ["A", "B"])
    assert forward[0] > 0.9 and backward[1] > 0.9
    # The first position is favoured: the same pair is judged a little better shown first.
    assert forward[0] > backward[1]
    same = preference_distribution(judge({"A": short, "B": short}), ["A", "B", "tie"])
    assert sum(same) == pytest.approx(1.0)
    assert same[2] == pytest.approx(0.5) and same[0] > same[1]


def test_close_pairs_sometimes_get_an_answer_that_depends_on_the_order() -> None:
    disagreements = 0
    for i in range(300):
        a, b = f"Option {i} is good.", f"Option {i} is fine too."
        forward = preference_distribution(judge({"A": a, "B": b}), ["A", "B"])
        backward = preference_distribution(judge({"A": b, "B": a}), ["A", "B"])
        # Each order's belief is a logistic of the same gap plus the same bias.
        gap_forward = math.log(forward[0] / forward[1])
        gap_backward = math.log(backward[0] / backward[1])
        assert gap_forward + gap_backward == pytest.approx(2 * 0.35, abs=1e-6)
        disagreements += (forward[0] > 0.5) == (backward[0] > 0.5)
    assert 0 < disagreements < 300
