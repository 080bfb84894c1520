"""The three ways of asking for structured output, and reading the answer back.

`json_schema`: response_format with the schema, strict. `tool`: one function tool whose parameters
are the schema, forced with tool_choice. `json_object`: JSON mode, the schema is in the prompt.
Whatever the mode, the caller validates the answer in code.
"""

from __future__ import annotations

import json
from typing import Any

from openai.types.chat import ChatCompletionMessage

from labelwise.spec import OutputMode

TOOL_NAME = "record_answer"
SCHEMA_NAME = "answer"


def schema_line(schema: dict[str, Any]) -> str:
    """The schema as one compact line, for the `Answer schema: ...` line of json_object prompts."""
    return json.dumps(schema, separators=(",", ":"), ensure_ascii=False)


def mode_params(mode: OutputMode, schema: dict[str, Any]) -> dict[str, Any]:
    """The request parameters that ask for `schema` in `mode`."""
    if mode == "json_schema":
        return {
            "response_format": {
                "type": "json_schema",
                "json_schema": {"name": SCHEMA_NAME, "schema": schema, "strict": True},
            }
        }
    if mode == "tool":
        tool = {
            "type": "function",
            "function": {
                "name": TOOL_NAME,
                "description": "Record the answer for the item.",
                "parameters": schema,
                "strict": True,
            },
        }
        return {
            "tools": [tool],
            "tool_choice": {"type": "function", "function": {"name": TOOL_NAME}},
        }
    return {"response_format": {"type": "json_object"}}


def answer_text(message: ChatCompletionMessage, mode: OutputMode) -> str | None:
    """The answer's JSON text: the forced tool call's arguments in tool mode, else the content."""
    if mode == "tool" and message.tool_calls:
        function = getattr(message.tool_calls[0], "function", None)
        if function is not None:
            return str(function.arguments)
    # Some servers ignore tool_choice and answer in the content; it is validated all the same.
    return message.content


def strip_fences(text: str) -> str:
    """Remove a Markdown code fence some models put around JSON even in JSON mode."""
    text = text.strip()
    if text.startswith("```") and text.endswith("```") and len(text) >= 6:
        text = text[3:-3]
        first_line, _, rest = text.partition("\n")
        text = rest if first_line.strip().isalpha() or not first_line.strip() else text
    return text.strip()


def reask_messages(
    message: ChatCompletionMessage, mode: OutputMode, problem: str
) -> list[dict[str, Any]]:
    """The bad answer and a request to correct it, to append to the conversation."""
    correction = (
        f"That answer is invalid: {problem}. Answer again with only a JSON object that follows "
        "the answer format, using the label names exactly as given."
    )
    call = message.tool_calls[0] if mode == "tool" and message.tool_calls else None
    function = getattr(call, "function", None)
    if call is not None and function is not None:
        # A tool call must be answered by a tool message with its id before the next turn.
        assistant = {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": call.id,
                    "type": "function",
                    "function": {"name": function.name, "arguments": function.arguments},
                }
            ],
        }
        return [assistant, {"role": "tool", "tool_call_id": call.id, "content": correction}]
    return [
        {"role": "assistant", "content": message.content or ""},
        {"role": "user", "content": correction},
    ]
