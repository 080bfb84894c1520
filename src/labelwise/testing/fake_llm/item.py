"""The item as the fake reads it: the fields of the JSON object the prompt carries.

Task prompts show an item as its data encoded as JSON (`labelwise.tasks.base.data_json`); the
answer shapes that point into the text (spans), pull values out of it (extraction) or compare two
candidates (pairwise) need the decoded fields, not the JSON spelling. Pure functions.
"""

from __future__ import annotations

import json
import re

# Keys naming the two candidates of a pairwise view: `A`/`B`, `a`/`b`, `candidate_a`, ...
_CANDIDATE_KEY = re.compile(
    r"^(?:(?:candidate|response|answer|option|output|completion)[ _-]?)?([ab])$", re.IGNORECASE
)
# Keys that hold what the candidates answer, never a candidate.
_CONTEXT_KEYS = {"context", "prompt", "question", "instruction", "query", "input"}


def item_fields(item_text: str) -> dict[str, str]:
    """The item's fields as text; an item that is not a JSON object is one field, `text`."""
    try:
        parsed = json.loads(item_text)
    except ValueError:
        return {"text": item_text}
    if not isinstance(parsed, dict):
        return {"text": item_text}
    return {
        str(key): value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
        for key, value in parsed.items()
    }


def main_text(fields: dict[str, str]) -> str:
    """The text spans point into: `text` when the item has it, else its longest field."""
    text = fields.get("text")
    if text is not None:
        return text
    return max(fields.values(), key=len, default="")


def all_text(fields: dict[str, str]) -> str:
    """Every field, one per line: where extraction and rating look for what the item says."""
    return "\n".join(fields.values())


def candidates(fields: dict[str, str]) -> tuple[str, str]:
    """The pairwise view's two candidates, A first: the fields named for them, else the first
    two fields that are not the context."""
    named: dict[str, str] = {}
    for key, value in fields.items():
        match = _CANDIDATE_KEY.match(key)
        if match:
            named.setdefault(match.group(1).lower(), value)
    if "a" in named and "b" in named:
        return named["a"], named["b"]
    rest = [value for key, value in fields.items() if key.lower() not in _CONTEXT_KEYS]
    rest += ["", ""]
    return rest[0], rest[1]
