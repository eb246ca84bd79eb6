"""Fault schedules: which fault of the lab's library (lab.faults `FAULTS`) happens where in a procedure.

A procedure of N steps has N + 1 step boundaries: boundary 0 is before step 1, boundary k after step k (before
step k + 1), boundary N after the last step (while the lab settles). A `Schedule` holds at most one `Injection` per
boundary: the fault's name and arguments, where it is injected (`at`, and optionally `offset_s` seconds into the
step that follows: a fault in the middle of a long step), and when it is healed: `heal_after` boundaries later.
Whatever is still in place when the procedure ends (or stops at a failed step) is healed there, and every heal is
verified (lab.faults), before the lab settles and is judged.

A schedule file (`<target>-<digest>.schedule.json`) is a plain JSON document a person can read and edit::

    {"target": "arp/migrate_with_garp", "params": {},
     "injections": [{"at": 2, "fault": "drop_garp", "args": {"count": 1}, "heal_after": 1, "offset_s": 0.0,
                     "where": "before step 3: gratuitous ARP ...", "healed": "when the procedure ends ..."}],
     "steps": ["1. remove the service IP ...", ...], "found": {...}}

`where`, `healed`, `steps` and `found` are there for the reader and are written, never read: `Schedule.load` takes
`target`, `params` and each injection's `at`, `fault`, `args`, `heal_after`, `offset_s`, and refuses any other key
of an injection (a misspelt `heal_afer` would otherwise be silently ignored). `ScheduleDriver` is what runs a
schedule: it is hooked into the scenario engine's step boundaries (`ScenarioRun.at_boundary`). `schedules()` is
the Hypothesis strategy `opslab explore` draws schedules from: lists shrink to fewer injections, boundaries to
earlier ones, heals to sooner ones, faults and arguments to the library's first.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hypothesis import strategies as st

from lab.errors import UsageError
from lab.faults import Fault, FaultKind
from lab.spec import Param, Value

if TYPE_CHECKING:
    from lab.scenario import ScenarioRun

INJECTION_KEYS = ("at", "fault", "args", "heal_after", "offset_s")
READ_ONLY_KEYS = ("where", "healed")


@dataclass(frozen=True)
class Injection:
    at: int  # the step boundary (0 = before step 1)
    fault: str  # a name of the lab's fault library
    args: Mapping[str, Value] = field(default_factory=dict)
    heal_after: int = 1  # healed this many boundaries later (at the procedure's end at the latest)
    offset_s: float = 0.0  # > 0: injected this many seconds into the step after boundary `at`

    def to_dict(self) -> dict[str, Any]:
        return {
            "at": self.at,
            "fault": self.fault,
            "args": dict(self.args),
            "heal_after": self.heal_after,
            "offset_s": self.offset_s,
        }


def where(at: int, steps: Sequence[str], offset_s: float = 0.0) -> str:
    """Boundary `at` in words: `before step 3: <title>`, `3.0s into step 3: <title>`, `after the last step`."""
    if at >= len(steps):
        return "after the last step (while the lab settles)"
    prefix = f"{offset_s:g}s into" if offset_s > 0 else "before"
    return f"{prefix} step {at + 1}: {steps[at]}"


def healed_where(inj: Injection, steps: Sequence[str]) -> str:
    """When the injection is healed, in words: `after step 3: <title>`, or at the procedure's end."""
    b = inj.at + inj.heal_after
    if b >= len(steps):
        return "when the procedure ends (after the last step, or at a step that failed)"
    return f"after step {b}: {steps[b - 1]}"


