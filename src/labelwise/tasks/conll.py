"""Spans as CoNLL: one token a line with its BIO tag, a blank line after each item.

Tokenization (stated in the file's first line, since tags only mean something with it): a word
is a run of letters, digits and underscores together with the combining marks on them; every
other character that is not whitespace is a token alone, with its modifiers (an emoji keeps its
skin tone, variation selector and zero-width-joined parts); whitespace separates tokens and is
dropped. A token is tagged with the span it overlaps: `B-<label>` for the span's first token,
`I-<label>` for the rest, `O` outside every span. A span that begins or ends inside a token tags
the whole token (CoNLL cannot say less than a token). Values are flat (no overlapping spans), so
each token has at most one span. An item starts with a `# id = <external id>` comment.

Pure functions; nothing does I/O.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

from labelwise.scoring.span_location import joins, symbol_end

TOKENIZATION = (
    "words (runs of letters, digits and underscores, with their combining marks) and every "
    "other non-space character alone (with its modifiers); whitespace separates and is dropped; "
    "a token overlapping a span carries its tag"
)
HEADER = f"# tokenization: {TOKENIZATION}"


def _is_word(char: str) -> bool:
    return char.isalnum() or char == "_"


def tokenize(text: str) -> list[tuple[int, int]]:
    """The tokens of `text` as (start, end) offsets."""
    found: list[tuple[int, int]] = []
    i = 0
    while i < len(text):
        if text[i].isspace():
            i += 1
            continue
        end = symbol_end(text, i + 1)
        if _is_word(text[i]):
            while end < len(text) and (_is_word(text[end]) or joins(text[end])):
                end = symbol_end(text, end + 1)
        found.append((i, end))
        i = end
    return found


def bio_tags(text: str, spans: Sequence[Mapping[str, Any]]) -> list[tuple[str, str]]:
    """Each token of `text` with its BIO tag."""
    ordered = sorted(spans, key=lambda s: (s["start"], s["end"]))
    tagged: list[tuple[str, str]] = []
    previous: Mapping[str, Any] | None = None
    for start, end in tokenize(text):
        span = next((s for s in ordered if s["start"] < end and start < s["end"]), None)
        prefix = "I" if span is previous else "B"
        tag = "O" if span is None else f"{prefix}-{span['label']}"
        tagged.append((text[start:end], tag))
        previous = span
    return tagged


def _comment(value: str) -> str:
    """A value on one comment line: line breaks would start lines CoNLL readers take as tokens."""
    return " ".join(value.split())


def conll_document(doc_id: str, text: str, spans: Sequence[Mapping[str, Any]]) -> list[str]:
    """One item's lines, ending with the blank line that separates items."""
    lines = [f"# id = {_comment(doc_id)}"]
    lines += [f"{token}\t{tag}" for token, tag in bio_tags(text, spans)]
    return [*lines, ""]


def conll_lines(documents: Iterable[tuple[str, str, Sequence[Mapping[str, Any]]]]) -> Iterator[str]:
    """The file, line by line (each ending in a newline): the tokenization first, then every
    (id, text, spans) document."""
    yield HEADER + "\n"
    for doc_id, text, spans in documents:
        for line in conll_document(doc_id, text, spans):
            yield line + "\n"
