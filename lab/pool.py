"""A warm pool: the next scenario's lab comes up while the current scenario runs (`opslab run --prefetch 1`).

Opt-in (default 0): measured on a 2-core machine (bench/parallel_bench.py, bench/RESULTS-parallel.md), a second
lab starting beside each running one loads the CPUs more than the start it saves: `-j 2` took 187 s without it
and 274 s with it, serial 270 s and 285 s. It pays where the machine has cores to spare while scenarios wait.

Most of a scenario's time is spent waiting on timers (ARP caches, heartbeat deadtime, resyncs), and a lab's
start (containers, healthchecks, replication) is a fixed cost paid before each scenario. With prefetch, the
pytest plugin hands the pool the scenario that comes next in this process (pytest's `nextitem`: the next test
of a serial run, or of an xdist worker's queue) once the current one's lab is up; the pool brings that lab up
in a background thread, and the next scenario takes it instead of starting its own.

Contract:
- `start(key, lab, say)` begins `lab.up()` in a thread (images are built there too, if missing). One lab per key.
- `take(key, say)` waits for that thread and returns the lab, up, or None: nothing was started for this key, or its
  start failed (the failure is said, the half-started lab is removed, and the scenario then brings its own lab
  up, so a real problem still shows in its verdict).
- `drain()` (at the session's end, after an interrupt too) waits for every thread and removes every lab nobody
  took, `--keep` or not: a prefetched lab no scenario ran in is nobody's to keep.
Only the next scenario is known ahead (pytest-xdist hands a worker its tests as it goes), so the pool holds at
most one lab per process: `--prefetch` is 0 or 1.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from lab.errors import describe
from lab.lifecycle import Lab


@dataclass
class _Warming:
    lab: Lab
    thread: threading.Thread
    ready_s: float | None = None  # how long its start took, once it is up
    error: str | None = None
    started: float = field(default_factory=time.monotonic)


class WarmPool:
    def __init__(self) -> None:
        self._warming: dict[str, _Warming] = {}
        self._lock = threading.Lock()

    def start(self, key: str, lab: Lab, say: Callable[[str], None]) -> None:
        with self._lock:
            if key in self._warming:
                return
            w = _Warming(lab, threading.Thread(target=lambda: self._up(key), name=f"opslab-prefetch-{key}"))
            self._warming[key] = w
        say(f"{lab.spec.name}: prefetching {lab.project} for {key}, while this scenario runs")
        w.thread.start()

    def _up(self, key: str) -> None:
        w = self._warming[key]
        try:
            w.lab.up()
            w.ready_s = time.monotonic() - w.started
        except BaseException as exc:  # noqa: BLE001 - said when the scenario asks for it; the thread must end cleanly
            w.error = describe(exc)
            try:
                w.lab.down()
            except BaseException as down_exc:  # noqa: BLE001
                w.error += f"; removing it failed too: {describe(down_exc)}"

    def take(self, key: str, say: Callable[[str], None]) -> Lab | None:
        with self._lock:
            w = self._warming.pop(key, None)
        if w is None:
            return None
        waited = time.monotonic()
        w.thread.join()
        if w.error is not None:
            say(f"{w.lab.spec.name}: the prefetched lab for {key} did not come up ({w.error}); starting another")
            return None
        say(
            f"{w.lab.spec.name}: {w.lab.project} was prefetched (up in {w.ready_s or 0:.1f}s; "
            f"waited {time.monotonic() - waited:.1f}s for it now)"
        )
        return w.lab

    def drain(self) -> list[str]:
        """Wait for every start and remove every lab nobody took; returns their projects."""
        with self._lock:
            left = list(self._warming.values())
            self._warming.clear()
        removed = []
        for w in left:
            w.thread.join()
            if w.error is None:
                w.lab.down()
                removed.append(w.lab.project)
        return removed
