"""A score's distribution over the scale, read from token log-probabilities, checked against
hand sums.

Each case spells out the generated tokens with probabilities (converted to logprobs by `t`)
and the distribution over every score of the scale, computed by hand.
"""

from __future__ import annotations

import math

import pytest

from labelwise.domain import TokenLogprob
from labelwise.scoring.json_regions import array_elements
from labelwise.scoring.number_choice import consistent_scores, score_distribution


def _log(p: float) -> float:
    return math.log(p) if p > 0 else -math.inf


def t(text: str, p: float, *alts: tuple[str, float]) -> TokenLogprob:
    """A generated token with probability `p` and top alternatives given as (text, probability)."""
    return TokenLogprob(text, _log(p), tuple((a, _log(q)) for a, q in alts))


def s(text: str) -> TokenLogprob:
    """A structural token with no alternatives listed (certain, as under a grammar)."""
    return TokenLogprob(text, 0.0)


OPEN = [s('{"'), s("score"), s('": ')]
CLOSE = [s("}")]
ONE_TO_FIVE = list(range(1, 6))
ZERO_TO_TEN = list(range(0, 11))
MINUS_TWO_TO_TWO = list(range(-2, 3))


def spread(scores: list[int], **given: float) -> dict[int, float]:
    """Every score of the scale at 0 but those `given` (by `s<score>` / `m<minus score>`)."""
    out = dict.fromkeys(scores, 0.0)
    for name, p in given.items():
        out[-int(name[1:]) if name[0] == "m" else int(name[1:])] = p
    return out


CASES = [
    pytest.param(
        [*OPEN, t("4", 0.5, ("4", 0.5), ("3", 0.2), ("5", 0.2), ("2", 0.05), ("1", 0.05)), *CLOSE],
        ONE_TO_FIVE,
        4,
        spread(ONE_TO_FIVE, s1=0.05, s2=0.05, s3=0.2, s4=0.5, s5=0.2),
        id="one-token-every-score-listed",
    ),
    pytest.param(
        # "6" leaves the scale, a quote makes a string, "4." a number that is no integer.
        [
            *OPEN,
            t("4", 0.6, ("3", 0.2), ("5", 0.1), ("6", 0.04), ('"', 0.03), ("4.", 0.03)),
            *CLOSE,
        ],
        ONE_TO_FIVE,
        4,
        spread(ONE_TO_FIVE, s3=0.2 / 0.9, s4=0.6 / 0.9, s5=0.1 / 0.9),
        id="forbidden-alternatives-dropped",
    ),
    pytest.param(
        # Listed: 0.9; 0.1 left over, at most 0.2 each, shared by the three scores not shown.
        [*OPEN, t("4", 0.7, ("4", 0.7), ("3", 0.2)), *CLOSE],
        ONE_TO_FIVE,
        4,
        spread(ONE_TO_FIVE, s1=0.1 / 3, s2=0.1 / 3, s3=0.2, s4=0.7, s5=0.1 / 3),
        id="unlisted-scores-share-what-is-left",
    ),
    pytest.param(
        # No list: the token's own probability, the rest spread over the other scores.
        [*OPEN, t("4", 0.7), *CLOSE],
        ONE_TO_FIVE,
        4,
        spread(ONE_TO_FIVE, s1=0.075, s2=0.075, s3=0.075, s4=0.7, s5=0.075),
        id="no-alternatives-listed",
    ),
    pytest.param(
        # The value shares its first token with the structure before it.
        [s('{"'), s("score"), t('": 7', 0.5, ('": 8', 0.3), ('":6', 0.1), ('"', 0.1)), *CLOSE],
        ZERO_TO_TEN,
        7,
        spread(ZERO_TO_TEN, s6=0.1 / 0.9, s7=0.5 / 0.9, s8=0.3 / 0.9),
        id="value-inside-the-first-token",
    ),
    pytest.param(
        # "10" in one token; "1" could still be 1 or 10: half each.
        [*OPEN, t("10", 0.5, ("10", 0.5), ("9", 0.3), ("1", 0.1), ("8", 0.1)), *CLOSE],
        ZERO_TO_TEN,
        10,
        spread(ZERO_TO_TEN, s1=0.05, s8=0.1, s9=0.3, s10=0.55),
        id="ten-in-one-token",
    ),
    pytest.param(
        # "1" then "0": the second position decides between 1 ("}") and 10 ("0"); "15" is out.
        [
            *OPEN,
            t("1", 0.6, ("1", 0.6), ("9", 0.3), ("8", 0.1)),
            t("0", 0.8, ("0", 0.8), ("}", 0.15), ("5", 0.05)),
            *CLOSE,
        ],
        ZERO_TO_TEN,
        10,
        spread(ZERO_TO_TEN, s1=0.6 * 0.15 / 0.95, s8=0.1, s9=0.3, s10=0.6 * 0.8 / 0.95),
        id="ten-digit-by-digit",
    ),
    pytest.param(
        [
            *OPEN,
            t("1", 0.6, ("1", 0.6), ("9", 0.3), ("8", 0.1)),
            t("}", 0.7, ("}", 0.7), ("0", 0.3)),
        ],
        ZERO_TO_TEN,
        1,
        spread(ZERO_TO_TEN, s1=0.6 * 0.7, s8=0.1, s9=0.3, s10=0.6 * 0.3),
        id="one-decided-by-the-closing-brace",
    ),
    pytest.param(
        [
            *OPEN,
            t("7", 0.9, ("7", 0.9), ("6", 0.1)),
            # Already decided after "7": this position (raw p=0.2, no list) is not read.
            t("}", 0.2),
        ],
        ZERO_TO_TEN,
        7,
        spread(ZERO_TO_TEN, s6=0.1, s7=0.9),
        id="stops-once-decided",
    ),
    pytest.param(
        [
            *OPEN,
            t("-", 0.4, ("-", 0.4), ("0", 0.35), ("1", 0.25)),
            t("1", 0.75, ("1", 0.75), ("2", 0.25)),
            *CLOSE,
        ],
        MINUS_TWO_TO_TWO,
        -1,
        spread(MINUS_TWO_TO_TWO, m2=0.4 * 0.25, m1=0.4 * 0.75, s0=0.35, s1=0.25),
        id="negative-sign-then-digit",
    ),
    pytest.param(
        [*OPEN, t("-1", 0.5, ("-1", 0.5), ("0", 0.3), ("-2", 0.2)), *CLOSE],
        MINUS_TWO_TO_TWO,
        -1,
        spread(MINUS_TWO_TO_TWO, m2=0.2, m1=0.5, s0=0.3),
        id="negative-in-one-token",
    ),
    pytest.param(
        # "-" is either negative score, unresolved: half each.
        [*OPEN, t("2", 0.6, ("2", 0.6), ("-", 0.2), ("1", 0.2)), *CLOSE],
        MINUS_TWO_TO_TWO,
        2,
        spread(MINUS_TWO_TO_TWO, m2=0.1, m1=0.1, s1=0.2, s2=0.6),
        id="a-listed-sign-splits-over-the-negatives",
    ),
    pytest.param(
        # 0-100: "10" can be 10 or 100; the listed "9" is 9 or 90..99, eleven scores.
        [
            *OPEN,
            t("10", 0.5, ("10", 0.5), ("9", 0.5)),
            t("0", 0.6, ("0", 0.6), ("}", 0.4)),
            *CLOSE,
        ],
        list(range(0, 101)),
        100,
        {
            **dict.fromkeys(range(0, 101), 0.0),
            **dict.fromkeys([9, *range(90, 100)], 0.5 / 11),
            10: 0.5 * 0.4,
            100: 0.5 * 0.6,
        },
        id="hundred-in-two-tokens",
    ),
    pytest.param(
        # A score quoted inside the rationale is no answer.
        [
            s('{"rationale": "it says \\"score\\": 1", "score": '),
            t("3", 0.8, ("3", 0.8), ("2", 0.2)),
            *CLOSE,
        ],
        ONE_TO_FIVE,
        3,
        spread(ONE_TO_FIVE, s2=0.2, s3=0.8),
        id="after-a-rationale",
    ),
]


