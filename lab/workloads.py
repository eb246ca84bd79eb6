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

