"""Invariants watched all the time: a background sampler for one scenario run.

Contract: `Watcher(sample, interval_s)` calls `sample()` every `interval_s` seconds on its own thread, from
`start()` until `stop()`, so the invariants of a run are probed during steps, waits, faults and workloads, not
only between steps. The run takes its own samples after each step as well (same `sample`, other thread); the
caller makes `sample` safe to call from both.

An exception that is not an `OpslabError` (a bug in an invariant, a `KeyError`) stops the watcher and is kept
in `failure`: the run turns it into an `error` verdict. `stop()` waits for a sample in progress to end, at most
`join_timeout` seconds. `samples` counts the background samples taken.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from lab.errors import OpslabError


class Watcher:
    def __init__(self, sample: Callable[[], None], interval_s: float, *, join_timeout: float = 30.0) -> None:
        if interval_s <= 0:
            raise ValueError("the watch interval must be positive")
        self.sample = sample
        self.interval_s = interval_s
        self.join_timeout = join_timeout
        self.samples = 0
        self.failure: BaseException | None = None
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> Watcher:
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop, name="opslab-invariants", daemon=True)
            self._thread.start()
        return self

    def _loop(self) -> None:
        while not self._stopping.wait(self.interval_s):
            try:
                self.sample()
            except OpslabError:  # the sampler records what it could not probe; a probe is not a crash
                pass
            except BaseException as exc:  # noqa: BLE001 - kept for the run's verdict, not swallowed
                self.failure = exc
                return
            self.samples += 1

    def stop(self) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(self.join_timeout)
