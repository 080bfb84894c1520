"""Combining several answers to one item (samples of one model, or several models) into one label
with a confidence, and choosing which confidence to route by. Pure functions, no I/O.

Three scores can describe an item:
- `logprob`: the project's model's own probability for its label (from token logprobs);
- `agreement`: the share of answers that give the majority label;
- `combined`: each answer's probability distribution over the labels, averaged. An answer with
  logprobs puts its probability on its label and spreads the rest over the others; one without
  counts as certain. With one answer it is the logprob score; with no logprobs at all it is
  agreement; in between it weighs each vote by how sure the voter was.

Which one routes is the project's choice, or with `auto` the one that best separates right from
wrong labels (AUROC) on the version's gold.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from labelwise.scoring.evaluation import auroc

# When gold cannot decide: combining evidence is never worse than one of its parts on average.
METHOD_PREFERENCE = ("combined", "logprob", "agreement")
MIN_GOLD_TO_CHOOSE = 30


@dataclass(frozen=True)
class Vote:
    """One answer: its value, and how sure the answering model was of it, when known.

    `confidence` is the probability of the chosen label (single-label); `per_label` the
    probability of each emitted true/false flag (multi-label).
    """

    value: Any
    confidence: float | None = None
    per_label: Mapping[str, float] | None = None


def vote_mass(votes: Sequence[Vote], options: Sequence[Any]) -> dict[Any, float]:
    """Each option's summed probability over the votes: a vote puts its confidence on its own
    value and spreads the rest evenly over the other options; one without a confidence counts
    as certain."""
    if not votes:
        raise ValueError("combining needs at least one vote")
    mass = dict.fromkeys(options, 0.0)
    for vote in votes:
        p = 1.0 if vote.confidence is None else min(max(vote.confidence, 0.0), 1.0)
        others = [option for option in options if option != vote.value]
        mass[vote.value] = mass.get(vote.value, 0.0) + p
        for option in others:
            mass[option] += (1.0 - p) / len(others)
    return mass


def combine_single(votes: Sequence[Vote], labels: Sequence[str]) -> tuple[str, float]:
    """The label with the most averaged probability, and that probability. Ties go to the first
    vote's label (the project's own model at temperature 0)."""
    mass = vote_mass(votes, labels)
    first = votes[0].value
    chosen = max(mass, key=lambda label: (mass[label], label == first))
    return chosen, mass[chosen] / len(votes)


def combine_multi(
    votes: Sequence[Vote], labels: Sequence[str]
) -> tuple[list[str], dict[str, float]]:
    """Per label, the averaged probability that it applies: asserted above one half, with the
    probability of the decision as that label's confidence."""
    if not votes:
        raise ValueError("combining needs at least one vote")
    chosen: list[str] = []
    per_label: dict[str, float] = {}
    for label in labels:
        total = 0.0
        for vote in votes:
            asserted = label in vote.value
            emitted = 1.0 if vote.per_label is None else vote.per_label.get(label, 1.0)
            total += emitted if asserted else 1.0 - emitted
        p_true = total / len(votes)
        if p_true > 0.5:
            chosen.append(label)
        per_label[label] = max(p_true, 1.0 - p_true)
    return sorted(chosen), per_label


def default_method(available: Sequence[str]) -> str:
    for method in METHOD_PREFERENCE:
        if method in available:
            return method
    return available[0]


def best_separating(
    gold: Mapping[str, Sequence[tuple[float, bool]]], *, min_gold: int = MIN_GOLD_TO_CHOOSE
) -> str | None:
    """The method whose confidence best separates right from wrong on gold (AUROC); None while
    no method has `min_gold` scored items with both right and wrong among them. Ties follow
    `METHOD_PREFERENCE`."""
    ranked = []
    for method, pairs in gold.items():
        if len(pairs) < min_gold:
            continue
        score = auroc([c for c, ok in pairs if ok], [c for c, ok in pairs if not ok])
        if score is not None:
            preference = (
                METHOD_PREFERENCE.index(method) if method in METHOD_PREFERENCE else len(ranked)
            )
            ranked.append((score, -preference, method))
    return max(ranked)[2] if ranked else None


def choose_method(requested: str, available: Sequence[str], learned: str | None) -> str:
    """The score an item is routed by: the one asked for if the item has it, else what gold
    chose (`auto`), else the default order."""
    if requested != "auto" and requested in available:
        return requested
    if learned is not None and learned in available:
        return learned
    return default_method(available)


def method_to_route_by(
    requested: str, gold: Mapping[str, Sequence[tuple[float, bool]]]
) -> str | None:
    """The scoring method a consensus version routes by, given its gold as each method scored it
    ((confidence, right) pairs by method): what the project asked for, or with `auto` the method
    that best separates right from wrong. None while no method has gold."""
    if not gold:
        return None
    learned = best_separating(gold) if requested == "auto" else None
    return choose_method(requested, list(gold), learned)
