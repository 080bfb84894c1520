"""Confidence from token log-probabilities, checked against hand sums.

Each token case spells out the generated tokens with probabilities (converted to logprobs by
`t`), and the expected score is the hand-computed product of per-position ratios.
"""

from __future__ import annotations

import math

import pytest

from labelwise.domain import TokenLogprob
from labelwise.scoring.confidence import (
    boolean_confidences,
    combine_label_confidences,
    label_choice_confidence,
)


def _log(p: float) -> float:
    return math.log(p) if p > 0 else -math.inf


def t(text: str, p: float, *alts: tuple[str, float]) -> TokenLogprob:
    """A generated token with probability `p` and top alternatives given as (text, probability)."""
    return TokenLogprob(text, _log(p), tuple((a, _log(q)) for a, q in alts))


def s(text: str) -> TokenLogprob:
    """A structural token with no alternatives listed (certain, as under a grammar)."""
    return TokenLogprob(text, 0.0)


SENT = ["positive", "negative", "neutral"]
SHARED = ["positive", "position", "negative"]
PREFIX = ["pos", "positive", "neg"]
OPEN = [s('{"'), s("label"), s('":"')]
CLOSE = [s('"}')]

FIRST_TOKEN_ALTS = (
    ("positive", 0.6),
    ("negative", 0.2),
    ("neutral", 0.1),
    (" positive", 0.05),  # leading space: not an allowed value, ignored
    ("maybe", 0.05),
)


