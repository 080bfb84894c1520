"""Where tests keep Redis state: database 1 (never the deployment's default, 0), under queue names
of their own, whose keys are removed when the test that took the name ends.

A queue name is also the namespace of the shared rate limits (`labelwise:ratelimit:<queue>:...`),
so a test's limits, cooldowns and learned provider limits never reach another test or a
deployment on the same Redis server.
"""

from __future__ import annotations

import os
import uuid

import redis

REDIS_URL = os.environ.get("LABELWISE_TEST_REDIS_URL", "redis://127.0.0.1:6379/1")

_TAKEN: list[str] = []


def fresh_queue_name() -> str:
    """A queue name no other test uses; its keys are removed after the current test."""
    name = f"lw-test-{uuid.uuid4().hex[:10]}"
    _TAKEN.append(name)
    return name


def remove_keys_of(name: str, connection: redis.Redis) -> None:
    """Every key that carries the queue name `name`: the queue's own and its rate limits."""
    for key in connection.scan_iter(f"*{name}*"):
        connection.delete(key)


def remove_taken_names() -> None:
    """Remove the keys of every name `fresh_queue_name` handed out since the last call."""
    if not _TAKEN:
        return
    connection = redis.Redis.from_url(REDIS_URL)
    try:
        while _TAKEN:
            remove_keys_of(_TAKEN.pop(), connection)
    finally:
        connection.close()
