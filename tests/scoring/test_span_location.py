"""Finding a named entity in a text: exact occurrences, loose matches mapped back, symbols."""

from __future__ import annotations

import pytest

from labelwise.scoring.span_location import Located, locate, occurrence_of, without_overlaps

DECOMPOSED_CAFE = "Cafe\u0301 Noir"  # "é" as e + combining acute


@pytest.mark.parametrize(
    ("text", "needle", "occurrence", "found"),
    [
        ("Ann met Ann in Paris", "Ann", 1, (0, 3)),
        ("Ann met Ann in Paris", "Ann", 2, (8, 11)),
        ("Ann met Ann in Paris", "Ann", 3, None),
        ("Ann met Ann in Paris", "Bob", 1, None),
        ("Ann met Ann in Paris", "Ann", 0, None),
        ("Ann met Ann in Paris", "   ", 1, None),
        # Non-overlapping: "aa" occurs twice in "aaaa" (0 and 2), not three times.
        ("aaaa", "aa", 2, (2, 4)),
        ("aaaa", "aa", 3, None),
        # Loose: case, whitespace runs, composed against decomposed accents.
        ("met NEW  YORK today", "New York", 1, (4, 13)),
        ("met new\nyork and New York", "new york", 2, (17, 25)),
        (DECOMPOSED_CAFE, "Café Noir", 1, (0, 10)),
        ("Café Noir", "CAFE\u0301", 1, (0, 4)),
        ("Straße 5", "STRASSE", 1, (0, 6)),
        # Exact wins over loose: the second exact "paris" is occurrence 2, not the capitalised one.
        ("Paris, paris, paris", "paris", 2, (14, 19)),
        # A span does not end inside a symbol: combining marks, skin tones, joined emoji.
        (DECOMPOSED_CAFE, "Cafe", 1, (0, 5)),
        ("hi 👋🏽 there", "👋", 1, (3, 5)),
        ("family 👨\u200d👩\u200d👧 here", "👨", 1, (7, 12)),
        ("flag ❤\ufe0f ok", "❤", 1, (5, 7)),
        ("emoji 😀 then 😀", "😀", 2, (13, 14)),
    ],
)
def test_locate(text: str, needle: str, occurrence: int, found: tuple[int, int] | None) -> None:
    where = locate(text, needle, occurrence)
    assert where == (Located(*found) if found else None)


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("Ann met Ann", "ann"),
        ("  Zoë   Smith ", "zoe\u0308 smith"),
        ("İstanbul is big", "i̇stanbul"),
        ("x 👩🏾\u200d💻 y", "👩"),
    ],
)
def test_located_text_is_always_the_slice(text: str, needle: str) -> None:
    where = locate(text, needle, 1)
    assert where is not None
    assert 0 <= where.start < where.end <= len(text)
    assert text[where.start : where.end].strip() == text[where.start : where.end]


def test_a_loose_match_never_starts_or_ends_inside_a_character() -> None:
    # "ß" folds to "ss": a match may take it whole, never half of it.
    assert locate("Straße", "sse", 1) == Located(4, 6)
    assert locate("Straße", "se", 1) is None
    assert locate("Straße", "as", 1) is None


@pytest.mark.parametrize(
    ("text", "start", "end", "occurrence"),
    [
        ("Ann met Ann in Paris", 0, 3, 1),
        ("Ann met Ann in Paris", 8, 11, 2),
        ("Ann met Ann in Paris", 15, 20, 1),
        ("aaaa", 2, 4, 2),
    ],
)
def test_occurrence_of_round_trips_with_locate(
    text: str, start: int, end: int, occurrence: int
) -> None:
    assert occurrence_of(text, start, end) == occurrence
    assert locate(text, text[start:end], occurrence) == Located(start, end)


@pytest.mark.parametrize(
    ("spans", "kept"),
    [
        ([], []),
        ([(0, 3, "A"), (4, 6, "B")], [0, 1]),
        ([(0, 3, "A"), (0, 3, "A")], [0]),
        ([(0, 3, "A"), (0, 3, "B")], [0]),
        ([(0, 8, "A"), (4, 8, "B"), (8, 9, "C")], [0, 2]),
        ([(4, 8, "B"), (0, 8, "A")], [0]),
        ([(0, 3, "A"), (3, 5, "A")], [0, 1]),
    ],
)
def test_without_overlaps_keeps_the_first_named(
    spans: list[tuple[int, int, str]], kept: list[int]
) -> None:
    assert without_overlaps(spans) == kept
