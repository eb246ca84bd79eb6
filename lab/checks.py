"""Judges: checks and invariants, and their three-valued verdicts.

A `Check` reads the lab and the history and returns a `CheckResult` (verdict pass, fail or unknown, a
one-line detail, and its evidence). An `Invariant` is the same kind of read-only probe, run after every
step. Neither changes the lab: both are given a `RunView` (lab/view.py), which has no doer in it. Verdicts combine
as in Jepsen: the worst wins (fail > unknown > pass).

Every check must be able to fail: each check of every lab has a scenario in which it reports `fail`.

Rejudging (`opslab rejudge`, lab.rejudge): a check whose `evaluate` reads only what the run records (steps, faults,
workload operations, metrics, the history, facts, parameters; never a host) says so with `from_history = True`, and
can be judged again from a report folder with today's code. Every check remembers the arguments it was made with;
`recipe()` is them as JSON (its class as `module:Qualname`, positional and keyword arguments; tuples and dicts
tagged), recorded with its judgement in the history, and `from_recipe()` makes the check again. A check made with an
argument JSON cannot hold (a capture, a workload object) has no recipe and cannot be rejudged. An `Invariant` is
sampled from the live lab all through a run: never rejudged.
"""

from __future__ import annotations

import importlib
import math
from abc import ABC, abstractmethod
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any, ClassVar, Self

from lab.workloads import silence

if TYPE_CHECKING:
    from lab.view import RunView


class Verdict(StrEnum):
    PASS = "pass"
    FAIL = "fail"
    UNKNOWN = "unknown"


_RANK = {Verdict.PASS: 0, Verdict.UNKNOWN: 1, Verdict.FAIL: 2}


def worst(verdicts: Iterable[Verdict]) -> Verdict:
    """Combine verdicts: fail beats unknown beats pass; nothing to judge is unknown."""
    vs = list(verdicts)
    if not vs:
        return Verdict.UNKNOWN
    return max(vs, key=_RANK.__getitem__)


@dataclass(frozen=True)
class CheckResult:
    name: str
    verdict: Verdict
    detail: str
    evidence: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def judge(cls, name: str, ok: bool, detail: str, **evidence: Any) -> CheckResult:
        return cls(name, Verdict.PASS if ok else Verdict.FAIL, detail, evidence)

    @classmethod
    def unknown(cls, name: str, detail: str, **evidence: Any) -> CheckResult:
        return cls(name, Verdict.UNKNOWN, detail, evidence)


class NoRecipe(Exception):
    """A check's arguments cannot be written as JSON, or a recorded recipe cannot make a check again."""


def _encode(value: Any) -> Any:
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise NoRecipe(f"a non-finite number ({value})")
        return value
    if isinstance(value, list):
        return [_encode(v) for v in value]
    if isinstance(value, tuple):
        return {"tuple": [_encode(v) for v in value]}
    if isinstance(value, (set, frozenset)):
        return {"set": [_encode(v) for v in sorted(value, key=repr)]}
    if isinstance(value, dict) and all(isinstance(k, str) for k in value):
        return {"dict": {k: _encode(v) for k, v in value.items()}}
    raise NoRecipe(f"an argument JSON cannot hold ({type(value).__name__})")


def _decode(value: Any) -> Any:
    if isinstance(value, list):
        return [_decode(v) for v in value]
    if isinstance(value, dict):
        if set(value) == {"tuple"} and isinstance(value["tuple"], list):
            return tuple(_decode(v) for v in value["tuple"])
        if set(value) == {"set"} and isinstance(value["set"], list):
            return {_decode(v) for v in value["set"]}
        if set(value) == {"dict"} and isinstance(value["dict"], dict):
            return {str(k): _decode(v) for k, v in value["dict"].items()}
        raise NoRecipe(f"an argument it cannot read: {value!r}"[:200])
    return value


