"""What a chat.completions request asks for, read once from its body.

This module owns request parsing: the body's shape, which of the three structured-output modes
(json_schema, a forced tool call, json_object with an `Answer schema:` line) and which schema,
which item the fake should judge, and the sampling parameters (n, top_logprobs, max tokens,
temperature). Anything malformed becomes `BadRequest`; nothing here decides an answer.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from labelwise.testing.fake_llm.config import MODEL_ID

SCHEMA_LINE_PREFIX = "Answer schema: "
SYSTEM_ROLES = ("system", "developer")
# Distinct `Answer schema:` lines remembered parsed; past this the memory starts over.
_MAX_SCHEMA_LINES = 256


class BadRequest(Exception):
    def __init__(self, message: str, param: str | None = None) -> None:
        super().__init__(message)
        self.param = param


@dataclass(frozen=True)
class OutputMode:
    """The shape of the answer: a JSON value under `schema` (None: plain text), sent as a call
    of the function `tool_name` or, when that is None, as the message content."""

    schema: dict[str, Any] | None
    tool_name: str | None


@dataclass(frozen=True)
class ChatRequest:
    messages: list[dict[str, Any]]
    mode: OutputMode
    item_text: str
    # A request about several items: (id, text) of each `<item id="...">` block, in order.
    packed_items: tuple[tuple[str, str], ...]
    n: int
    top_logprobs: int | None
    max_tokens: int | None
    temperature: float
    logprobs: bool
    model: str


def parse_chat_request(body: bytes) -> ChatRequest:
    try:
        return _parse(body)
    except BadRequest:
        raise
    # A malformed body of any shape is the client's error, never a 500.
    except (ValueError, TypeError, AttributeError, LookupError) as exc:
        raise BadRequest(str(exc)) from exc


def _parse(body: bytes) -> ChatRequest:
    request = json.loads(body)
    if not isinstance(request, dict):
        raise BadRequest("the body must be a JSON object")
    messages = request.get("messages")
    if not isinstance(messages, list) or not messages:
        raise BadRequest("messages must be a non-empty list", "messages")
    if not all(isinstance(m, dict) for m in messages):
        raise BadRequest("every message must be an object", "messages")
    mode = _read_mode(request, messages)
    n = _int_param(request, "n", 1, 128) or 1
    top_logprobs = _int_param(request, "top_logprobs", 0, 20)
    max_tokens = _int_param(request, "max_completion_tokens", 1, 1_000_000)
    if max_tokens is None:
        max_tokens = _int_param(request, "max_tokens", 1, 1_000_000)
    # OpenAI's default temperature is 1.
    raw_temperature = request.get("temperature")
    temperature = 1.0 if raw_temperature is None else float(raw_temperature)
    return ChatRequest(
        messages=messages,
        mode=mode,
        item_text=_item_text(messages),
        packed_items=_packed_items(messages),
        n=n,
        top_logprobs=top_logprobs,
        max_tokens=max_tokens,
        temperature=temperature,
        logprobs=bool(request.get("logprobs")),
        model=str(request.get("model") or MODEL_ID),
    )


def message_text(content: Any) -> str:
    """A message's text: a string, or the text parts of a list of content parts."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(
            part.get("text", "") for part in content if isinstance(part, dict) and "text" in part
        )
    return ""


def _int_param(request: dict[str, Any], name: str, low: int, high: int) -> int | None:
    value = request.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise BadRequest(f"{name} must be an integer from {low} to {high}", name)
    return value


def _read_mode(request: dict[str, Any], messages: list[dict[str, Any]]) -> OutputMode:
    tools = request.get("tools")
    tool_choice = request.get("tool_choice")
    if isinstance(tools, list) and tools and tool_choice != "none":
        wanted = None
        if isinstance(tool_choice, dict):
            wanted = (tool_choice.get("function") or {}).get("name")
        functions = [t.get("function") or {} for t in tools if isinstance(t, dict)]
        function = next((f for f in functions if f.get("name") == wanted), functions[0])
        parameters = function.get("parameters")
        schema = parameters if isinstance(parameters, dict) else {"type": "object"}
        return OutputMode(schema, str(function.get("name", "function")))
    response_format = request.get("response_format")
    if not isinstance(response_format, dict):
        response_format = {}
    kind = response_format.get("type")
    if kind == "json_schema":
        schema = (response_format.get("json_schema") or {}).get("schema")
        if not isinstance(schema, dict):
            raise BadRequest("response_format.json_schema.schema is required", "response_format")
        return OutputMode(schema, None)
    schema = _schema_from_prompt(messages)
    if kind == "json_object" and schema is None:
        schema = {"type": "object"}
    return OutputMode(schema, None)


