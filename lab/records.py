"""What a run records of its doers and judges, as plain data: a step's record, a fault's record, a judged check, and
the rule that turns judged checks into the scenario's verdict.

`ScenarioRun` (lab.scenario) makes these while it drives a run; the report writes them into results.json
(`dataclasses.asdict`); a recorded view (lab.view `RecordedView`, for `opslab rejudge`) makes them again from a
report folder. They hold no reference to a lab, so a judge that is given them cannot act through them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from lab.checks import CheckResult, Verdict


@dataclass(frozen=True)
class StepRecord:
    host: str
    command: str
    title: str
    rc: int
    ok: bool
    started: float
    duration_s: float
    stdout: str
    stderr: str
    why: str = ""
    how: str = ""  # empty when opslab ran it; "run by hand; verified with: ..." when a person did
    outcome: str = ""  # what the tool that ran it said, when it says more than ok (Ansible: ok, changed, skipped...)


@dataclass
class FaultRecord:
    name: str
    detail: str
    invoked: float
    healed: float | None = None
    heal_ok: bool | None = None  # True only when the heal succeeded and the fault's probe saw it gone
    heal_detail: str = ""  # what the probe saw last, or why the fault is still in place


@dataclass
class JudgedCheck:
    result: CheckResult
    expected: Verdict
    at: float

    @property
    def as_expected(self) -> bool:
        return self.result.verdict == self.expected


def scenario_verdict(error: bool, failed: bool, judged: Iterable[tuple[Verdict, Verdict]]) -> str:
    """A scenario's verdict from whether the run broke (`error`), a step failed (`failed`) and its judged checks
    as (verdict, expected) pairs: `error`; else `fail` when a step failed or a check gave a decided verdict other
    than its expected one; else `unknown` when nothing was judged or an undecided check was expected to decide;
    else `pass`."""
    pairs = list(judged)
    if error:
        return "error"
    if failed or any(v != e and v != Verdict.UNKNOWN for v, e in pairs):
        return "fail"
    if not pairs or any(v == Verdict.UNKNOWN and v != e for v, e in pairs):
        return "unknown"
    return "pass"