@pytest.mark.parametrize(
    ("tokens", "labels", "chosen", "expected"),
    [
        pytest.param(
            [*OPEN, t("positive", 0.6, *FIRST_TOKEN_ALTS), *CLOSE],
            SENT,
            "positive",
            0.6 / 0.9,
            id="diverge-at-first-token",
        ),
        pytest.param(
            [*OPEN, t("negative", 0.2, *FIRST_TOKEN_ALTS), *CLOSE],
            SENT,
            "negative",
            0.2 / 0.9,
            id="diverge-at-first-token-minority-choice",
        ),
        pytest.param(
            [
                *OPEN,
                t("pos", 0.8, ("pos", 0.8), ("neg", 0.2)),
                t("itive", 0.75, ("itive", 0.75), ("ition", 0.25)),
                *CLOSE,
            ],
            SHARED,
            "positive",
            0.8 * 0.75,
            id="shared-prefix-two-divergences",
        ),
        pytest.param(
            [
                *OPEN,
                t("pos", 0.8, ("pos", 0.8), ("neg", 0.2)),
                t("ition", 0.25, ("itive", 0.75), ("ition", 0.25)),
                *CLOSE,
            ],
            SHARED,
            "position",
            0.8 * 0.25,
            id="shared-prefix-other-branch",
        ),
        pytest.param(
            [
                *OPEN,
                t("neg", 0.2, ("pos", 0.8), ("neg", 0.2)),
                # Already decided after "neg": this position (raw p=0.5, no top) is not read.
                t("ative", 0.5),
                *CLOSE,
            ],
            SHARED,
            "negative",
            0.2,
            id="stops-once-identified",
        ),
        pytest.param(
            [
                *OPEN,
                t("pos", 0.9, ("pos", 0.9), ("negative", 0.1)),
                # "it" keeps both positive and position open, so it counts for the chosen one.
                t("it", 0.7, ("it", 0.7), ("itive", 0.2), ("ition", 0.1)),
                t("ive", 0.6, ("ive", 0.6), ("ion", 0.4)),
                *CLOSE,
            ],
            SHARED,
            "positive",
            0.9 * (0.9 / 1.0) * 0.6,
            id="shared-prefix-three-tokens",
        ),
        pytest.param(
            [
                *OPEN,
                t("pos", 0.9, ("pos", 0.9), ("neg", 0.1)),
                # "pos" vs "positive" is decided by whether the string closes here.
                t('"}', 0.6, ('"}', 0.6), ("itive", 0.3), ('"', 0.1)),
            ],
            PREFIX,
            "pos",
            0.9 * 0.7,
            id="label-prefix-of-another-short-chosen",
        ),
        pytest.param(
            [
                *OPEN,
                t("pos", 0.9, ("pos", 0.9), ("neg", 0.1)),
                t('itive"}', 0.5, ('itive"}', 0.5), ('"}', 0.4), ('"', 0.1)),
            ],
            PREFIX,
            "positive",
            0.9 * 0.5,
            id="label-prefix-of-another-long-chosen",
        ),
        pytest.param(
            [
                s('{"label'),
                t(
                    '":"pos',
                    0.7,
                    ('":"pos', 0.7),
                    ('":"neg', 0.2),
                    ('":"Pos', 0.05),  # forbidden value
                    ('"pos', 0.05),  # different structure before the value: not a continuation
                ),
                t('itive"}', 0.9, ('itive"}', 0.9), ('ition"}', 0.1)),
            ],
            SHARED,
            "positive",
            (0.7 / 0.9) * 0.9,
            id="token-spans-colon-and-value",
        ),
        pytest.param(
            [
                s('{"label'),
                t(
                    '":"pos',
                    0.6,
                    ('":"pos', 0.6),
                    ('": "neg', 0.2),  # whitespace between JSON tokens is insignificant
                    ('":" neg', 0.1),  # but inside the string it is value text: forbidden
                    ('":"', 0.1),  # no value text yet: says nothing about the label
                ),
                t('itive"}', 0.9, ('itive"}', 0.9), ('ition"}', 0.1)),
            ],
            SHARED,
            "positive",
            (0.6 / 0.8) * 0.9,
            id="token-spans-colon-whitespace-variants",
        ),
        pytest.param(
            [
                s('{"lab'),
                # The token starts inside the key; `ex"` would close another key ("labex").
                t('el":"neg', 0.5, ('el":"neg', 0.5), ('el":"pos', 0.3), ('ex":"pos', 0.2)),
                s('ative"}'),
            ],
            SHARED,
            "negative",
            0.5 / 0.8,
            id="token-spans-key-end-and-value",
        ),
        pytest.param(
            [
                *OPEN,
                t(
                    "positive",
                    0.3,
                    ("Positive", 0.5),  # ranked above the emitted token, but not a label
                    ("positive", 0.3),
                    ("negative", 0.15),
                    ("POS", 0.05),
                ),
                *CLOSE,
            ],
            SENT,
            "positive",
            0.3 / 0.45,
            id="forbidden-capitalised-above-emitted",
        ),
        pytest.param(
            [*OPEN, t("positive", 0.4, ("negative", 0.3), ("neutral", 0.1)), *CLOSE],
            SENT,
            "positive",
            0.4 / 0.8,
            id="top-missing-emitted-token",
        ),
        pytest.param(
            [*OPEN, t("positive", 0.8), *CLOSE],
            SENT,
            "positive",
            0.8,
            id="empty-top-uses-raw-probability",
        ),
        pytest.param(
            [*OPEN, t("pos", 0.8, ("pos", 0.8), ("neg", 0.2)), t("itive", 0.9), *CLOSE],
            SHARED,
            "positive",
            0.8 * 0.9,
            id="empty-top-at-second-divergence",
        ),
        pytest.param(
            [*OPEN, t("positive", 0.0), *CLOSE],
            SENT,
            "positive",
            0.0,
            id="empty-top-minus-inf",
        ),
        pytest.param(
            [
                *OPEN,
                t(
                    "positive",
                    0.5,
                    ("positive", 0.5),
                    ("positive", 0.5),  # duplicate entry must not count twice
                    ("negative", 0.25),
                    ("neutral", 0.0),  # logprob -inf
                ),
                *CLOSE,
            ],
            SENT,
            "positive",
            0.5 / 0.75,
            id="duplicate-and-minus-inf-alternatives",
        ),
        pytest.param(
            [
                *OPEN,
                t("say", 0.95, ("say", 0.95), ("said", 0.05)),
                # An unescaped quote would close the string early: not an allowed value.
                t(' \\"', 0.8, (' \\"', 0.8), (' "', 0.2)),
                t("hi", 0.6, ("hi", 0.6), ("bye", 0.3), ("b", 0.1)),
                s('\\""}'),
            ],
            ['say "hi"', 'say "bye"'],
            'say "hi"',
            0.6,
            id="label-with-escaped-quote",
        ),
        pytest.param(
            [
                *OPEN,
                t("caf", 0.9, ("caf", 0.9), ("cafe", 0.1)),
                # "\" starts the \u00e9 spelling of café; "E" is no label.
                t("é", 0.5, ("é", 0.5), ("e", 0.25), ("\\", 0.15), ("E", 0.1)),
                *CLOSE,
            ],
            ["café", "cafe"],
            "café",
            0.9 * (0.65 / 0.9),
            id="unicode-label-raw",
        ),
        pytest.param(
            [
                *OPEN,
                t("caf", 0.9, ("caf", 0.9), ("cafe", 0.1)),
                # The other label's raw UTF-8 spelling competes too.
                t("e", 0.25, ("é", 0.5), ("e", 0.25), ("E", 0.1)),
                *CLOSE,
            ],
            ["café", "cafe"],
            "cafe",
            (0.1 + 0.9) / 1.0 * (0.25 / 0.75),
            id="unicode-label-competitor",
        ),
        pytest.param(
            [
                *OPEN,
                t("caf", 1.0, ("caf", 1.0)),
                t("\\u00e9", 0.5, ("\\u00e9", 0.5), ("e", 0.3), ("\\u00e8", 0.2)),
                *CLOSE,
            ],
            ["café", "cafe"],
            "café",
            0.5 / 0.8,
            id="unicode-label-u-escaped",
        ),
        pytest.param(
            [
                s('{"'),
                s("rationale"),
                s('":'),
                s(' "'),
                s("clearly"),
                t(" positive", 0.1, (" negative", 0.9)),
                s('",'),
                s(' "'),
                s("label"),
                s('":'),
                s(' "'),
                t("positive", 0.7, ("positive", 0.7), ("negative", 0.3)),
                s('"}'),
            ],
            SENT,
            "positive",
            0.7,
            id="other-key-before",
        ),
        pytest.param(
            [
                s('{ "'),
                s("label"),
                s('" : "'),
                t("positive", 0.7, ("positive", 0.7), ("negative", 0.3)),
                s('" }'),
            ],
            SENT,
            "positive",
            0.7,
            id="whitespace-variant",
        ),
        pytest.param(
            [
                s('{"rationale": "not \\"'),
                t("label", 0.5, ("label", 0.5)),
                s('\\": \\"'),
                t("negative", 0.9, ("negative", 0.9), ("positive", 0.1)),
                s('\\"", "label": "'),
                t("positive", 0.8, ("positive", 0.8), ("negative", 0.2)),
                s('"}'),
            ],
            SENT,
            "positive",
            0.8,
            id="key-quoted-inside-rationale",
        ),
        pytest.param(
            # As llama.cpp's server answers under a grammar: the token stream carries a code fence
            # the content does not, and the unconstrained top-5 shows no allowed label at all. The
            # unseen labels are bounded by the least likely token listed (or the mass left over),
            # so a label the model was forced into does not come out as certain.
            [
                s("```json\n\n{\n  "),
                s('"'),
                s("label"),
                s('":'),
                s(' "'),
                t(
                    "s",
                    0.0046,
                    ("L", 0.164),
                    ("j", 0.067),
                    ("l", 0.062),
                    ("J", 0.043),
                    ("The", 0.029),
                ),
                t("ports", 0.0316, ("j", 0.115), ("ass", 0.075), ("2", 0.043), ("-", 0.037)),
                s('"\n}\n\n```'),
            ],
            ["world", "sports", "business", "science_tech"],
            "sports",
            (0.0046 / (0.0046 + 2 * 0.029)) * (0.0316 / (0.0316 + 0.037)),
            id="grammar-forced-label-unseen-alternatives-bounded",
        ),
        pytest.param(
            # Complete lists leave no mass over: a label missing from them had none.
            [*OPEN, t("positive", 0.7, ("positive", 0.7), ("negative", 0.3)), *CLOSE],
            SENT,
            "positive",
            0.7,
            id="complete-list-leaves-nothing-for-unseen",
        ),
    ],
)
def test_label_choice_confidence(
    tokens: list[TokenLogprob], labels: list[str], chosen: str, expected: float
) -> None:
    score = label_choice_confidence(tokens, key="label", labels=labels, chosen=chosen)
    assert score == pytest.approx(expected)


