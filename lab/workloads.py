"""Background traffic during a scenario, with every operation recorded.

A `Workload` is started before the procedure and stopped at the end; `stop()` returns its operations
(`Op`: when, ok or not, and what), which the engine appends to the history as `op` events so checks can
count what was lost or unavailable. Workloads only observe the service they load; they are doers of traffic,
not of faults.

Every lab's workloads are programs left running in a host: `BackgroundWorkload` is that facility (start, log,
pid, stop, parse), and a lab's workload only says what to run and how to read its log. `silence(ops)` is the
one measure of an outage as a client saw it (lab/checks.py `OutageBelow` judges it).
"""

from __future__ import annotations

import secrets
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from lab.scenario import ScenarioRun


@dataclass(frozen=True)
class Op:
    t: float
    ok: bool
    value: str = ""


class Workload(ABC):
    @property
    def name(self) -> str:
        return type(self).__name__

    @abstractmethod
    def start(self, run: ScenarioRun) -> None: ...

    @abstractmethod
    def stop(self, run: ScenarioRun) -> list[Op]: ...


class BackgroundWorkload(Workload):
    """A program that runs in one host, in the background, for the whole scenario; its log is its record.

    A subclass says what to run (`command(run)`: its standard output goes to `self.log`; a program that keeps a log
    of its own is given `self.log` in its command and sets `logs_itself`), how the log becomes operations
    (`parse(text)`), and when it really runs: `started_after` acknowledged operations (0: once its process is
    up). The rest is the same for every workload of every lab:
    - a log and a pid file of its own per instance (`/tmp/<name>-<token>.log`, `.pid`), so two never share;
    - started detached with its pid recorded, then a wait (with a deadline) until it has started;
    - stopped by that pid with `stop_signal`, then a wait until the process is gone (a zombie nobody has reaped
      yet counts: it writes no more), then its log parsed;
    - `ops_so_far(run)` and `acked(run)` read the log as it is now; nothing is sent.
    """

    logs_itself = False
    started_after = 1  # acknowledged operations that show it really runs; 0: its process being up is enough
    start_timeout_s = 10.0
    stop_signal = "TERM"
    stop_timeout_s = 15.0

    def __init__(self, host: str) -> None:
        self.host = host
        self.log = f"/tmp/{type(self).__name__.lower()}-{secrets.token_hex(3)}.log"
        self.pidfile = f"{self.log}.pid"

    @abstractmethod
    def command(self, run: ScenarioRun) -> str:
        """The program's command line, as the host's shell runs it."""

    @abstractmethod
    def parse(self, text: str) -> list[Op]:
        """The operations its log records (a torn last line is skipped: the next read has it whole)."""

    def describe_start(self, run: ScenarioRun) -> str:
        """What the start waits for, as progress shows it."""
        return f"{self.name} on {self.host} to start"

    def _alive(self, run: ScenarioRun) -> bool:
        alive = f"pid=$(cat {self.pidfile}) && grep -q '^State:[[:space:]]*[^Z]' /proc/$pid/status"
        return run.host(self.host).run(alive).succeeded

    def ops_so_far(self, run: ScenarioRun) -> list[Op]:
        return self.parse(run.host(self.host).run("cat %s", self.log).stdout)

    def acked(self, run: ScenarioRun) -> int:
        """How many of its operations have been acknowledged so far."""
        return sum(op.ok for op in self.ops_so_far(run))

    def start(self, run: ScenarioRun) -> None:
        out = f"{self.log}.out" if self.logs_itself else self.log
        run.host(self.host).run_background(f"echo $$ > {self.pidfile}; exec {self.command(run)}", out)
        what, timeout = self.describe_start(run), self.start_timeout_s
        if self.started_after == 0:
            run.wait_for(lambda: self._alive(run), what=what, timeout=timeout)
        else:
            run.wait_for(lambda: self.acked(run) >= self.started_after, what=what, timeout=timeout)

    def stop(self, run: ScenarioRun) -> list[Op]:
        h = run.host(self.host)
        h.run(f"kill -{self.stop_signal} $(cat {self.pidfile})")
        what = f"{self.name} on {self.host} to stop"
        run.wait_for(lambda: not self._alive(run), what=what, timeout=self.stop_timeout_s)
        return self.parse(h.read_file(self.log))


def silence(ops: Sequence[Op], *, since: float | None = None, until: float | None = None) -> tuple[float, float]:
    """The longest silence (start, length) in [since, until] as the client saw it: between two consecutive
    acknowledged operations, and from `since` itself to the first one after it. With no acknowledged operation
    after `since`, the silence lasts until the last operation recorded (or `until`)."""
    oks = sorted(op.t for op in ops if op.ok and (since is None or op.t > since) and (until is None or op.t <= until))
    if since is not None:
        end = oks[0] if oks else (until if until is not None else max(op.t for op in ops))
        first = (since, max(0.0, end - since))
    else:
        first = (oks[0] if oks else 0.0, 0.0)
    best = first
    for a, b in zip(oks, oks[1:], strict=False):
        if b - a > best[1]:
            best = (a, b - a)
    return best

