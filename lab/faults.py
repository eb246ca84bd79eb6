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

A fault that drops traffic in a host is a `lab.netfilter.DropFault`: one nftables table of its own, loaded in one
transaction, its heal verified by listing the tables again (written once there, not in each lab).

The fault library: each lab declares its faults by name in `scenarios/<lab>/faults.py` as `FAULTS`, a tuple of
`FaultKind` (name, what it does, the `Fault` class, the arguments it takes as typed `Param`s). `opslab list` shows
them; `opslab explore` and schedule files (lab.schedule) name them; `fault_library(lab)` reads them.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from lab.errors import OpslabError, UsageError
from lab.spec import Param, Value

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


# -- the fault library: what each lab can break, by name ---------------------------------------------------------
#
# Each lab declares `FAULTS` in scenarios/<lab>/faults.py: a tuple of `FaultKind`, each a name (what `--faults`,
# schedules and `opslab list` use), what it does in words, the `Fault` class that does it and the arguments it
# takes (typed `lab.spec.Param`s, checked as lab parameters are). `fault_library(lab)` reads them; a kind's
# `build(args)` makes the `Fault`, refusing an argument it does not take or a value it does not accept.


@dataclass(frozen=True)
class FaultKind:
    """A named fault of a lab's library, with the arguments it takes."""

    name: str
    help: str
    make: Callable[..., Fault]
    args: tuple[Param, ...] = ()

    def describe(self) -> str:
        """One line for `opslab list`: the name, its arguments (type, allowed values, default), what it does."""
        takes = "; ".join(f"{a.name}: {a.allowed()}, default {a.default}" for a in self.args)
        return f"{self.name}" + (f" ({takes})" if takes else "") + f": {self.help}"

    def values(self, given: Mapping[str, object] | None = None) -> dict[str, Value]:
        """Every argument's value (given, else its default), typed and checked; an unknown one is refused."""
        given = dict(given or {})
        if unknown := sorted(set(given) - {a.name for a in self.args}):
            takes = ", ".join(a.name for a in self.args) or "no arguments"
            raise UsageError(f"fault {self.name} takes no argument {unknown[0]!r}", f"it takes: {takes}")
        out: dict[str, Value] = {}
        for a in self.args:
            try:
                out[a.name] = a.parse(given.get(a.name, a.default))
            except UsageError as exc:
                raise UsageError(f"fault {self.name}: {exc.message}", exc.hint) from None
        return out

    def build(self, given: Mapping[str, object] | None = None) -> Fault:
        return self.make(**self.values(given))


def fault_arg(name: str, default: str, help: str, **kw: Any) -> Param:
    """An argument of a fault kind: a `Param` that sets no compose variable."""
    return Param(name, default, help, env="", **kw)


def fault_library(lab: str) -> dict[str, FaultKind]:
    """The lab's fault library by name, as its definition registers it (empty when it declares none)."""
    from lab.registry import get_lab

    return {k.name: k for k in get_lab(lab).faults}


def pick_faults(lab: str, names: str | None) -> dict[str, FaultKind]:
    """The faults named in `--faults A,B` (all of the library when None); an unknown name is refused."""
    library = fault_library(lab)
    if not library:
        raise UsageError(f"lab {lab} declares no faults to explore with", "`opslab list` shows each lab's faults")
    if names is None:
        return library
    wanted = [n.strip() for n in names.split(",") if n.strip()]
    if not wanted:
        raise UsageError("--faults names no fault", f"lab {lab}'s faults: {', '.join(library)}")
    for n in wanted:
        if n not in library:
            raise UsageError(f"lab {lab} has no fault {n!r}", f"its faults: {', '.join(library)}")
    return {n: library[n] for n in wanted}