@pytest.mark.parametrize(
    ("tokens", "chosen"),
    [
        pytest.param([s('{"category":"'), s("positive"), *CLOSE], "positive", id="key-absent"),
        pytest.param([*OPEN, s("positive"), *CLOSE], "negative", id="value-is-another-label"),
        pytest.param([s('{"label": 3}')], "positive", id="value-not-a-string"),
        pytest.param([*OPEN, s("posi")], "positive", id="truncated-value"),
        pytest.param([*OPEN, s("mixed"), *CLOSE], "mixed", id="chosen-not-allowed"),
        pytest.param(
            [s('{"meta": {"label": "positive"}}')], "positive", id="key-only-in-nested-object"
        ),
        pytest.param(
            [s('{"rationale": "not \\"label\\": \\"negative\\"", "label": "positive"}')],
            "negative",
            id="value-only-quoted-inside-rationale",
        ),
        pytest.param(
            # json.loads keeps the last duplicate key, so the first value was not the answer.
            [s('{"label": "negative", "label": "positive"}')],
            "negative",
            id="duplicate-key-earlier-value",
        ),
        pytest.param([], "positive", id="no-tokens"),
    ],
)
def test_label_choice_confidence_not_found(tokens: list[TokenLogprob], chosen: str) -> None:
    assert label_choice_confidence(tokens, key="label", labels=SENT, chosen=chosen) is None


def test_label_choice_confidence_other_key_name() -> None:
    tokens = [s('{"category":"'), t("neutral", 0.5, ("neutral", 0.5), ("positive", 0.5)), *CLOSE]
    assert label_choice_confidence(
        tokens, key="category", labels=SENT, chosen="neutral"
    ) == pytest.approx(0.5)


