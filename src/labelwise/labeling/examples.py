"""Reviewed items as few-shot examples: the most similar ones go into each item's prompt.

Similarity is BM25 over the items' words: no model to download, fast enough for thousands of
examples in pure Python, and good at what matters here (an item that shares its rare words with a
reviewed one is likely to be labeled the same way). The index is pure; `ExampleCache` keeps one
per project version in a process and says when it is due to be rebuilt from the store.
"""

from __future__ import annotations

import json
import math
import re
import time
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

from labelwise.domain import Example

_WORD = re.compile(r"\w+", re.UNICODE)
_K1, _B = 1.2, 0.75


def item_text(data: Mapping[str, Any]) -> str:
    """What an item is compared by: its `text`, or else all its values."""
    text = data.get("text")
    if isinstance(text, str):
        return text
    return " ".join(v if isinstance(v, str) else json.dumps(v) for v in data.values())


def words(text: str) -> list[str]:
    return [w.lower() for w in _WORD.findall(text)]


class ExampleIndex:
    """BM25 over examples' words; `most_similar` returns the best `k` for a text."""

    def __init__(self, examples: Sequence[Example]) -> None:
        self.examples = list(examples)
        self._postings: dict[str, list[tuple[int, int]]] = defaultdict(list)
        self._lengths: list[int] = []
        self._texts: list[str] = []
        for index, example in enumerate(self.examples):
            text = item_text(example.data)
            tokens = words(text)
            self._texts.append(text.strip())
            self._lengths.append(len(tokens))
            for word, count in Counter(tokens).items():
                self._postings[word].append((index, count))
        self._average = sum(self._lengths) / len(self._lengths) if self._lengths else 0.0

    def most_similar(
        self, data: Mapping[str, Any], k: int, *, exclude_item: int | None = None
    ) -> list[Example]:
        """The `k` examples most like `data`, best first; never the item itself (by id or by
        identical text), so an item is never shown its own answer."""
        if k <= 0 or not self.examples:
            return []
        text = item_text(data)
        n = len(self.examples)
        scores: dict[int, float] = defaultdict(float)
        for word in set(words(text)):
            postings = self._postings.get(word)
            if not postings:
                continue
            idf = math.log(1 + (n - len(postings) + 0.5) / (len(postings) + 0.5))
            for index, count in postings:
                norm = _K1 * (1 - _B + _B * self._lengths[index] / (self._average or 1))
                scores[index] += idf * count * (_K1 + 1) / (count + norm)
        own = text.strip()
        ranked = sorted(scores.items(), key=lambda pair: (-pair[1], pair[0]))
        chosen = []
        for index, _score in ranked:
            example = self.examples[index]
            if example.item_id == exclude_item or self._texts[index] == own:
                continue
            chosen.append(example)
            if len(chosen) == k:
                break
        return chosen


class ExampleCache:
    """One index per project, rebuilt from the store at most every `ttl_seconds`."""

    def __init__(self, ttl_seconds: float = 30.0) -> None:
        self.ttl_seconds = ttl_seconds
        self._indexes: dict[int, tuple[float, ExampleIndex]] = {}

    def get(self, project_id: int, *, now: float | None = None) -> ExampleIndex | None:
        """The cached index, or None when it is missing or due for a rebuild."""
        entry = self._indexes.get(project_id)
        now = time.monotonic() if now is None else now
        if entry is None or now - entry[0] > self.ttl_seconds:
            return None
        return entry[1]

    def put(self, project_id: int, index: ExampleIndex, *, now: float | None = None) -> None:
        self._indexes[project_id] = (time.monotonic() if now is None else now, index)
