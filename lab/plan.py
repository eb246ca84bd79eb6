"""Plans: how a runbook procedure is staged before it runs and judged after it — one source of truth, used by the
procedure's scenario and by `opslab rehearse`, so the two cannot drift apart.

Each lab declares (opslab's own labs in `scenarios/<lab>/plans.py`; its definition, lab.registry, carries them as
`plans`, `default_plan` and `invariants`):
- `PLANS`: {procedure name: Plan}. The scenario of that procedure walks the same plan (`plan.walk(run, name)`);
  a scenario reproducing a broken variant walks the runbook's plan and says which checks it expects to fail
  (`expect={"OutageBelow(1s)": "fail"}`). A plan's expectations are the runbook's goal, so rehearsing a broken variant
  (or a user's runbook) that misses the goal ends in `fail`;
- `DEFAULT`: the plan a rehearsal uses for a procedure with no plan of its own (rehearse says so, and names the
  checks it used);
- `WATCH`: the invariants watched all through a walk (scenario or rehearsal), in the background and after each
  step (`ScenarioRun.watch`).

A `Plan` keeps doers apart from judges:
- `before(run)` (doer): bring the lab to the state the procedure starts from (the lab's `PREPARE` steps,
  workloads, captures); returns a stage object with what the judges need later (a workload, a capture, times);
- `after(run, stage)` (doer): once the last step ran, let the lab settle (waits poll with a deadline), stop the
  workloads, record metrics. A settling wait that runs out is noted (`settled`), not raised: what the procedure
  failed to reach is for the checks to judge (fail), not an error of the run;
- `judgements(run, stage)` (judge): the checks, each with the verdict the runbook's goal expects (`Expect`); those
  that hold whatever faults did (once healed) are marked `robust`: a fault schedule is judged by them alone;
- `record(run, results)`: metrics drawn from the checks' evidence (optional).
`judge(run, stage, expect=...)` runs the judgements through `run.check` and returns their results by name.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from lab.checks import Check, CheckResult, Invariant
from lab.errors import UsageError, WaitTimeout

if TYPE_CHECKING:
    from lab.scenario import ScenarioRun


@dataclass(frozen=True)
class Expect:
    """A check and the verdict it must give for the procedure to have reached its goal."""

    check: Check
    verdict: str = "pass"
    robust: bool = False
    """Holds whatever faults were injected and healed (no acknowledged write lost, the service answering again
    within the lab's bound after the last heal): what `opslab explore` judges a fault schedule by."""


def procedure_end(run: ScenarioRun) -> float | None:
    """When the last step run so far ended (None when no step ran): where a robust judge counts from."""
    return run.steps[-1].started + run.steps[-1].duration_s if run.steps else None


def settled(run: ScenarioRun, wait: Callable[[], object]) -> bool:
    """Run a settling wait after the procedure; when it runs out, note it and go on to the judges."""
    try:
        wait()
    except WaitTimeout as exc:
        run.note(f"the lab did not settle: {exc.message}; the checks judge what it reached")
        return False
    return True


class Plan:
    """Stages and judges one procedure; subclasses override what their procedure needs."""

    title: str = ""

    def before(self, run: ScenarioRun) -> Any:
        return None

    def after(self, run: ScenarioRun, stage: Any) -> None:
        return None

    def judgements(self, run: ScenarioRun, stage: Any) -> list[Expect]:
        return []

    def record(self, run: ScenarioRun, results: Mapping[str, CheckResult]) -> None:
        return None

    def judge(
        self, run: ScenarioRun, stage: Any, expect: Mapping[str, str] | None = None, *, robust_only: bool = False
    ) -> dict[str, CheckResult]:
        """Run every judgement (only the robust ones with `robust_only`: a fault schedule's judges), with `expect`
        overriding expected verdicts by check name; unknown names are refused (a typo would silently expect the
        runbook's goal)."""
        expect = dict(expect or {})
        items = [e for e in self.judgements(run, stage) if e.robust or not robust_only]
        names = [e.check.name for e in items]
        if unknown := sorted(set(expect) - set(names)):
            raise UsageError(
                f"the plan has no check {', '.join(unknown)} to expect a verdict of", f"its checks: {', '.join(names)}"
            )
        results = {e.check.name: run.check(e.check, expect=expect.get(e.check.name, e.verdict)) for e in items}
        self.record(run, results)
        return results

    def walk(
        self,
        run: ScenarioRun,
        procedure: str,
        *,
        watch: Sequence[type[Invariant]] = (),
        expect: Mapping[str, str] | None = None,
    ) -> dict[str, CheckResult]:
        """The scenario path: watch, stage, run the procedure, settle, judge."""
        for inv in watch:
            run.watch(inv())
        stage = self.before(run)
        run.procedure(procedure)
        self.after(run, stage)
        return self.judge(run, stage, expect)
