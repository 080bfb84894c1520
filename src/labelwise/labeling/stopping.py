"""A worker's graceful stop: the chunk it runs gets a grace period, then hands back what is left.

An orchestrator stops a worker with SIGTERM and kills it a little later (Kubernetes after
`terminationGracePeriodSeconds`). Waiting for the chunk's leases to run out would leave its
unfinished items idle for minutes, so the worker gives the chunk `stop_grace_seconds` to finish,
then cancels the calls still in flight, writes what is done and redelivers the rest itself.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable
from typing import TypeVar

T = TypeVar("T")


class GracefulStop:
    """Set once, from a signal handler or another thread; awaited by the chunk running on the
    worker's event loop. `guard` runs a chunk's labeling under it."""

    def __init__(self, grace_seconds: float) -> None:
        self.grace_seconds = grace_seconds
        self._deadline: float | None = None
        self._waiters: list[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = []

    @property
    def requested(self) -> bool:
        return self._deadline is not None

    def request(self) -> None:
        """Start the grace period (a second request does not extend it). Safe in a signal
        handler: the waiting loops are only woken, through their thread-safe call queue."""
        if self._deadline is None:
            self._deadline = time.monotonic() + self.grace_seconds
        for loop, event in self._waiters:
            if not loop.is_closed():
                loop.call_soon_threadsafe(event.set)

    def remaining_seconds(self) -> float:
        if self._deadline is None:
            return float("inf")
        return max(0.0, self._deadline - time.monotonic())

    async def guard(self, work: Awaitable[T]) -> tuple[bool, T | None]:
        """Await `work`; once a stop is requested, give it the rest of the grace period, then
        cancel it. Returns (finished, its result)."""
        task = asyncio.ensure_future(work)
        stop_requested = asyncio.Event()
        waiter = (asyncio.get_running_loop(), stop_requested)
        self._waiters.append(waiter)
        if self.requested:
            stop_requested.set()
        stopped = asyncio.ensure_future(stop_requested.wait())
        try:
            await asyncio.wait({task, stopped}, return_when=asyncio.FIRST_COMPLETED)
            if not task.done():
                await asyncio.wait({task}, timeout=self.remaining_seconds())
        except BaseException:  # this coroutine was cancelled: the work goes with it
            task.cancel()
            raise
        finally:
            self._waiters.remove(waiter)
            stopped.cancel()
        if task.done():
            return True, task.result()
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        return False, None
