"""Doers that break things on purpose, and always put them back; a heal counts only once a probe sees it.

A `Fault` has three parts, all required (abstract, so a new fault cannot leave one out):

- `invoke(run)` breaks the lab;
- `heal(run)` puts it back. It raises when a command of its own fails (`check_output`, not `run`), and it is
  safe to run when the invoke only half happened: it undoes what is there and does not fail on what is not;
- `gone(run) -> (bool, detail)` is a read-only probe: whether the fault is no longer in place, and what it saw
  (the detail names what is still there when it is). It changes nothing, so it can be polled.

The scenario engine (`ScenarioRun.heal`) records the invoke and the heal in the history and runs the heal in a
`finally`, whatever happened in between (a failed step, a failed check, Ctrl-C). After `heal()` it polls
`gone()` until it says so or `heal_within` seconds pass (`lab.wait.wait_until`). The heal is recorded as done
(`heal_ok`) only when the heal raised nothing AND the probe saw the fault gone; otherwise the fault is still in
place, the lab is not the one the scenario meant to judge, and the scenario's verdict is `error`, naming the fault
and what the probe saw (`FaultNotHealed`).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import TYPE_CHECKING

from lab.errors import OpslabError

if TYPE_CHECKING:
    from lab.scenario import ScenarioRun


class FaultNotHealed(OpslabError):
    """A fault's heal failed, or its probe still sees the fault after the heal: the lab is left broken."""


class Fault(ABC):
    """Something that goes wrong on purpose; named for what it does (`DropArp`, `KillProcess`)."""

    heal_within: float = 10.0
    """Seconds the fault may take to be gone after `heal()` returns (a reload, a container that boots)."""

    @property
    def name(self) -> str:
        return type(self).__name__

    def describe(self) -> str:
        return self.name

    @abstractmethod
    def invoke(self, run: ScenarioRun) -> None: ...

    @abstractmethod
    def heal(self, run: ScenarioRun) -> None: ...

    @abstractmethod
    def gone(self, run: ScenarioRun) -> tuple[bool, str]:
        """Read-only: whether the fault is no longer in place, and what was seen (what remains, when it does)."""