@pytest.mark.parametrize(("tokens", "scores", "chosen", "expected"), CASES)
def test_distribution_matches_the_hand_sums(
    tokens: list[TokenLogprob], scores: list[int], chosen: int, expected: dict[int, float]
) -> None:
    found = score_distribution(tokens, key="score", scores=scores, chosen=chosen)
    assert found is not None
    assert list(found) == scores
    assert found == pytest.approx(expected)
    assert sum(found.values()) == pytest.approx(1.0)


@pytest.mark.parametrize(
    ("content", "chosen"),
    [
        pytest.param('{"score": 5}', 4, id="another-score-written"),
        pytest.param('{"score": "4"}', 4, id="a-string"),
        pytest.param('{"score": 4.0}', 4, id="not-an-integer"),
        pytest.param('{"rating": 4}', 4, id="no-score-member"),
        pytest.param('{"score": 04}', 4, id="leading-zero"),
        pytest.param('{"score": 9}', 9, id="outside-the-scale"),
    ],
)
def test_nothing_to_read(content: str, chosen: int) -> None:
    tokens = [t(content, 0.9, (content, 0.9))]
    assert score_distribution(tokens, key="score", scores=ONE_TO_FIVE, chosen=chosen) is None


def test_each_answer_of_a_pack_is_read_in_its_own_region() -> None:
    tokens = [
        s('{"answers": [{"id": "1", "score": '),
        t("2", 0.6, ("2", 0.6), ("3", 0.4)),
        s('}, {"id": "2", "score": '),
        t("5", 0.9, ("5", 0.9), ("4", 0.1)),
        s("}]}"),
    ]
    first, second = array_elements("".join(x.token for x in tokens), "answers")
    one = score_distribution(tokens, key="score", scores=ONE_TO_FIVE, chosen=2, region=first)
    two = score_distribution(tokens, key="score", scores=ONE_TO_FIVE, chosen=5, region=second)
    assert one == pytest.approx(spread(ONE_TO_FIVE, s2=0.6, s3=0.4))
    assert two == pytest.approx(spread(ONE_TO_FIVE, s4=0.1, s5=0.9))
    assert (
        score_distribution(tokens, key="score", scores=ONE_TO_FIVE, chosen=5, region=first) is None
    )


@pytest.mark.parametrize(
    ("text", "scores", "expected"),
    [
        ("1", ZERO_TO_TEN, {1, 10}),
        ("1}", ZERO_TO_TEN, {1}),
        ("1 ", ZERO_TO_TEN, {1}),
        ("10,", ZERO_TO_TEN, {10}),
        ("15", ZERO_TO_TEN, set()),
        ("1.", ZERO_TO_TEN, set()),
        ("-", MINUS_TWO_TO_TWO, {-2, -1}),
        ("-0", MINUS_TWO_TO_TWO, set()),
        ('"', ONE_TO_FIVE, set()),
    ],
)
def test_consistent_scores(text: str, scores: list[int], expected: set[int]) -> None:
    assert consistent_scores(text, scores) == expected