class Check(ABC):
    """A read-only judgement, named as a claim (`OutageBelow`, `SinglePrimary`)."""

    label: str | None = None
    from_history: ClassVar[bool] = False
    """True when `evaluate` reads only the run's record (no host): `opslab rejudge` can judge it again."""

    _made_with: tuple[tuple[Any, ...], dict[str, Any]]

    def __new__(cls, *args: Any, **kwargs: Any) -> Self:
        self = super().__new__(cls)
        self._made_with = (args, kwargs)  # what `recipe()` records: the check, made again, is the same check
        return self

    def recipe(self) -> dict[str, Any]:
        """How to make this check again, as JSON: its class and arguments. Raises `NoRecipe` when an argument
        cannot be written as JSON."""
        args, kwargs = getattr(self, "_made_with", ((), {}))
        cls = type(self)
        return {
            "check": f"{cls.__module__}:{cls.__qualname__}",
            "args": [_encode(a) for a in args],
            "kwargs": {k: _encode(v) for k, v in kwargs.items()},
        }

    @staticmethod
    def from_recipe(recipe: Any) -> Check:
        """The check a recipe names, made with today's code of its class; `NoRecipe` says why not."""
        obj = Check.class_of(recipe)
        args, kwargs = recipe.get("args") or [], recipe.get("kwargs") or {}
        if not isinstance(args, list) or not isinstance(kwargs, dict):
            raise NoRecipe(f"{recipe['check']}: its arguments are not a list and a mapping")
        try:
            check: Check = obj(*_decode(args), **{str(k): _decode(v) for k, v in kwargs.items()})
        except TypeError as exc:
            raise NoRecipe(f"{recipe['check']} no longer takes the recorded arguments: {exc}") from None
        return check

    @staticmethod
    def class_of(recipe: Any) -> type[Check]:
        """The check class a recipe names, as today's code has it; `NoRecipe` when there is none."""
        if not isinstance(recipe, dict) or not isinstance(recipe.get("check"), str):
            raise NoRecipe(f"not a recipe: {recipe!r}"[:200])
        module, _, qualname = recipe["check"].partition(":")
        try:
            obj: Any = importlib.import_module(module)
            for part in qualname.split("."):
                obj = getattr(obj, part)
        except (ImportError, AttributeError, ValueError) as exc:
            raise NoRecipe(f"{recipe['check']} is gone ({type(exc).__name__}: {exc})") from None
        if not (isinstance(obj, type) and issubclass(obj, Check)):
            raise NoRecipe(f"{recipe['check']} is not a check")
        return obj

    @property
    def name(self) -> str:
        return self.label or type(self).__name__

    @abstractmethod
    def evaluate(self, run: RunView) -> CheckResult: ...

    def result(self, ok: bool, detail: str, **evidence: Any) -> CheckResult:
        return CheckResult.judge(self.name, ok, detail, **evidence)

    def unknown(self, detail: str, **evidence: Any) -> CheckResult:
        return CheckResult.unknown(self.name, detail, **evidence)


class Invariant(Check):
    """A check cheap enough to run after every step; the run records each violation."""

    from_history: ClassVar[bool] = False  # sampled from the live lab all through the run: never rejudged


class OutageBelow(Check):
    """The service, as a workload saw it, was never silent for `limit_s` or longer: the longest time between two
    acknowledged operations of `workload` (from `since` itself when it is given: the silence right after a move
    or a crash counts), up to `until`.

    `since_what` names the moment `since` stands for (`"the address move"`): when it is given and `since` is None,
    that moment was not recorded and the verdict is unknown rather than a judgement of the whole run.
    """

    from_history = True

    def __init__(
        self,
        workload: str,
        limit_s: float,
        *,
        since: float | None = None,
        until: float | None = None,
        since_what: str = "",
    ) -> None:
        self.workload = workload
        self.limit_s = limit_s
        self.since = since
        self.until = until
        self.since_what = since_what
        self.label = f"OutageBelow({limit_s:g}s)"

    def evaluate(self, run: RunView) -> CheckResult:
        ops = run.ops.get(self.workload)
        if not ops:
            return self.unknown(f"the {self.workload} workload's operations were not recorded")
        if self.since is None and self.since_what:
            return self.unknown(f"{self.since_what} was not recorded")
        start, gap = silence(ops, since=self.since, until=self.until)
        after = f" after {self.since_what}" if self.since_what else ""
        return self.result(
            gap < self.limit_s,
            f"longest silence {gap:.2f}s{after}, from {start:.2f} (limit {self.limit_s:g}s)",
            outage_s=round(gap, 3),
            outage_start=start,
            limit_s=self.limit_s,
        )


