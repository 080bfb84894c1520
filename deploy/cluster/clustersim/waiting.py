"""Waiting, bounded: until a port answers, an HTTP check passes, or a condition holds.

Every wait names what it waited for and the log to read when it gives up, so a run that cannot
start says why instead of hanging.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable

import httpx


class NotReady(RuntimeError):
    """A service did not come up in time."""


def until(check: Callable[[], bool], *, what: str, timeout: float, every: float = 0.2) -> float:
    """Poll `check` until it is true; the seconds it took. Exceptions count as not yet, except
    `NotReady`: a check raises it when waiting longer is pointless (the process died)."""
    started = time.monotonic()
    while True:
        try:
            if check():
                return time.monotonic() - started
        except NotReady:
            raise
        except Exception:  # not up yet: refused, reset, timed out, not registered
            pass
        if time.monotonic() - started > timeout:
            raise NotReady(f"{what} not ready after {timeout:.0f} s")
        time.sleep(every)


def port_open(address: str, port: int) -> bool:
    with socket.create_connection((address, port), timeout=1.0):
        return True


def http_ok(url: str) -> bool:
    return httpx.get(url, timeout=2.0).status_code == 200
