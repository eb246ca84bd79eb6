"""Plans with a fake lab: the walk's order, expectations overridden by name, a misspelt name refused."""

from __future__ import annotations

from typing import Any

import pytest

from lab.checks import Check, CheckResult, Invariant
from lab.errors import UsageError
from lab.plan import Expect, Plan
from lab.procedure import Procedure, Step
from lab.scenario import ScenarioRun


class Fixed(Check):
    def __init__(self, ok: bool, label: str) -> None:
        self.ok, self.label = ok, label

    def evaluate(self, run: ScenarioRun) -> CheckResult:
        return self.result(self.ok, "fixed")


class Holds(Invariant):
    def evaluate(self, run: ScenarioRun) -> CheckResult:
        return self.result(True, "holds")


class Recorded(Plan):
    def __init__(self) -> None:
        self.calls: list[str] = []

    def before(self, run: ScenarioRun) -> str:
        self.calls.append(f"before ({len(run.steps)} steps)")
        return "stage"

    def after(self, run: ScenarioRun, stage: Any) -> None:
        self.calls.append(f"after {stage} ({len(run.steps)} steps)")

    def judgements(self, run: ScenarioRun, stage: Any) -> list[Expect]:
        return [Expect(Fixed(True, "Good")), Expect(Fixed(False, "Outage"), "fail")]

    def record(self, run: ScenarioRun, results: Any) -> None:
        run.metric("judged", len(results))


def make(fake_lab: Any) -> ScenarioRun:
    procs = {"move": Procedure("move", "m", (Step("old", "true"), Step("new", "true")))}
    return ScenarioRun("fake/x", fake_lab, procedures=procs)


def test_a_walk_watches_stages_runs_settles_and_judges(fake_lab: Any) -> None:
    plan, run = Recorded(), make(fake_lab)
    results = plan.walk(run, "move", watch=[Holds])
    run.close()
    assert plan.calls == ["before (0 steps)", "after stage (2 steps)"]
    assert list(results) == ["Good", "Outage"] and run.metrics["judged"] == 2
    assert [c.result.name for c in run.checks] == ["Good", "Outage", "Holds"] and run.verdict() == "pass"


def test_a_scenario_overrides_what_it_expects_by_name_and_a_misspelt_name_is_refused(fake_lab: Any) -> None:
    run = make(fake_lab)
    Recorded().judge(run, None, {"Outage": "pass"})
    run.close()
    assert run.verdict() == "fail"
    with pytest.raises(UsageError, match="no check Outgae"):
        Recorded().judge(make(fake_lab), None, {"Outgae": "fail"})


def test_a_settling_wait_that_runs_out_is_noted_for_the_judges_not_raised(fake_lab: Any) -> None:
    from lab.errors import WaitTimeout
    from lab.plan import settled

    run = make(fake_lab)

    def never() -> None:
        raise WaitTimeout("the gateway to learn the new MAC", 17, "02:42:0a:d5:04:0b")

    assert settled(run, never) is False and settled(run, lambda: None) is True
    notes = [e.detail for e in run.history.events() if e.kind == "note"]
    assert notes == [
        "the lab did not settle: timed out after 17s waiting for the gateway to learn the new MAC;"
        " last seen: '02:42:0a:d5:04:0b'; the checks judge what it reached"
    ]
