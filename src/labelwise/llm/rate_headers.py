"""What a provider's `x-ratelimit-*` headers say about its limits, read without any I/O."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|h|m|s)")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}


def parse_reset(value: str | None) -> float | None:
    """`x-ratelimit-reset-*` as seconds: `"1s"`, `"6m0s"`, `"20ms"`, `"1m30.5s"`, or a number."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    parts = _DURATION_PART.findall(value)
    if not parts or "".join(number + unit for number, unit in parts) != value:
        return None
    return sum(float(number) * _UNIT_SECONDS[unit] for number, unit in parts)


def _int_header(headers: Mapping[str, str], name: str) -> int | None:
    value = headers.get(name)
    try:
        return int(float(value)) if value is not None else None
    except ValueError:
        return None


@dataclass(frozen=True)
class HeaderReading:
    """What a response's `x-ratelimit-*` headers say."""

    limit_requests: int | None = None
    limit_tokens: int | None = None
    # Seconds until the provider accepts more; set only when a remaining count reached zero.
    exhausted_for: float | None = None


def read_headers(headers: Mapping[str, str]) -> HeaderReading:
    waits = []
    for kind in ("requests", "tokens"):
        if _int_header(headers, f"x-ratelimit-remaining-{kind}") == 0:
            reset = parse_reset(headers.get(f"x-ratelimit-reset-{kind}"))
            waits.append(reset if reset is not None else 1.0)
    return HeaderReading(
        limit_requests=_int_header(headers, "x-ratelimit-limit-requests"),
        limit_tokens=_int_header(headers, "x-ratelimit-limit-tokens"),
        exhausted_for=max(waits) if waits else None,
    )


def limit_exhausted(headers: Mapping[str, str]) -> bool:
    """Whether a 429 came from a rate limit running out. A provider that states what remains
    and has some left says it did not (a fault, a concurrency cap); one that states nothing is
    taken at its word that a limit was hit."""
    remaining = [
        _int_header(headers, f"x-ratelimit-remaining-{kind}") for kind in ("requests", "tokens")
    ]
    stated = [value for value in remaining if value is not None]
    return not stated or min(stated) == 0