def _schema_from_prompt(messages: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The schema on the `Answer schema: {...}` line of a system message (json_object mode)."""
    for message in reversed(messages):
        if message.get("role") not in SYSTEM_ROLES:
            continue
        text = message_text(message.get("content"))
        at = text.rfind(SCHEMA_LINE_PREFIX)
        while at >= 0:
            if at == 0 or text[at - 1] == "\n":
                line = text[at + len(SCHEMA_LINE_PREFIX) :].split("\n", 1)[0]
                return _parse_schema_line(line)
            at = text.rfind(SCHEMA_LINE_PREFIX, 0, at)
    return None


_schema_lines: dict[str, dict[str, Any]] = {}


def _parse_schema_line(line: str) -> dict[str, Any]:
    # Every item of a project sends the same line: parse it once.
    schema = _schema_lines.get(line)
    if schema is None:
        try:
            parsed = json.loads(line)
        except ValueError as exc:
            raise BadRequest(f"the Answer schema line is not JSON: {exc}") from exc
        if not isinstance(parsed, dict):
            raise BadRequest("the Answer schema line is not a JSON object")
        if len(_schema_lines) > _MAX_SCHEMA_LINES:
            _schema_lines.clear()
        schema = _schema_lines[line] = parsed
    return schema


def _item_text(messages: list[dict[str, Any]]) -> str:
    """What the fake judges: the last user message holding an <item> block, narrowed to it, so a
    re-ask (a correction after the item) is judged on the same item; else the last user text."""
    last_user: str | None = None
    for message in reversed(messages):
        if message.get("role") != "user":
            continue
        text = message_text(message.get("content"))
        if last_user is None:
            last_user = text
        start = text.find("<item>")
        end = text.rfind("</item>")
        if 0 <= start < end:
            return text[start + len("<item>") : end].strip()
    return (last_user or "").strip()


_PACKED_ITEM = re.compile(r'<item id="([^"<>]{1,20})">\n?(.*?)\n?</item>', re.DOTALL)


def _packed_items(messages: list[dict[str, Any]]) -> tuple[tuple[str, str], ...]:
    """The numbered items of the last user message that holds any (see
    `labelwise.tasks.packing`)."""
    for message in reversed(messages):
        if message.get("role") != "user":
            continue
        found = _PACKED_ITEM.findall(message_text(message.get("content")))
        if found:
            return tuple((item_id, text.strip()) for item_id, text in found)
    return ()


@dataclass(frozen=True)
class PromptNotes:
    """What the system prompt says beyond the schema: the labels it lists (`- "name":
    description` lines) by name, and the item field it says the text is in (`the item's "body"
    field`), if it names one."""

    labels: dict[str, str]
    text_field: str | None


NO_NOTES = PromptNotes({}, None)
_LABEL_LINE = re.compile(r'^- ("(?:[^"\\]|\\.)*")(?:: (.*))?$', re.MULTILINE)
_TEXT_FIELD = re.compile(r'(?:item\'s|its) ("(?:[^"\\]|\\.)*") field')
_notes: dict[str, PromptNotes] = {}


def prompt_notes(messages: list[dict[str, Any]]) -> PromptNotes:
    """The notes of the request's system messages (read once per distinct prompt: every item of
    a project sends the same one)."""
    text = "\n".join(
        message_text(m.get("content")) for m in messages if m.get("role") in SYSTEM_ROLES
    )
    notes = _notes.get(text)
    if notes is None:
        labels: dict[str, str] = {}
        for match in _LABEL_LINE.finditer(text):
            name = _json_string(match.group(1))
            if name is not None:
                labels[name] = (match.group(2) or "").strip()
        field = _TEXT_FIELD.search(text)
        notes = PromptNotes(labels, _json_string(field.group(1)) if field else None)
        if len(_notes) > _MAX_SCHEMA_LINES:
            _notes.clear()
        _notes[text] = notes
    return notes


def _json_string(quoted: str) -> str | None:
    try:
        value = json.loads(quoted)
    except ValueError:
        return None
    return value if isinstance(value, str) else None