@dataclass(frozen=True)
class Schedule:
    target: str  # a scenario id: <lab>/<procedure with a plan>
    injections: tuple[Injection, ...] = ()
    params: Mapping[str, str] = field(default_factory=dict)

    @property
    def lab(self) -> str:
        return self.target.split("/")[0]

    @property
    def procedure(self) -> str:
        return self.target.split("/", 1)[1]

    def digest(self) -> str:
        """A short digest of what the schedule does (target, parameters, injections): its file name."""
        doc = {"target": self.target, "params": dict(self.params), "injections": [i.to_dict() for i in self.injections]}
        return hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()[:10]

    def describe(self, steps: Sequence[str] = ()) -> str:
        """One line: each injection as `fault(args) before step k, healed after m`; or `no fault`."""
        if not self.injections:
            return "no fault"
        parts = []
        for i in self.injections:
            args = ", ".join(f"{k}={v}" for k, v in i.args.items())
            if steps:
                at = where(i.at, steps, i.offset_s).split(":")[0]
                healed = healed_where(i, steps).split(":")[0].split(" (")[0]
                parts.append(f"{i.fault}({args}) {at}, healed {healed}")
            else:
                parts.append(f"{i.fault}({args}) at boundary {i.at}, healed {i.heal_after} boundary(ies) later")
        return "; ".join(parts)

    def to_dict(self, steps: Sequence[str] = (), found: Mapping[str, Any] | None = None) -> dict[str, Any]:
        out: dict[str, Any] = {
            "target": self.target,
            "params": dict(self.params),
            "injections": [
                {**i.to_dict(), "where": where(i.at, steps, i.offset_s), "healed": healed_where(i, steps)}
                if steps
                else i.to_dict()
                for i in self.injections
            ],
        }
        if steps:
            out["steps"] = list(steps)
        if found is not None:
            out["found"] = dict(found)
        return out

    def write(self, path: Path, steps: Sequence[str] = (), found: Mapping[str, Any] | None = None) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.to_dict(steps, found), indent=2) + "\n")
        return path

    @classmethod
    def load(cls, path: Path | str) -> Schedule:
        """Read a schedule file; what is malformed is refused in one line with a hint (checked against the
        library and the procedure by `check`)."""
        p = Path(path)
        hint = "a schedule file is what `opslab explore` writes (<target>-<digest>.schedule.json)"
        try:
            doc = json.loads(p.read_text())
        except OSError as exc:
            raise UsageError(f"cannot read the schedule {p}: {exc.strerror}", hint) from None
        except json.JSONDecodeError as exc:
            raise UsageError(f"the schedule {p} is not JSON: {exc.msg} (line {exc.lineno})", hint) from None
        if not isinstance(doc, dict) or not isinstance(doc.get("target"), str):
            raise UsageError(f"the schedule {p} names no target", hint)
        raw = doc.get("injections", [])
        if not isinstance(raw, list):
            raise UsageError(f"the schedule {p}: injections is not a list", hint)
        injections = []
        for n, item in enumerate(raw, 1):
            if not isinstance(item, dict):
                raise UsageError(f"the schedule {p}: injection {n} is not an object", hint)
            if extra := sorted(set(item) - set(INJECTION_KEYS) - set(READ_ONLY_KEYS)):
                raise UsageError(
                    f"the schedule {p}: injection {n} has a key {extra[0]!r} it does not take",
                    f"an injection takes: {', '.join(INJECTION_KEYS)} (and `where`, for reading)",
                )
            try:
                injections.append(
                    Injection(
                        int(item["at"]),
                        str(item["fault"]),
                        dict(item.get("args") or {}),
                        int(item.get("heal_after", 1)),
                        float(item.get("offset_s", 0.0)),
                    )
                )
            except (KeyError, TypeError, ValueError) as exc:
                raise UsageError(f"the schedule {p}: injection {n} is malformed ({exc})", hint) from None
        params = doc.get("params") or {}
        if not isinstance(params, dict):
            raise UsageError(f"the schedule {p}: params is not an object", hint)
        return cls(doc["target"], tuple(injections), {str(k): str(v) for k, v in params.items()})

    def check(self, library: Mapping[str, FaultKind], steps: int) -> None:
        """Refuse what cannot run: an unknown fault or argument, a boundary outside the procedure, two faults at one
        boundary, a heal that is not later, a negative offset."""
        seen: set[int] = set()
        for n, i in enumerate(self.injections, 1):
            if i.fault not in library:
                raise UsageError(
                    f"injection {n}: lab {self.lab} has no fault {i.fault!r}", f"its faults: {', '.join(library)}"
                )
            library[i.fault].values(i.args)
            if not 0 <= i.at <= steps:
                raise UsageError(
                    f"injection {n}: boundary {i.at} is outside the procedure",
                    f"{self.procedure} has {steps} steps: boundaries 0 (before step 1) to {steps} (after the last)",
                )
            if i.at in seen:
                raise UsageError(f"injection {n}: a second fault at boundary {i.at}", "one fault per step boundary")
            seen.add(i.at)
            if i.heal_after < 1:
                raise UsageError(f"injection {n}: heal_after {i.heal_after} is not a later boundary", "heal_after >= 1")
            if i.offset_s < 0:
                raise UsageError(f"injection {n}: offset_s {i.offset_s:g} is negative", "offset_s >= 0 seconds")


