"""Finding a named entity in an item's text: the model names the entity's text and which occurrence
of it it means, never offsets (models count characters badly); code finds the offsets.

Offsets are 0-based, end-exclusive, in Python code points, and a located span's text is always
exactly `text[start:end]`. Occurrence k is the k-th non-overlapping exact match, scanning from the
start. When there is no exact k-th match, the search is repeated loosely: case folded, accents
compared decomposed (NFD, so a composed "é" finds a decomposed one), and any run of whitespace
equal to any other; the loose match is mapped back to the original characters. Otherwise the
entity is not found. A span never ends inside a character sequence that is drawn as one symbol:
it is extended over trailing combining marks, variation selectors, skin-tone modifiers and
zero-width-joined emoji.

Pure functions; nothing does I/O.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

_ZWJ = "\u200d"


@dataclass(frozen=True)
class Located:
    start: int
    end: int


def locate(text: str, needle: str, occurrence: int) -> Located | None:
    """Where the `occurrence`-th (1 = first) match of `needle` is in `text`, or None."""
    if occurrence < 1 or not needle.strip():
        return None
    exact = _nth(_exact_matches(text, needle), occurrence)
    found = exact if exact is not None else _nth(_loose_matches(text, needle), occurrence)
    if found is None:
        return None
    return Located(found.start, symbol_end(text, found.end))


def occurrence_of(text: str, start: int, end: int) -> int:
    """Which occurrence of `text[start:end]` the span is, as `locate` counts: 1 + the number of
    non-overlapping exact matches that end at or before `start`. For a span that is not itself
    one of those matches (it overlaps the previous one), this names the next match instead."""
    needle = text[start:end]
    earlier = sum(1 for match in _exact_matches(text, needle) if match.end <= start)
    return earlier + 1


def _nth(matches: Iterator[Located], occurrence: int) -> Located | None:
    for count, match in enumerate(matches, start=1):
        if count == occurrence:
            return match
    return None


def _exact_matches(text: str, needle: str) -> Iterator[Located]:
    """Non-overlapping exact matches, left to right."""
    if not needle:
        return
    i = text.find(needle)
    while i >= 0:
        yield Located(i, i + len(needle))
        i = text.find(needle, i + len(needle))


def _folded(char: str) -> str:
    """How one character compares loosely: decomposed, then case folded (ß -> ss)."""
    return unicodedata.normalize("NFD", unicodedata.normalize("NFD", char).casefold())


def _loose_key(text: str) -> tuple[str, list[int], list[bool], list[bool]]:
    """`text` folded, with for each folded character the original offset it came from and
    whether it is the first / last folded character of that original character (a loose match
    must start and end on whole original characters)."""
    folded: list[str] = []
    origin: list[int] = []
    first: list[bool] = []
    last: list[bool] = []
    i = 0
    while i < len(text):
        if text[i].isspace():
            j = i
            while j < len(text) and text[j].isspace():
                j += 1
            folded.append(" ")
            origin.append(i)
            first.append(True)
            last.append(True)
            i = j
            continue
        part = _folded(text[i]) or text[i]
        for k, char in enumerate(part):
            folded.append(char)
            origin.append(i)
            first.append(k == 0)
            last.append(k == len(part) - 1)
        i += 1
    return "".join(folded), origin, first, last


def _loose_matches(text: str, needle: str) -> Iterator[Located]:
    """Non-overlapping loose matches, mapped back to offsets in `text`."""
    key = " ".join(needle.split())
    wanted = "".join(_folded(char) or char for char in key)
    if not wanted:
        return
    folded, origin, first, last = _loose_key(text)
    i = folded.find(wanted)
    while i >= 0:
        end = i + len(wanted) - 1
        if first[i] and last[end]:
            # `wanted` neither starts nor ends with a space, so both ends are real characters.
            yield Located(origin[i], origin[end] + 1)
            i = folded.find(wanted, end + 1)
        else:
            i = folded.find(wanted, i + 1)


def joins(char: str) -> bool:
    """Whether `char` belongs to the symbol before it."""
    code = ord(char)
    return (
        unicodedata.combining(char) != 0
        or 0xFE00 <= code <= 0xFE0F  # variation selectors
        or 0x1F3FB <= code <= 0x1F3FF  # skin-tone modifiers
        or 0xE0020 <= code <= 0xE007F  # tag characters (subdivision flags)
    )


def symbol_end(text: str, end: int) -> int:
    """`end`, moved past the rest of the symbol the character before it begins."""
    while end < len(text):
        if joins(text[end]):
            end += 1
        elif text[end] == _ZWJ and end + 1 < len(text):
            end += 2
        else:
            break
    return end


def without_overlaps(spans: Sequence[tuple[int, int, str]]) -> list[int]:
    """The positions of `spans` (start, end, label) to keep, in the order given: a span equal to
    or overlapping one kept before it is dropped. The first named wins: values are flat, one
    label per character, as CoNLL and most span tools expect."""
    kept: list[int] = []
    for position, (start, end, _) in enumerate(spans):
        if all(end <= spans[k][0] or spans[k][1] <= start for k in kept):
            kept.append(position)
    return kept
