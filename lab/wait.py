"""Waiting with a deadline: poll a condition, never sleep and hope.

`wait_until(probe, what=..., timeout=...)` calls `probe()` until it returns a truthy value (returned) or
the deadline passes (`WaitTimeout`, naming what was awaited and the last value seen). A probe that raises
counts as "not yet"; its last error is reported.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

from lab.errors import WaitTimeout

T = TypeVar("T")


def wait_until(
    probe: Callable[[], T],
    *,
    what: str,
    timeout: float,
    interval: float = 0.1,
    hint: str | None = None,
    clock: Callable[[], float] = time.monotonic,
    pause: Callable[[float], None] = time.sleep,
) -> T:
    deadline = clock() + timeout
    last: object = None
    while True:
        try:
            value = probe()
        except Exception as exc:  # a probe that fails is "not yet"; keep what it said
            last = f"{type(exc).__name__}: {exc}"
        else:
            if value:
                return value
            last = value
        if clock() >= deadline:
            raise WaitTimeout(what, timeout, last, hint)
        pause(min(interval, max(0.0, deadline - clock())))
