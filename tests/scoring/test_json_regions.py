"""Locating members and answer objects in raw JSON text: tables of contents and what is found."""

from __future__ import annotations

import pytest

from labelwise.scoring.json_regions import (
    ROOT,
    Member,
    Region,
    array_elements,
    decode_string,
    members_of,
    skip_whitespace,
    string_end,
)


@pytest.mark.parametrize(
    ("content", "start", "expected"),
    [
        ('"abc"', 1, 4),
        ('"a\\"b"', 1, 5),  # an escaped quote does not close the string
        ('"a\\\\"', 1, 4),  # an escaped backslash does not escape the quote after it
        ('"abc', 1, -1),  # unclosed
        ('""', 1, 1),
    ],
)
def test_string_end(content: str, start: int, expected: int) -> None:
    assert string_end(content, start) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("plain", "plain"),
        ("caf\\u00e9", "café"),
        ("a\\/b", "a/b"),
        ("bad\\x", None),
        ("", ""),
    ],
)
def test_decode_string(raw: str, expected: str | None) -> None:
    assert decode_string(raw) == expected


@pytest.mark.parametrize(
    ("content", "i", "expected"),
    [(" \t\n\rx", 0, 4), ("x", 0, 0), ("  ", 0, 2), ('": "v', 2, 3)],
)
def test_skip_whitespace(content: str, i: int, expected: int) -> None:
    assert skip_whitespace(content, i) == expected


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ('{"label": "a"}', [((None,), "label", 7, 10)]),
        (
            '{"rationale": "quotes \\"label\\": x", "label": "b"}',
            [((None,), "rationale", 11, 14), ((None,), "label", 43, 46)],
        ),
        (
            '{"labels": {"x": true}}',
            [((None,), "labels", 8, 11), ((None, "labels"), "x", 14, 17)],
        ),
        (
            '{"answers": [{"label": "a"}',
            [((None,), "answers", 9, 12), ((None, None, None), "label", 20, 23)],
        ),
        ('{"label": "unclosed', [((None,), "label", 7, 10)]),
        ('["label": "x"]', []),  # not an object: no members
    ],
)
def test_members_of(
    content: str, expected: list[tuple[tuple[str | None, ...], str, int, int]]
) -> None:
    assert list(members_of(content)) == [Member(*row) for row in expected]


@pytest.mark.parametrize(
    ("region", "member", "under", "expected"),
    [
        (ROOT, Member((None,), "label", 7, 10), (), True),
        (ROOT, Member((None, "labels"), "x", 14, 17), (), False),
        (ROOT, Member((None, "labels"), "x", 14, 17), ("labels",), True),
        (Region((None, None, None), 12, 30), Member((None, None, None), "label", 20, 23), (), True),
        (
            Region((None, None, None), 30, 50),
            Member((None, None, None), "label", 20, 23),
            (),
            False,
        ),
        (Region((None, None, None), 0, 20), Member((None, None, None), "label", 20, 23), (), False),
    ],
)
def test_region_holds(
    region: Region, member: Member, under: tuple[str, ...], expected: bool
) -> None:
    assert region.holds(member, under=under) is expected


@pytest.mark.parametrize(
    ("content", "spans"),
    [
        ('{"answers": [{"a": 1}, {"b": "]"}]}', [(13, 21), (23, 33)]),
        ('{"answers": [{"a": [1, 2]}, 3, {"b": 2}]}', [(13, 26), (31, 39)]),
        ('{"answers": [{"a": 1}, {"b":', [(13, 21)]),  # truncated tail
        ('{"answers": {"a": 1}}', []),  # not an array
        ('{"other": [{"a": 1}]}', []),
    ],
)
def test_array_elements(content: str, spans: list[tuple[int, int]]) -> None:
    regions = array_elements(content, "answers")
    assert [(r.start, r.end) for r in regions] == spans
    assert all(r.path == (None, None, None) for r in regions)
