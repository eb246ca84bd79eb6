"""What a judge sees of a run: a read-only view, so that checks and invariants cannot act.

Doers change the lab (steps, faults, workloads, the lab's lifecycle: all on `ScenarioRun`); judges only read.
`Check.evaluate` and `Invariant.evaluate` receive a `RunView`, never the `ScenarioRun`, and the type checker
holds them to it (mypy runs over lab/ and scenarios/). `RunView` is the interface; there are two of it:

- `LiveView(run)`: the run as it is now, each read live. `host(name)` is a `Reader`: inspection commands (`run`,
  `check_output`), `read_file`, `sysctl`, `net`. It has no background processes, no transport, no way to reach the
  lab's lifecycle. A shell command can of course write; a judge's commands are inspection by contract, and review
  holds them to it.
- `RecordedView(scenario, events, logs, as_of=t)`: a past run as its report folder recorded it (results.json's
  entry, its history.jsonl events, its hosts' logs), seen as it was at `as_of` (the moment a check was judged):
  steps begun, faults injected (and healed, if by then), operations of the workloads stopped, metrics and events
  recorded by then. There is no lab: `host()` raises `NeedsLab`, so a check that reads a host cannot be judged
  from it (`Check.from_history` says which can; `opslab rejudge`, lab.rejudge, uses this view).

In both, `facts` and `params` are read-only mappings; `steps`, `faults` and `ops` are snapshots (immutable, or
copies), taken when the judge asks; `events()` reads the history; `metrics` too. Nothing here starts, stops,
injects, heals, records or waits: a judge that needs to wait for the lab is a precondition of the procedure (a
`verify`, or `ScenarioRun.wait_for`), not a check.
"""

from __future__ import annotations

import bisect
import dataclasses
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from lab.errors import OpslabError
from lab.history import Event
from lab.host import Reader
from lab.records import FaultRecord, StepRecord
from lab.workloads import Op

if TYPE_CHECKING:
    from lab.scenario import ScenarioRun


class NeedsLab(OpslabError):
    """A judge asked a recorded view for what only the live lab can answer (a host)."""


class RunView(ABC):
    """A read-only view of one scenario run for its judges."""

    __slots__ = ()

    @property
    @abstractmethod
    def id(self) -> str: ...

    @property
    @abstractmethod
    def started(self) -> float: ...

    @abstractmethod
    def host(self, name: str) -> Reader:
        """One host of the lab, to read."""

    @property
    @abstractmethod
    def hosts(self) -> tuple[str, ...]: ...

    @property
    @abstractmethod
    def facts(self) -> Mapping[str, Any]: ...

    @property
    @abstractmethod
    def params(self) -> Mapping[str, str]: ...

    @property
    @abstractmethod
    def steps(self) -> tuple[StepRecord, ...]: ...

    @property
    @abstractmethod
    def faults(self) -> tuple[FaultRecord, ...]: ...

    @property
    @abstractmethod
    def ops(self) -> Mapping[str, Sequence[Op]]: ...

    @property
    @abstractmethod
    def metrics(self) -> Mapping[str, float]: ...

    @abstractmethod
    def host_logs(self) -> Mapping[str, str]:
        """Every host's container log (what `docker logs` shows: a server's own error log, often)."""

    @abstractmethod
    def events(self, kind: str | None = None, name: str | None = None) -> list[Event]:
        """The run's history (events are immutable), filtered by kind and name."""


class LiveView(RunView):
    """The view of a run in progress: each read sees the run as it is now."""

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
        return MappingProxyType(self.__run.lab.logs())

    def events(self, kind: str | None = None, name: str | None = None) -> list[Event]:
        return self.__run.history.events(kind, name)


EVENT_FIELDS = ("t", "kind", "name", "host", "ok", "detail")


def event_from(d: Mapping[str, Any]) -> Event:
    """An `Event` again from its history.jsonl line (the report's `scenario` tag dropped)."""
    data = {k: v for k, v in d.items() if k not in EVENT_FIELDS and k != "scenario"}
    return Event(float(d["t"]), str(d["kind"]), str(d["name"]), d.get("host"), d.get("ok"), d.get("detail") or "", data)


