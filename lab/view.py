"""What a judge sees of a run: a read-only view, so that checks and invariants cannot act.

Doers change the lab (steps, faults, workloads, the lab's lifecycle: all on `ScenarioRun`); judges only read.
`Check.evaluate` and `Invariant.evaluate` receive a `RunView`, never the `ScenarioRun`, and the type checker
holds them to it (mypy runs over lab/ and scenarios/):

- `host(name)` is a `Reader`: inspection commands (`run`, `check_output`), `read_file`, `sysctl`, `net`. It has
  no background processes, no transport, no way to reach the lab's lifecycle. A shell command can of course
  write; a judge's commands are inspection by contract, and review holds them to it.
- `facts` and `params` are read-only mappings; `steps`, `faults` and `ops` are snapshots of the records
  (immutable, or copies), taken when the judge asks; `events()` reads the history; `metrics` too.

Nothing here starts, stops, injects, heals, records or waits: a judge that needs to wait for the lab is a
precondition of the procedure (a `verify`, or `ScenarioRun.wait_for`), not a check.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from lab.history import Event
from lab.host import Reader
from lab.workloads import Op

if TYPE_CHECKING:
    from lab.scenario import FaultRecord, ScenarioRun, StepRecord


class RunView:
    """A read-only view of one scenario run for its judges (live: each read sees the run as it is now)."""

    __slots__ = ("__run",)

    def __init__(self, run: ScenarioRun) -> None:
        self.__run = run

    @property
    def id(self) -> str:
        return self.__run.id

    @property
    def started(self) -> float:
        return self.__run.started

    def host(self, name: str) -> Reader:
        """One host of the lab, to read."""
        return self.__run.lab.host(name)

    @property
    def hosts(self) -> tuple[str, ...]:
        return tuple(self.__run.lab.spec.hosts)

    @property
    def facts(self) -> Mapping[str, Any]:
        return MappingProxyType(self.__run.facts)

    @property
    def params(self) -> Mapping[str, str]:
        return MappingProxyType(dict(self.__run.lab.params))

    @property
    def steps(self) -> tuple[StepRecord, ...]:
        return tuple(self.__run.steps)

    @property
    def faults(self) -> tuple[FaultRecord, ...]:
        return tuple(dataclasses.replace(f) for f in self.__run.faults)

    @property
    def ops(self) -> Mapping[str, Sequence[Op]]:
        return MappingProxyType({name: tuple(ops) for name, ops in self.__run.ops.items()})

    @property
    def metrics(self) -> Mapping[str, float]:
        return MappingProxyType(dict(self.__run.metrics))

    def host_logs(self) -> Mapping[str, str]:
        """Every host's container log so far (what `docker logs` shows: a server's own error log, often)."""
        return MappingProxyType(self.__run.lab.logs())

    def events(self, kind: str | None = None, name: str | None = None) -> list[Event]:
        """The run's history so far (events are immutable), filtered by kind and name."""
        return self.__run.history.events(kind, name)