# --- Multi label --------------------------------------------------------------------------------

SP = ["sports", "politics"]
# The rationale mentions both labels followed by ": true"/": false" with a 50/50 split: a search
# that is not anchored in the "labels" object would read 0.5 there.
RATIONALE = [
    s('{"'),
    s("rationale"),
    s('":'),
    s(' "'),
    s("sports"),
    s(":"),
    t(" true", 0.5, (" true", 0.5), (" false", 0.5)),
    s(", not politics"),
    s(":"),
    t(" false", 0.5, (" false", 0.5), (" true", 0.5)),
    s('",'),
    s(' "'),
    s("labels"),
    s('":'),
    s(' {"'),
]


@pytest.mark.parametrize(
    ("tokens", "labels", "values", "expected"),
    [
        pytest.param(
            [
                *RATIONALE,
                s("sports"),
                s('":'),
                t(" true", 0.8, (" true", 0.8), (" false", 0.15), (" True", 0.05)),
                s(","),
                s(' "'),
                s("politics"),
                s('":'),
                t(" false", 0.9, (" false", 0.9), (" true", 0.05), (" f", 0.05)),
                s("}}"),
            ],
            SP,
            {"sports": True, "politics": False},
            {"sports": 0.8 / 0.95, "politics": 0.95 / 1.0},
            id="leading-space-and-rationale-mentions",
        ),
        pytest.param(
            [
                s('{"labels": {"'),
                s("sports"),
                t(
                    '": true',
                    0.7,
                    ('": true', 0.7),
                    ('":true', 0.1),  # same structure, other whitespace
                    ('": false', 0.15),
                    ('s": false', 0.05),  # another key: not a continuation
                ),
                s(', "politics": '),
                # Leading whitespace before a literal is insignificant.
                t("false", 0.6, ("false", 0.6), ("true", 0.2), (" true", 0.1), ("False", 0.1)),
                s("}}"),
            ],
            SP,
            {"sports": True, "politics": False},
            {"sports": 0.8 / 0.95, "politics": 0.6 / 0.9},
            id="token-spans-colon-and-literal",
        ),
        pytest.param(
            [
                s('{"labels": {"sports":'),
                t(" tr", 0.6, (" tr", 0.6), (" fal", 0.3), (" t", 0.1)),
                s('ue, "politics": '),
                t("true", 0.8),
                s("}}"),
            ],
            SP,
            {"sports": True, "politics": True},
            {"sports": 0.7, "politics": 0.8},
            id="split-literal-and-empty-top",
        ),
        pytest.param(
            [
                s('{"labels": {"tech \\"news\\"":'),
                t(" false", 0.75, (" false", 0.75), (" true", 0.25)),
                s(', "café": '),
                t("true", 0.4, ("true", 0.4), ("false", 0.4), ("maybe", 0.2)),
                s("}}"),
            ],
            ['tech "news"', "café"],
            {'tech "news"': False, "café": True},
            {'tech "news"': 0.75, "café": 0.5},
            id="escaped-label-keys",
        ),
    ],
)
def test_boolean_confidences(
    tokens: list[TokenLogprob],
    labels: list[str],
    values: dict[str, bool],
    expected: dict[str, float],
) -> None:
    scores = boolean_confidences(tokens, labels=labels, values=values)
    assert scores is not None
    assert scores.keys() == expected.keys()
    for label, score in expected.items():
        assert scores[label] == pytest.approx(score), label


@pytest.mark.parametrize(
    ("content", "values"),
    [
        pytest.param(
            '{"labels": {"sports": true}}',
            {"sports": True, "politics": False},
            id="label-missing",
        ),
        pytest.param(
            '{"rationale": "x", "politics": false, "labels": {"sports": true}}',
            {"sports": True, "politics": False},
            id="label-only-outside-labels-object",
        ),
        pytest.param(
            '{"labels": {"sports": true, "politics": true}}',
            {"sports": True, "politics": False},
            id="value-disagrees-with-parsed",
        ),
        pytest.param(
            '{"labels": {"sports": true, "politics": "no"}}',
            {"sports": True, "politics": False},
            id="value-not-a-boolean",
        ),
    ],
)
def test_boolean_confidences_not_found(content: str, values: dict[str, bool]) -> None:
    assert boolean_confidences([s(content)], labels=SP, values=values) is None


@pytest.mark.parametrize(
    ("per_label", "expected"),
    [
        ({"sports": 0.9, "politics": 0.6, "tech": 0.95}, 0.6),
        ({"sports": 0.9}, 0.9),
        ({}, 0.0),
    ],
)
def test_combine_label_confidences(per_label: dict[str, float], expected: float) -> None:
    assert combine_label_confidences(per_label) == pytest.approx(expected)
