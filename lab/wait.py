"""Waiting with a deadline: poll a condition, never sleep and hope.

`wait_until(probe, what=..., timeout=...)` calls `probe()` until it returns a truthy value (returned) or
the deadline passes (`WaitTimeout`, naming what was awaited and the last value seen). A probe that raises
counts as "not yet"; its last error is reported.

`with deadline(seconds):` bounds a whole block (a scenario): past it, `DeadlinePassed` is raised in the main
thread wherever the block is (a step, a wait, a hung command), and unwinds it.
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType
from typing import TypeVar

from lab.errors import DeadlinePassed, WaitTimeout

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


@contextmanager
def deadline(seconds: float | None) -> Iterator[Callable[[], None]]:
    """Raise `DeadlinePassed` in the main thread once `seconds` have passed inside the block (a whole scenario's
    deadline). Yields `disarm()`, which cancels it early (before a cleanup that must not be cut short). Off the
    main thread, or with `seconds` None, there is no deadline."""
    armed = seconds is not None and threading.current_thread() is threading.main_thread()

    def fire(signum: int, frame: FrameType | None) -> None:
        raise DeadlinePassed(seconds or 0)

    def disarm() -> None:
        if armed:
            signal.setitimer(signal.ITIMER_REAL, 0)

    previous = signal.signal(signal.SIGALRM, fire) if armed else None
    if armed:
        signal.setitimer(signal.ITIMER_REAL, float(seconds or 0))
    try:
        yield disarm
    finally:
        disarm()
        if armed:
            signal.signal(signal.SIGALRM, previous)
