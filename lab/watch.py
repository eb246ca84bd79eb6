"""Invariants watched all the time: what a scenario run watches, and a background sampler.

`InvariantWatch` is the run's watch (`ScenarioRun.watch` adds to it): it samples every watched invariant right after
each step (on a thread of its own, so that watching does not hold the procedure up) and, through a `Watcher`, every
`interval_s` seconds in between; it records each sample that ran after a step or saw a violation in the history,
shows a violation the moment it is seen, and at the end (`finish()`, then `result(inv)`) judges each invariant over
all its samples. It is given the run's read-only view, its history and progress: it cannot act on the lab.

Contract of the sampler: `Watcher(sample, interval_s)` calls `sample()` every `interval_s` seconds on its own
thread, from `start()` until `stop()`, so the invariants of a run are probed during steps, waits, faults and
workloads, not only between steps. The run takes its own samples after each step as well (same `sample`, other
thread); the caller makes `sample` safe to call from both.

An exception that is not an `OpslabError` (a bug in an invariant, a `KeyError`) stops the watcher and is kept
in `failure`: the run turns it into an `error` verdict. `stop()` waits for a sample in progress to end, at most
`join_timeout` seconds. `samples` counts the background samples taken.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from lab.checks import CheckResult, Invariant, Verdict, worst
from lab.errors import OpslabError, describe
from lab.history import History

if TYPE_CHECKING:
    from lab.view import RunView


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


class InvariantWatch:
    """The invariants one run watches, their samples, violations, and verdicts at the end."""

    def __init__(
        self,
        view: RunView,
        history: History,
        progress: Callable[[str], None],
        *,
        started: float,
        interval_s: float,
        current_step: Callable[[], int],
    ) -> None:
        self.view = view
        self.history = history
        self.progress = progress
        self.started = started
        self.interval_s = interval_s
        self.current_step = current_step  # how many steps have begun so far
        self.invariants: list[tuple[Invariant, Verdict]] = []
        self.violations: dict[str, list[CheckResult]] = {}
        self.samples: dict[str, int] = {}
        self.unprobed: dict[str, int] = {}
        self.watcher: Watcher | None = None
        self._violated_now: set[str] = set()
        self._lock = threading.Lock()
        self._after_steps: list[threading.Thread] = []
        self._after_failure: BaseException | None = None

    def watch(self, invariant: Invariant, expected: Verdict) -> None:
        """Watch this invariant from now on; the background sampler starts with the first."""
        self.invariants.append((invariant, expected))
        self.violations.setdefault(invariant.name, [])
        self.samples.setdefault(invariant.name, 0)
        self.unprobed.setdefault(invariant.name, 0)
        if self.watcher is None:
            self.watcher = Watcher(lambda: self.sample(None), self.interval_s).start()

    def after_step(self, after: str, seq: int) -> None:
        """Sample the invariants right after a step, on a thread of its own: watching must not hold the procedure
        up (a probe takes a docker exec per host, and the time between two steps can be what a check measures, an
        outage between moving an address and announcing it). `finish()` waits for these samples."""
        if not self.invariants:
            return
        thread = threading.Thread(target=self._sample_after, args=(after, seq), name="opslab-after-step", daemon=True)
        self._after_steps.append(thread)
        thread.start()

    def _sample_after(self, after: str, seq: int) -> None:
        try:
            self.sample(after, seq)
        except BaseException as exc:  # noqa: BLE001 - a bug in an invariant: the run's verdict says so
            self._after_failure = exc

    def sample(self, after: str | None, seq: int | None = None) -> None:
        """One sample of every watched invariant: `after` a step (`seq`: which step), or (None) a background sample.

        After a step the lab must be probe-able, so a probe that fails counts against the invariant (unknown),
        unless the next step had begun by then (it may be replacing the host). In the background a probe may meet a
        host being replaced or restarted: that sample is counted as unprobed, not as a violation. A violation is
        shown at once, each time an invariant goes from held to violated."""
        with self._lock:
            for inv, expected in list(self.invariants):
                t = time.time()
                try:
                    r = inv.evaluate(self.view)
                except OpslabError as exc:
                    r = CheckResult.unknown(inv.name, f"could not probe: {exc.message}")
                where = f"after {after}" if after is not None else "between steps"
                overlapped = seq is not None and seq != self.current_step()
                if (after is None or overlapped) and r.verdict == Verdict.UNKNOWN:
                    self.unprobed[inv.name] += 1
                    continue
                self.samples[inv.name] += 1
                held = r.verdict == Verdict.PASS
                if not held:
                    self.violations[inv.name].append(
                        CheckResult(r.name, r.verdict, f"at +{t - self.started:.1f}s {where}: {r.detail}", r.evidence)
                    )
                    if inv.name not in self._violated_now:
                        note = "(expected)" if expected != Verdict.PASS else ""
                        self.progress(
                            f"  invariant {inv.name} {r.verdict} at +{t - self.started:.1f}s "
                            f"{where}: {r.detail} {note}".rstrip()
                        )
                    self._violated_now.add(inv.name)
                else:
                    self._violated_now.discard(inv.name)
                if after is not None or not held:  # background samples that held are counted, not logged
                    self.history.add("invariant", inv.name, ok=held, t=t, detail=f"{where}: {r.detail}")

    def finish(self) -> list[str]:
        """Wait for the samples after steps, stop the background sampler; what broke the watching, if anything."""
        problems = []
        for thread in self._after_steps:
            thread.join(30)
        if self._after_failure is not None:
            problems.append(f"watching invariants: {describe(self._after_failure)}")
        if self.watcher is not None:
            self.watcher.stop()
            if self.watcher.failure is not None:
                problems.append(f"watching invariants: {describe(self.watcher.failure)}")
        return problems

    def result(self, inv: Invariant) -> CheckResult:
        """The invariant's verdict over all its samples: violated (the worst violation), held, or never probed."""
        bad = self.violations.get(inv.name, [])
        n, unprobed = self.samples.get(inv.name, 0), self.unprobed.get(inv.name, 0)
        how = f"{n} samples (after each step and every {self.interval_s:g}s"
        how += f"; {unprobed} more could not probe a host)" if unprobed else ")"
        if bad:
            return CheckResult(
                inv.name,
                worst(r.verdict for r in bad),
                f"violated in {len(bad)} of {how}; first {bad[0].detail}",
                {"violations": [r.detail for r in bad], "samples": n, "unprobed": unprobed},
            )
        if n:
            return CheckResult(inv.name, Verdict.PASS, f"held in all {how}", {"samples": n, "unprobed": unprobed})
        return CheckResult(inv.name, Verdict.UNKNOWN, "never probed", {"unprobed": unprobed})

    def to_dict(self) -> dict[str, Any]:
        """How the invariants were sampled, for the report's `watch`."""
        return {
            "interval_s": self.interval_s,
            "invariants": {
                inv.name: {"samples": self.samples.get(inv.name, 0), "unprobed": self.unprobed.get(inv.name, 0)}
                for inv, _ in self.invariants
            },
        }