class ScheduleDriver:
    """Runs a schedule: at each step boundary it heals what is due (`at + heal_after`), then injects what is
    scheduled there; at the procedure's last boundary it heals everything still in place. An injection with an
    offset is injected on a timer, that many seconds into the next step; if that step is over first, the injection
    is noted as not reached. Hooked into `ScenarioRun.at_boundary`; `finish(run)` heals what a stopped procedure
    left in place (the engine's `close()` would too, but the lab must be healed before it is judged)."""

    def __init__(self, schedule: Schedule, library: Mapping[str, FaultKind], steps: Sequence[str]) -> None:
        self.schedule = schedule
        self.library = library
        self.steps = list(steps)
        self.active: list[tuple[Injection, Fault]] = []
        self.injected: list[Injection] = []
        self.not_reached: list[Injection] = []
        self._timers: list[tuple[Injection, threading.Timer]] = []
        self._lock = threading.Lock()

    def __call__(self, run: ScenarioRun, n: int, steps: int) -> None:
        self._cancel_timers(run)
        for inj, fault in list(self.active):
            if inj.at + inj.heal_after <= n:
                self._heal(run, inj, fault)
        for inj in self.schedule.injections:
            if inj.at != n:
                continue
            if inj.offset_s > 0 and n < steps:
                timer = threading.Timer(inj.offset_s, self._inject_later, (run, inj))
                timer.daemon = True
                self._timers.append((inj, timer))
                timer.start()
            else:
                self._inject(run, inj)
        if n >= steps:
            self.finish(run)

    def finish(self, run: ScenarioRun) -> None:
        """Heal everything still in place (the procedure ended or stopped)."""
        self._cancel_timers(run)
        for inj, fault in list(self.active):
            self._heal(run, inj, fault)

    def _inject(self, run: ScenarioRun, inj: Injection) -> None:
        fault = self.library[inj.fault].build(inj.args)
        run.note(f"schedule: {inj.fault} {where(inj.at, self.steps, inj.offset_s)}")
        with self._lock:
            self.active.append((inj, fault))
            self.injected.append(inj)
        run.inject(fault)

    def _inject_later(self, run: ScenarioRun, inj: Injection) -> None:
        with self._lock:
            if not any(i is inj for i, _ in self._timers):
                return  # cancelled at the boundary: the step was over first
            self._timers = [(i, t) for i, t in self._timers if i is not inj]
        self._inject(run, inj)

    def _cancel_timers(self, run: ScenarioRun) -> None:
        with self._lock:
            pending, self._timers = self._timers, []
        for inj, timer in pending:
            timer.cancel()
            self.not_reached.append(inj)
            run.note(f"schedule: {inj.fault} not injected: step {inj.at + 1} ended before {inj.offset_s:g}s")
        for _, timer in pending:
            timer.join(30)  # one that had begun injecting is done (and active) before anything is healed

    def _heal(self, run: ScenarioRun, inj: Injection, fault: Fault) -> None:
        with self._lock:
            self.active = [(i, f) for i, f in self.active if f is not fault]
        run.heal(fault)


# -- generation (Hypothesis) -------------------------------------------------------------------------------------


def arg_values(arg: Param) -> st.SearchStrategy[Value]:
    """What an argument may be in a generated schedule: its choices (the default first, so it shrinks to it), a
    few whole numbers from its least one, or its default."""
    default = arg.parse(arg.default)
    if arg.choices:
        return st.sampled_from([default, *(arg.parse(c) for c in arg.choices if c != arg.default)])
    if arg.type == "int" and arg.min is not None:
        top = int(arg.min) + 4 if arg.max is None else min(int(arg.max), int(arg.min) + 4)
        return st.integers(int(default), top) if int(default) <= top else st.just(default)
    return st.just(default)


def injections(
    library: Mapping[str, FaultKind], boundaries: int, long_steps: Sequence[int] = ()
) -> st.SearchStrategy[Injection]:
    """One injection: a fault of `library` with its arguments, at a boundary in 0..boundaries-1, healed 1..3
    boundaries later; before a step in `long_steps` (boundary numbers), possibly a few seconds into it."""
    names = list(library)

    def one(name: str) -> st.SearchStrategy[Injection]:
        args = st.fixed_dictionaries({a.name: arg_values(a) for a in library[name].args})
        at = st.integers(0, boundaries - 1)
        return st.builds(
            lambda at, args, heal, off: Injection(at, name, args, heal, off if at in long_steps else 0.0),
            at,
            args,
            st.integers(1, 3),
            st.sampled_from([0.0, 2.0, 5.0]) if long_steps else st.just(0.0),
        )

    return st.sampled_from(names).flatmap(one)


def schedules(
    target: str,
    library: Mapping[str, FaultKind],
    boundaries: int,
    *,
    max_faults: int = 3,
    params: Mapping[str, str] | None = None,
    long_steps: Sequence[int] = (),
) -> st.SearchStrategy[Schedule]:
    """Schedules of up to `max_faults` injections, at most one per boundary, in boundary order."""
    return st.lists(injections(library, boundaries, long_steps), max_size=max_faults, unique_by=lambda i: i.at).map(
        lambda xs: Schedule(target, tuple(sorted(xs, key=lambda i: i.at)), dict(params or {}))
    )
