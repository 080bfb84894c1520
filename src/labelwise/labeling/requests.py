"""Building the structured requests labeling sends: about one item, or about a pack of them.

Estimates render through here too (`RequestBuilder.for_items`), so what is priced is exactly
what labeling would send.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

from labelwise.domain import Example
from labelwise.labeling.prepared import PreparedRequest, prepare
from labelwise.llm.call import StructuredRequest
from labelwise.settings import Settings
from labelwise.spec import ModelSpec, ProjectSpec
from labelwise.tasks.prompts import PromptLibrary

PREPARED_CACHE_SIZE = 256


class PreparedCache:
    """Prepared requests by the spec and model objects they were made for, least recently used
    dropped first past `size`.

    Keyed by object identity (plus the packed flag) rather than by the spec's content: a
    lookup costs nothing whatever the size of the guidelines and examples, where a dump or a
    hash of the spec would be paid on every request. It is exact because each entry keeps its
    spec and model alive, so their ids cannot be reused while the entry exists, and a hit
    checks that the very same objects are asked about. A spec is read once per version for a
    chunk of items (or per API call) and not changed afterwards, so a version is prepared once
    per chunk; an equal spec read again is prepared again, which is only repeated work.
    """

    def __init__(self, size: int = PREPARED_CACHE_SIZE) -> None:
        self.size = size
        self._entries: OrderedDict[
            tuple[int, int, bool], tuple[ProjectSpec, ModelSpec, PreparedRequest]
        ] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, spec: ProjectSpec, model: ModelSpec, packed: bool) -> PreparedRequest | None:
        key = (id(spec), id(model), packed)
        entry = self._entries.get(key)
        if entry is None or entry[0] is not spec or entry[1] is not model:
            return None
        self._entries.move_to_end(key)
        return entry[2]

    def put(
        self, spec: ProjectSpec, model: ModelSpec, packed: bool, prepared: PreparedRequest
    ) -> None:
        self._entries[(id(spec), id(model), packed)] = (spec, model, prepared)
        self._entries.move_to_end((id(spec), id(model), packed))
        while len(self._entries) > self.size:
            self._entries.popitem(last=False)


class RequestBuilder:
    """Renders a project's requests: the prepared fixed part, then the item(s) as the user
    message."""

    def __init__(self, settings: Settings, prompts: PromptLibrary) -> None:
        self.settings = settings
        self.prompts = prompts
        self.cache = PreparedCache()

    def prepared(
        self, spec: ProjectSpec, model: ModelSpec | None = None, *, packed: bool = False
    ) -> PreparedRequest:
        """The fixed part of `spec`'s requests to `model` (by default the project's own)."""
        model = model if model is not None else spec.model
        found = self.cache.get(spec, model, packed)
        if found is None:
            found = prepare(spec, model, self.prompts, packed=packed)
            self.cache.put(spec, model, packed, found)
        return found

    def for_item(
        self,
        spec: ProjectSpec,
        data: dict[str, Any],
        examples: Sequence[Example],
        model: ModelSpec | None = None,
    ) -> StructuredRequest:
        """The request about one item, to `model` (by default the project's own)."""
        model = model if model is not None else spec.model
        prepared = self.prepared(spec, model)
        user = prepared.task_type.user_prompt(spec.task, self.prompts, data, examples)
        return self._request(model, prepared, user)

    def for_pack(
        self, spec: ProjectSpec, items: Sequence[dict[str, Any]], examples: Sequence[Example]
    ) -> StructuredRequest:
        """The request about several items, each answered under its position (from 1)."""
        prepared = self.prepared(spec, packed=True)
        user = prepared.task_type.pack_prompt(spec.task, self.prompts, items, examples)
        return self._request(spec.model, prepared, user)

    def for_items(
        self, spec: ProjectSpec, items: Sequence[dict[str, Any]], *, every_view: bool = True
    ) -> list[StructuredRequest]:
        """The requests `items` would be sent in, `items_per_request` at a time. An item asked
        alone is asked once per view of it (a pairwise question in both orders); with
        `every_view` False only in its first view, one request per group, as a provider batch
        carries them (the labeler asks the other views online when the answer arrives)."""
        size = spec.items_per_request
        groups = [items[start : start + size] for start in range(0, len(items), size)]
        task_type = self.prepared(spec).task_type
        requests: list[StructuredRequest] = []
        for group in groups:
            if len(group) > 1:
                requests.append(self.for_pack(spec, group, ()))
                continue
            views = task_type.views(spec.task, group[0])
            shown = views if every_view else views[:1]
            requests.extend(self.for_item(spec, dict(view), ()) for view in shown)
        return requests

    def _request(self, model: ModelSpec, prepared: PreparedRequest, user: str) -> StructuredRequest:
        top_logprobs = self.settings.llm_top_logprobs
        return StructuredRequest(
            model=model.name,
            messages=[
                {"role": "system", "content": prepared.system_prompt},
                {"role": "user", "content": user},
            ],
            mode=model.output_mode,
            schema=prepared.schema,
            answer_model=prepared.answer_model,
            temperature=model.temperature,
            max_tokens=prepared.max_tokens,
            # With no alternatives listed there is nothing to compare the chosen label against.
            top_logprobs=top_logprobs if top_logprobs > 0 else None,
        )