class StepFailedWith(Check):
    """A step of this run failed exactly the way the scenario reproduces it: the last step whose title holds
    `title` exited with `rc` (any non-zero status when `rc` is None) and its output, or why opslab stopped it
    (`timed out after 30s`), holds `message`. The
    step's own record (exit status, the output line) is the evidence, so an expected failure is judged by what
    the software said, not by "some step failed". A step that succeeded, failed otherwise or never ran fails it.
    """

    from_history = True

    def __init__(self, title: str, message: str, rc: int | None = None) -> None:
        self.title = title
        self.message = message
        self.rc = rc
        self.label = f"StepFailedWith({title!r}, {message!r})"

    def evaluate(self, run: RunView) -> CheckResult:
        steps = [s for s in run.steps if self.title in s.title]
        if not steps:
            return self.result(False, f"no step '{self.title}' ran")
        s = steps[-1]
        output = "\n".join(part for part in (s.why, s.stdout, s.stderr) if part)
        lines = [line.strip() for line in output.splitlines() if self.message in line]
        rc_ok = s.rc != 0 if self.rc is None else s.rc == self.rc
        said = lines[0] if lines else "; ".join(output.strip().splitlines()[-2:]) or "no output"
        detail = f"[{s.host}] {s.command}: exit {s.rc}: {said}"
        if not rc_ok:
            detail += f" (expected exit {self.rc if self.rc is not None else 'non-zero'})"
        if not lines:
            detail += f" (no '{self.message}' in its output)"
        return self.result(rc_ok and bool(lines), detail, host=s.host, rc=s.rc, line=lines[0] if lines else None)


def last_heal(run: RunView) -> float | None:
    """When the run's last fault was healed; None when none was."""
    healed = [f.healed for f in run.faults if f.healed is not None]
    return max(healed) if healed else None


class ServiceBackWithin(Check):
    """A robust judge (lab.plan `Expect(robust=True)`): the workload `workload` had an operation answered within
    `limit_s` of the later of `since` (when the runbook's last step ended: from then on its state should serve) and
    the last fault's heal. Whatever a fault did, once it is healed the service must answer again within the lab's
    bound: a fault that took the service away while in place is forgiven until its heal, one that left the runbook's
    work undone (a lost announcement) is not."""

    from_history = True

    def __init__(self, workload: str, limit_s: float, since: float | None, what: str = "the last step") -> None:
        self.workload = workload
        self.limit_s = limit_s
        self.since = since
        self.what = what

    def evaluate(self, run: RunView) -> CheckResult:
        ops = run.ops.get(self.workload)
        if not ops:
            return self.unknown(f"the {self.workload} traffic was not recorded")
        if self.since is None:
            return self.unknown(f"the moment {self.what} was not recorded")
        healed = last_heal(run)
        ref, after = (
            (healed, "the last fault's heal")
            if healed is not None and healed > self.since
            else (
                self.since,
                self.what,
            )
        )
        answered = [op.t for op in ops if op.ok and op.t >= ref]
        if not answered:
            end = max(op.t for op in ops)
            return self.result(
                False,
                f"not answered in the {max(0.0, end - ref):.2f}s recorded after {after} (limit {self.limit_s:g}s)",
                since=ref,
                limit_s=self.limit_s,
            )
        wait = answered[0] - ref
        return self.result(
            wait <= self.limit_s,
            f"answered {wait:.2f}s after {after} (limit {self.limit_s:g}s)",
            wait_s=round(wait, 3),
            since=ref,
            limit_s=self.limit_s,
        )
