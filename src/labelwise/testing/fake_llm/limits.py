"""The fake's own rate limit: a requests-per-second bucket, told to clients the way OpenAI does.

Every answer carries `x-ratelimit-limit-requests` (per minute), `-remaining-requests` and
`-reset-requests`; a request over the limit gets a 429 with `retry-after-ms` for when the next
one would pass. Unlike the random 429s of the fault injector, these depend on the load, so they
show whether clients pace themselves or pile on.
"""

from __future__ import annotations

import math
import time

from labelwise.testing.fake_llm.asgi import Headers


class RequestLimit:
    def __init__(self, per_second: float) -> None:
        self.per_second = per_second
        self.capacity = max(1.0, per_second)  # a burst of one second
        self._level = self.capacity
        self._at = time.monotonic()

    def take(self) -> bool:
        now = time.monotonic()
        self._level = min(self.capacity, self._level + (now - self._at) * self.per_second)
        self._at = now
        if self._level >= 1:
            self._level -= 1
            return True
        return False

    def headers(self) -> Headers:
        missing = max(0.0, 1 - self._level)
        reset_ms = math.ceil(missing / self.per_second * 1000)
        return (
            (b"x-ratelimit-limit-requests", str(round(self.per_second * 60)).encode()),
            (b"x-ratelimit-remaining-requests", str(math.floor(max(0.0, self._level))).encode()),
            (b"x-ratelimit-reset-requests", f"{reset_ms}ms".encode()),
        )

    def retry_after_seconds(self) -> float:
        return max(0.001, (1 - self._level) / self.per_second)
