"""Spans: the entities of the project's types in an item's text, with their offsets.

The model names each entity's text, type and occurrence (`labelwise.tasks.spans_answer`); code
finds the offsets, so a value is `[{"start", "end", "label", "text"}]` sorted by start, 0-based,
end-exclusive, in code points, each `text` the slice it points at. An entity the text does not
contain is left out of the value and the item goes to a human (`SPAN_NOT_FOUND`).

Confidence: from logprobs, each entity's label x text probability and the item the weakest of
them; with no entity, the probability that the list is empty (`labelwise.scoring.
span_confidence`). Without logprobs, samples vote per span (`labelwise.scoring.span_votes`).
Locating needs the item's text: an answer becomes a value through `read` (which has the item),
not `value`, and `self_consistency` takes the item's `data`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import BaseModel

from labelwise.domain import Confidence, ConfidenceMethod, TokenLogprob
from labelwise.errors import ReviewReason
from labelwise.scoring import span_confidence, span_votes
from labelwise.scoring.consensus import Vote
from labelwise.scoring.json_regions import ROOT, Region
from labelwise.spec import TaskSpec
from labelwise.task_values import normalized_value
from labelwise.tasks import spans_answer as shape
from labelwise.tasks.base import (
    OutputContract,
    Reading,
    TaskTypeBase,
    label_definitions,
)
from labelwise.tasks.prompts import PromptLibrary

_NEEDS_TEXT = "spans are found in the item's text: read the answer with the item's data"


class SpansTask(TaskTypeBase):
    name = "spans"

    def read(
        self,
        task: TaskSpec,
        answer: BaseModel,
        data: Mapping[str, Any],
        tokens: Sequence[TokenLogprob] | None,
        region: Region = ROOT,
    ) -> Reading:
        named = shape.entities(answer)
        located = shape.locate_entities(shape.item_text(task, data), named)
        scores = (
            span_confidence.entity_confidences(
                tokens, [(e.text, e.label) for e in named], task.label_names, region
            )
            if tokens and named
            else None
        )
        item = self.logprob_confidence(task, tokens, answer, region) if tokens else None
        parts = []
        for span, source in zip(located.spans, located.sources, strict=True):
            score = scores[source] if scores else None
            parts.append(
                {
                    **span,
                    "confidence": score.score if score else None,
                    "label_confidence": score.label if score else None,
                    "text_confidence": score.text if score else None,
                }
            )
        reason = ReviewReason.SPAN_NOT_FOUND if located.missing else None
        return Reading(located.spans, item, parts, reason)

    def contract(self, task: TaskSpec) -> OutputContract:
        names, rationale = task.label_names, task.rationale
        return OutputContract(
            shape.answer_schema(names, rationale=rationale),
            shape.answer_model(names, rationale=rationale),
            shape.max_answer_chars(names, rationale=rationale),
        )

    def system_prompt(
        self,
        task: TaskSpec,
        prompts: PromptLibrary,
        *,
        answer_schema: str | None,
        packed: bool = False,
    ) -> str:
        labels = label_definitions(task)
        examples = self.shown_examples(task, task.examples)
        return prompts.render(
            f"{self.name}/system.j2",
            rationale=task.rationale,
            guidelines=task.guidelines.strip(),
            labels=labels,
            text_field_json=json.dumps(task.text_field, ensure_ascii=False),
            examples=examples,
            answer_schema=answer_schema,
            packed=packed,
        )

    def example_answer_json(self, task: TaskSpec, data: Mapping[str, Any], value: Any) -> str:
        """The example's spans as the model names them: text, type and occurrence."""
        return shape.answer_json(shape.item_text(task, data), value or [])

    def answer_examples(self, task: TaskSpec) -> list[str]:
        """No entity, and one entity of each type (of a typical length)."""
        one = [
            {"entities": [{"text": "Example Name", "label": name, "occurrence": 1}]}
            for name in task.label_names
        ]
        return [json.dumps(answer, ensure_ascii=False) for answer in [{"entities": []}, *one]]

    def value(self, answer: BaseModel) -> Any:
        """An answer alone has no offsets: its spans are found in the item's text by `read`."""
        raise ValueError(_NEEDS_TEXT)

    def checked_value(
        self, task: TaskSpec, value: Any, data: Mapping[str, Any] | None = None
    ) -> Any:
        return normalized_value(task, value, data)

    def matches(self, task: TaskSpec, value: Any, truth: Any) -> bool:
        """The same spans: the same (start, end, label) set; order and `text` do not matter
        (text is the slice the offsets point at)."""
        if not isinstance(value, list) or not isinstance(truth, list):
            return bool(value == truth)
        try:
            return {span_votes.span_key(s) for s in value} == {
                span_votes.span_key(s) for s in truth
            }
        except (KeyError, TypeError, ValueError):
            return False

    def logprob_confidence(
        self,
        task: TaskSpec,
        tokens: Sequence[TokenLogprob],
        answer: BaseModel,
        region: Region = ROOT,
    ) -> Confidence | None:
        """The weakest entity named (found in the text or not); with none, the probability
        that there is none."""
        named = shape.entities(answer)
        if not named:
            empty = span_confidence.empty_list_confidence(tokens, region)
            return None if empty is None else Confidence(empty, ConfidenceMethod.LOGPROB)
        scores = span_confidence.entity_confidences(
            tokens, [(e.text, e.label) for e in named], task.label_names, region
        )
        if scores is None:
            return None
        return Confidence(min(s.score for s in scores), ConfidenceMethod.LOGPROB)

    def combine(self, task: TaskSpec, votes: Sequence[Vote]) -> tuple[Any, Confidence]:
        """Votes whose values are spans (read with the item's data), per span."""
        value, score = span_votes.combine_span_votes([(v.value, v.confidence) for v in votes])
        return value, Confidence(score, ConfidenceMethod.COMBINED)

    def self_consistency(
        self,
        task: TaskSpec,
        answers: Sequence[BaseModel],
        data: Mapping[str, Any] | None = None,
    ) -> tuple[Any, Confidence]:
        """A span is kept when more than half the samples have it; the confidence is the
        weakest span's agreeing share (`labelwise.scoring.span_votes`)."""
        if data is None:
            raise ValueError(_NEEDS_TEXT)
        text = shape.item_text(task, data)
        samples = [shape.locate_entities(text, shape.entities(a)).spans for a in answers]
        value, share = span_votes.majority_spans(samples)
        return value, Confidence(share, ConfidenceMethod.AGREEMENT)
