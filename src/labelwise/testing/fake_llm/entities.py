"""The entities the fake finds in an item's text, each with its belief over the entity types.

Candidates, in order of precedence where they overlap: a text the item names with its type after
it ("Paris (LOC)", "Acme [ORG]"); a date, an amount of money or an email address, when a type is
of that kind; a run of capitalised words, when a type is a person, a place or an organization.
Each candidate gets a distribution over the types: the judge's named mass on a type the item
names, a confident one on the kind the run's surroundings suggest, an unsure hashed guess among
the proper-noun types otherwise. Rarely (a share of items drawn from the seed) the answer also
holds a text that is not in the item, so the reader's not-found path is exercised.
Deterministic in the judge; pure functions.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from labelwise.testing.fake_llm.entity_kinds import (
    PATTERNS,
    PROPER,
    STOPWORDS,
    label_kind,
    proper_kind,
)
from labelwise.testing.fake_llm.item import item_fields, main_text
from labelwise.testing.fake_llm.judge import Judge, stable_seed

# The share of items (with any candidate) whose answer names a text the item does not hold.
PHANTOM_RATE = 0.05
_WORD = re.compile(r"[^\W_][\w'\u2019&-]*")
_MAX_RUN = 5


@dataclass(frozen=True)
class Entity:
    """One entity of the answer: its text, where it starts (the item's length for a text the
    item does not hold), which occurrence of the text it is, P(type) over the entity types, and
    for a text not in the item, the real text it was misread from."""

    text: str
    start: int
    occurrence: int
    probs: tuple[float, ...]
    misread_from: str | None = None


def entities(
    judge: Judge, labels: Sequence[str], notes: Mapping[str, str], text_field: str | None = None
) -> list[Entity]:
    """The entities the fake answers for the judge's item, in order of position. `notes`: the
    types' descriptions; `text_field`: the item field the text is in, when the prompt says."""
    key = ("entities", tuple(labels), tuple(sorted(notes.items())), text_field)
    found = judge.memo.get(key)
    if found is None:
        fields = item_fields(judge.text)
        text = fields.get(text_field, "") if text_field else main_text(fields)
        found = judge.memo[key] = _entities(judge, text, list(labels), notes)
    return found


def _entities(judge: Judge, text: str, labels: list[str], notes: Mapping[str, str]) -> list[Entity]:
    kinds = [label_kind(label, notes.get(label, "")) for label in labels]
    taken: list[tuple[int, int]] = []
    chosen: list[tuple[int, int, list[float]]] = []

    def take(start: int, end: int, probs: list[float] | None) -> None:
        if start < end and all(end <= s or start >= e for s, e in taken):
            taken.append((start, end))
            if probs is not None:
                chosen.append((start, end, probs))

    for start, end, marker, index in _named(text, labels):
        take(start, end, judge.focused(labels, [index], judge.named_mass(), "span", start))
        take(*marker, None)
    for kind, pattern in PATTERNS.items():
        of_kind = [i for i, k in enumerate(kinds) if k == kind]
        for match in pattern.finditer(text) if of_kind else ():
            take(*match.span(), judge.focused(labels, of_kind, judge.named_mass(), "span"))
    proper = [i for i, k in enumerate(kinds) if k in PROPER]
    for start, end, kind in _proper_runs(text) if proper else ():
        take(start, end, _proper_probs(judge, labels, kinds, text[start:end], kind))
    chosen.sort()
    result = [Entity(text[s:e], s, _occurrence(text, text[s:e], s), tuple(p)) for s, e, p in chosen]
    if result and judge.unit("phantom") < PHANTOM_RATE:
        base = result[stable_seed(judge.unit("phantom base")) % len(result)]
        result.append(Entity(_misread(base.text, text), len(text), 1, base.probs, base.text))
    return result


def _named(text: str, labels: Sequence[str]) -> list[tuple[int, int, tuple[int, int], int]]:
    """Texts the item names with a type after them: (start, end, the marker's span, type)."""
    found = []
    for index, label in enumerate(labels):
        marker = re.compile(r"\s*[(\[]\s*" + re.escape(label) + r"\s*[)\]]", re.IGNORECASE)
        for match in marker.finditer(text):
            words = list(_WORD.finditer(text, 0, match.start()))
            if not words or words[-1].end() != match.start():
                continue
            run = [words[-1]]
            if run[0].group()[:1].isupper():
                for word in reversed(words[:-1]):
                    gap = text[word.end() : run[0].start()]
                    if gap != " " or not word.group()[:1].isupper() or len(run) >= _MAX_RUN:
                        break
                    run.insert(0, word)
            while len(run) > 1 and run[0].group().lower() in STOPWORDS:
                run = run[1:]
            found.append((run[0].start(), run[-1].end(), match.span(), index))
    return found


def _proper_runs(text: str) -> list[tuple[int, int, str | None]]:
    """Runs of capitalised words (not starting with a word that is never a name), with the
    kind their surroundings suggest."""
    words = list(_WORD.finditer(text))
    runs: list[list[re.Match[str]]] = []
    for i, word in enumerate(words):
        if not word.group()[:1].isupper():
            continue
        joined = runs and runs[-1][-1] is words[i - 1] and text[words[i - 1].end() : word.start()]
        if joined == " " and len(runs[-1]) < _MAX_RUN:
            runs[-1].append(word)
        else:
            runs.append([word])
    found = []
    for run in runs:
        while run and run[0].group().lower() in STOPWORDS:
            run = run[1:]
        if not run:
            continue
        at = words.index(run[0])
        before = words[at - 1].group() if at > 0 else ""
        after_at = words.index(run[-1]) + 1
        after = words[after_at].group() if after_at < len(words) else ""
        start, end = run[0].start(), run[-1].end()
        kind = proper_kind(text[start:end], [w.group() for w in run], before, after)
        found.append((start, end, kind))
    return found


def _proper_probs(
    judge: Judge, labels: list[str], kinds: list[str | None], text: str, kind: str | None
) -> list[float]:
    of_kind = [i for i, k in enumerate(kinds) if k == kind]
    if of_kind:
        mass = 0.65 + 0.25 * judge.unit("span kind", text)
        return judge.focused(labels, of_kind, mass, "span", text)
    proper = [i for i, k in enumerate(kinds) if k in PROPER]
    favourite = proper[stable_seed(judge.unit("span guess", text)) % len(proper)]
    mass = 0.45 + 0.25 * judge.unit("span mass", text)
    return judge.focused(labels, [favourite], mass, "span", text)


def _occurrence(text: str, entity: str, start: int) -> int:
    """Which occurrence of `entity` in `text` (1 = the first) starts at `start`, counting
    non-overlapping matches from the start of the text, as a reader finds them."""
    count, at = 0, text.find(entity)
    while at >= 0 and at + len(entity) <= start:
        count += 1
        at = text.find(entity, at + len(entity))
    return count + 1


def _misread(entity: str, text: str) -> str:
    """`entity` misspelt into a text the item does not hold, even ignoring case."""
    folded = text.casefold()
    for candidate in (entity + "s", entity[:-1] + "x", entity + "e", entity + "qz"):
        if candidate.strip() and candidate.casefold() not in folded:
            return candidate
    return entity + " " + "x" * (len(text) + 1)