def _stopped(e: Event) -> bool:
    return e.kind == "workload" and e.detail.startswith("stop")


def visible(events: Sequence[Event], as_of: float) -> tuple[Event, ...]:
    """The events a live run's history held at `as_of`: those up to then, where a workload's operations (recorded
    at its stop, each with the time it happened) count from the stop that recorded them."""
    stops: dict[str, list[float]] = {}
    for e in events:
        if _stopped(e):
            stops.setdefault(e.name, []).append(e.t)
    for ts in stops.values():
        ts.sort()

    def seen(e: Event) -> bool:
        if e.kind != "op":
            return e.t <= as_of
        ts = stops.get(e.name, [])
        i = bisect.bisect_left(ts, e.t)
        return i < len(ts) and ts[i] <= as_of

    return tuple(e for e in events if seen(e))


class RecordedView(RunView):
    """A past run as its report recorded it, as it stood at `as_of` (None: at its end). No lab behind it."""

    __slots__ = ("__scenario", "__events", "__logs", "__as_of")

    def __init__(
        self,
        scenario: Mapping[str, Any],
        events: Sequence[Mapping[str, Any]],
        logs: Mapping[str, str] | None = None,
        *,
        as_of: float | None = None,
    ) -> None:
        self.__scenario = scenario
        self.__as_of = float("inf") if as_of is None else as_of
        self.__events = visible(list(map(event_from, events)), self.__as_of)
        self.__logs = dict(logs or {})

    @property
    def id(self) -> str:
        return str(self.__scenario["id"])

    @property
    def started(self) -> float:
        return float(self.__scenario["started"])

    def host(self, name: str) -> Reader:
        raise NeedsLab(
            f"reads host {name}, and a recorded run has no lab",
            "only checks that declare from_history can be judged again from a report",
        )

    @property
    def hosts(self) -> tuple[str, ...]:
        return tuple(sorted(self.__logs))

    @property
    def facts(self) -> Mapping[str, Any]:
        return MappingProxyType(dict(self.__scenario.get("facts") or {}))

    @property
    def params(self) -> Mapping[str, str]:
        return MappingProxyType(dict(self.__scenario.get("params") or {}))

    @property
    def steps(self) -> tuple[StepRecord, ...]:
        return tuple(StepRecord(**s) for s in self.__scenario.get("steps") or [] if float(s["started"]) <= self.__as_of)

    @property
    def faults(self) -> tuple[FaultRecord, ...]:
        out = []
        for f in self.__scenario.get("faults") or []:
            rec = FaultRecord(**f)
            if rec.invoked > self.__as_of:
                continue
            if rec.healed is not None and rec.healed > self.__as_of:  # still in place then
                rec = dataclasses.replace(rec, healed=None, heal_ok=None, heal_detail="")
            out.append(rec)
        return tuple(out)

    @property
    def ops(self) -> Mapping[str, Sequence[Op]]:
        """The operations of every workload stopped by then (a workload's operations are recorded at its stop)."""
        stopped = {e.name for e in self.__events if _stopped(e)}
        out: dict[str, list[Op]] = {name: [] for name in stopped}
        for e in self.__events:
            if e.kind == "op" and e.name in stopped:
                out[e.name].append(Op(e.t, bool(e.ok), e.detail))
        return MappingProxyType({name: tuple(ops) for name, ops in out.items()})

    @property
    def metrics(self) -> Mapping[str, float]:
        recorded = [e for e in self.__events if e.kind == "metric" and "value" in e.data]
        return MappingProxyType({e.name: round(float(e.data["value"]), 3) for e in recorded})

    def host_logs(self) -> Mapping[str, str]:
        """The hosts' logs as the report kept them (at the end of the run)."""
        return MappingProxyType(dict(self.__logs))

    def events(self, kind: str | None = None, name: str | None = None) -> list[Event]:
        return [e for e in self.__events if (kind is None or e.kind == kind) and (name is None or e.name == name)]
