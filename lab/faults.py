"""Doers that break things on purpose, and always put them back.

A `Fault` has `invoke(run)` and `heal(run)`. The scenario engine records both in the history and runs the
heal in a `finally`, whatever happened in between (a failed step, a failed check, Ctrl-C). A heal must be
safe to run when the invoke only half happened.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from lab.scenario import ScenarioRun


class Fault(ABC):
    """Something that goes wrong on purpose; named for what it does (`DropArp`, `KillProcess`)."""

    @property
    def name(self) -> str:
        return type(self).__name__

    def describe(self) -> str:
        return self.name

    @abstractmethod
    def invoke(self, run: ScenarioRun) -> None: ...

    @abstractmethod
    def heal(self, run: ScenarioRun) -> None: ...
