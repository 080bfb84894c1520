"""Spans as CoNLL BIO lines, with the tokenization stated."""

from __future__ import annotations

from typing import Any

import pytest

from labelwise.tasks.conll import HEADER, bio_tags, conll_lines, tokenize


def s(start: int, end: int, label: str) -> dict[str, Any]:
    return {"start": start, "end": end, "label": label}


@pytest.mark.parametrize(
    ("text", "tokens"),
    [
        ("", []),
        ("Hello, world!", ["Hello", ",", "world", "!"]),
        ("  New\tYork\n", ["New", "York"]),
        ("U.S. e-mail", ["U", ".", "S", ".", "e", "-", "mail"]),
        ("Jose\u0301 (ok)", ["Jose\u0301", "(", "ok", ")"]),
        ("hi 👋🏽 👨\u200d👩\u200d👧!", ["hi", "👋🏽", "👨\u200d👩\u200d👧", "!"]),
        ("snake_case 42x", ["snake_case", "42x"]),
    ],
)
def test_tokenize(text: str, tokens: list[str]) -> None:
    assert [text[a:b] for a, b in tokenize(text)] == tokens


@pytest.mark.parametrize(
    ("text", "spans", "tags"),
    [
        ("Ann met Bob", [], ["O", "O", "O"]),
        ("Ann met Bob", [s(8, 11, "PER"), s(0, 3, "PER")], ["B-PER", "O", "B-PER"]),
        ("in New York City.", [s(3, 16, "LOC")], ["O", "B-LOC", "I-LOC", "I-LOC", "O"]),
        # Two spans side by side each begin.
        ("Ann Bob", [s(0, 3, "PER"), s(4, 7, "PER")], ["B-PER", "B-PER"]),
        # A span inside a token tags the whole token.
        ("Parisian food", [s(0, 5, "LOC")], ["B-LOC", "O"]),
        ("👋🏽 Zoë", [s(3, 6, "PER")], ["O", "B-PER"]),
    ],
)
def test_bio_tags(text: str, spans: list[dict[str, Any]], tags: list[str]) -> None:
    assert [tag for _, tag in bio_tags(text, spans)] == tags


def test_file_states_its_tokenization_then_one_block_per_item() -> None:
    lines = "".join(
        conll_lines([("e1", "Ann met\nBob", [s(0, 3, "PER")]), ("e\n2", "Paris", [s(0, 5, "LOC")])])
    )
    assert lines == (
        f"{HEADER}\n# id = e1\nAnn\tB-PER\nmet\tO\nBob\tO\n\n# id = e 2\nParis\tB-LOC\n\n"
    )
    assert HEADER.startswith("# tokenization: ")
