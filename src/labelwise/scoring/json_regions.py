"""Where things sit in a model's JSON answer, read from the raw generated text.

Confidence is read at the tokens that spell a value, so the value must be found by its offsets in
the text the model produced, not in the parsed object. The scanner here knows JSON strings and
brackets, tolerates a truncated tail, and tells structural keys from keys quoted inside a string.

Everything here is a pure function of its arguments; nothing does I/O.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache

WHITESPACE = " \t\n\r"


@dataclass(frozen=True)
class Member:
    """One `"key": value` pair of a JSON object in the content."""

    # Keys of the enclosing containers, outermost first; None for the root or for an array.
    path: tuple[str | None, ...]
    key: str
    key_end: int  # offset of the quote closing the key
    value_start: int  # offset of the first character of the value


def string_end(content: str, start: int) -> int:
    """Offset of the quote closing a JSON string whose body starts at `start`; -1 if unclosed."""
    i = start
    while i < len(content):
        c = content[i]
        if c == "\\":
            i += 2
            continue
        if c == '"':
            return i
        i += 1
    return -1


def decode_string(raw: str) -> str | None:
    """The text of a JSON string body, or None when the escapes are malformed."""
    try:
        value = json.loads(f'"{raw}"')
    except ValueError:
        return None
    return value if isinstance(value, str) else None


def skip_whitespace(content: str, i: int) -> int:
    """The first offset at or after `i` that is not JSON whitespace."""
    while i < len(content) and content[i] in WHITESPACE:
        i += 1
    return i


@lru_cache(maxsize=64)
def members_of(content: str) -> tuple[Member, ...]:
    """Every object member in `content`, remembered: every item of a request about several
    reads the same content."""
    return tuple(_members(content))


def _members(content: str) -> Iterator[Member]:
    """Every object member in `content`, found by a small scanner that knows strings.

    A scanner rather than a regex because a key's spelling may also appear inside another string
    (a rationale quoting `"label": "x"`); only structural keys count. It tolerates content the
    parser would reject (a truncated tail), yielding what it found before the damage.
    """
    stack: list[tuple[str, str | None]] = []  # (bracket, key the container is the value of)
    pending_key: str | None = None
    i = 0
    while i < len(content):
        c = content[i]
        if c == '"':
            end = string_end(content, i + 1)
            if end < 0:
                return
            after = skip_whitespace(content, end + 1)
            is_key = bool(stack) and stack[-1][0] == "{" and content[after : after + 1] == ":"
            if is_key:
                key = decode_string(content[i + 1 : end])
                if key is not None:
                    path = tuple(name if bracket == "{" else None for bracket, name in stack)
                    yield Member(path, key, end, skip_whitespace(content, after + 1))
                pending_key = key
                i = after + 1
                continue
            i = end + 1
            continue
        if c in "{[":
            stack.append((c, pending_key))
            pending_key = None
        elif c in "}]":
            if stack:
                stack.pop()
            pending_key = None
        elif c == ",":
            pending_key = None
        i += 1


@dataclass(frozen=True)
class Region:
    """Where one answer object sits in the generated content: the container path its members
    have (see `Member.path`) and the character span it occupies. The default is the whole
    content as one root object; an answer for several items holds one region per item."""

    path: tuple[str | None, ...] = (None,)
    start: int = 0
    end: int | None = None

    def holds(self, member: Member, *, under: tuple[str, ...] = ()) -> bool:
        if member.path != self.path + under:
            return False
        return self.start <= member.key_end and (self.end is None or member.key_end < self.end)


ROOT = Region()
# The members of an object inside an array that is the value of a root member.
_ELEMENT_PATH: tuple[str | None, ...] = (None, None, None)


def array_elements(content: str, key: str) -> list[Region]:
    """The regions of the objects in the array under the root member `key`, in order.

    An answer about several items is `{"<key>": [{...}, {...}]}`; each item's confidence is
    read only inside its own object. A truncated tail yields the objects completed before it.
    """
    member = next((m for m in members_of(content) if m.path == (None,) and m.key == key), None)
    if member is None or content[member.value_start : member.value_start + 1] != "[":
        return []
    return object_elements(content, member.value_start, _ELEMENT_PATH)


def object_elements(content: str, array_start: int, path: tuple[str | None, ...]) -> list[Region]:
    """The objects of the array opening at `array_start`, in order, as regions whose members
    have `path`; a truncated tail yields the objects completed before it."""
    regions: list[Region] = []
    depth, start = 0, 0
    i = array_start + 1
    while i < len(content):
        c = content[i]
        if c == '"':
            end = string_end(content, i + 1)
            if end < 0:
                break
            i = end + 1
            continue
        if c in "{[":
            if depth == 0:
                start = i
            depth += 1
        elif c in "}]":
            if depth == 0:
                break  # the array's own closing bracket
            depth -= 1
            if depth == 0 and content[start] == "{":
                regions.append(Region(path, start, i + 1))
        i += 1
    return regions
