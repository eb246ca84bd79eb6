"""Background traffic during a scenario, with every operation recorded.

A `Workload` is started before the procedure and stopped at the end; `stop()` returns its operations
(`Op`: when, ok or not, and what), which the engine appends to the history as `op` events so checks can
count what was lost or unavailable. Workloads only observe the service they load; they are doers of traffic,
not of faults.
"""

from __future__ import annotations

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


def longest_gap(ops: Sequence[Op], *, start: float | None = None, end: float | None = None) -> tuple[float, float]:
    """The longest time between two consecutive successful operations (start, length), in seconds.

    This is the outage as the client saw it: from its last answered request to its next answered one.
    """
    oks = sorted(op.t for op in ops if op.ok and (start is None or op.t >= start) and (end is None or op.t <= end))
    best = (oks[0] if oks else 0.0, 0.0)
    for a, b in zip(oks, oks[1:], strict=False):
        if b - a > best[1]:
            best = (a, b - a)
    return best
