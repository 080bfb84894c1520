"""What labeling one item has spent so far: HTTP attempts and tokens, across every call.

One meter follows an item through its first call, its re-asks and its agreement samples, so the
outcome reports the whole cost even when a later call fails.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from openai.types import CompletionUsage

from labelwise.domain import Usage


def usage_from_sdk(usage: CompletionUsage | None) -> Usage:
    """The SDK's usage block as ours; providers that omit it (or its details) count as zero."""
    if usage is None:
        return Usage()
    details = usage.prompt_tokens_details
    cached = (details.cached_tokens if details is not None else None) or 0
    return Usage(
        prompt_tokens=usage.prompt_tokens or 0,
        cached_tokens=cached,
        completion_tokens=usage.completion_tokens or 0,
    )


@dataclass
class CallMeter:
    attempts: int = 0
    usage: Usage = field(default_factory=Usage)
    # The part of `usage` answered through a provider's batch API (billed at its batch price).
    batch_usage: Usage = field(default_factory=Usage)

    def count_attempt(self) -> None:
        self.attempts += 1

    def add_usage(self, usage: CompletionUsage | None) -> None:
        self.usage = self.usage + usage_from_sdk(usage)

    def add_batch_usage(self, usage: CompletionUsage | None) -> None:
        counted = usage_from_sdk(usage)
        self.usage = self.usage + counted
        self.batch_usage = self.batch_usage + counted
