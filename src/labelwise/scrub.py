"""Secrets scrubbed out of text that is stored or shown: a provider's error message can echo the
request's key (`Incorrect API key provided: sk-...`), and reviewers read these messages.

Pure function; it errs towards redacting: a long random-looking token in an error message is
never what a reviewer needs to read.
"""

from __future__ import annotations

import re

REDACTED = "[redacted]"

_PATTERNS = [
    # "Authorization: Bearer xyz" (the scheme kept), "api_key=xyz", "x-api-key: xyz", ...
    re.compile(r"(?i)\b(bearer|basic)(\s+)[^\s'\",;]{4,}"),
    re.compile(
        r"(?i)\b(api[_-]?key|x-api-key|token|secret|password|authorization)"
        r"(\s*[:=]\s*)['\"]?(?!bearer\b|basic\b)[^\s'\",;]{4,}"
    ),
    # Provider and labelwise key shapes: sk-..., sk-proj-..., lw_..., AWS access key ids.
    re.compile(r"\b(sk|rk|pk)-[A-Za-z0-9_\-*]{6,}"),
    re.compile(r"\blw_[A-Za-z0-9_\-]{8,}"),
    re.compile(r"\bAKIA[0-9A-Z]{16}\b"),
    # Any other long unbroken run of key-like characters (hex, base64url).
    re.compile(r"[A-Za-z0-9_\-+/=]{32,}"),
]


def scrub_secrets(text: str | None) -> str | None:
    """`text` with anything key-like replaced by `[redacted]`."""
    if not text:
        return text
    for pattern in _PATTERNS:
        text = pattern.sub(_replacement, text)
    return text


def _replacement(match: re.Match[str]) -> str:
    # Keep the name of a "name: value" pair, so the message still says what was wrong.
    if match.lastindex and match.lastindex >= 2:
        return f"{match.group(1)}{match.group(2)}{REDACTED}"
    return REDACTED
