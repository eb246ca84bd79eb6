"""Fault schedules and exploration on a fake lab (no Docker): generation, the driver at step boundaries, Hypothesis's
search and shrinking, the schedule file and its replay, the sweep's table, and the robust judge ServiceBackWithin."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings

from lab.checks import Check, CheckResult, ServiceBackWithin
from lab.cli import main
from lab.errors import UsageError
from lab.explore import Outcome, Target, explore, outcome_of, sweep, sweep_schedules, sweep_table, walk_schedule
from lab.faults import Fault, FaultKind, fault_arg, fault_library
from lab.plan import Expect, Plan
from lab.procedure import Procedure, Step
from lab.scenario import ScenarioRun
from lab.schedule import Injection, Schedule, ScheduleDriver, schedules
from lab.workloads import Op
from tests.conftest import FakeLab

STEPS = (
    Step("old", "ip addr del 10.9.0.100/24 dev eth0", "1. remove the IP from old"),
    Step("new", "ip addr add 10.9.0.100/24 dev eth0", "2. add the IP on new"),
    Step("new", "arping -U 10.9.0.100", "3. announce it"),
    Step("client", "ping -c1 10.9.0.100", "4. check"),
)
PROCEDURE = Procedure("move", "move the IP and announce it", STEPS)


class Flag(Fault):
    """A fault that only marks itself in place; `gone` after its heal."""

    def __init__(self, what: str, count: int = 1) -> None:
        self.what = what
        self.count = count
        self.in_place = False

    @property
    def name(self) -> str:
        return f"Flag_{self.what}"

    def invoke(self, run: ScenarioRun) -> None:
        self.in_place = True

    def heal(self, run: ScenarioRun) -> None:
        self.in_place = False

    def gone(self, run: ScenarioRun) -> tuple[bool, str]:
        return not self.in_place, f"{self.what} " + ("in place" if self.in_place else "gone")


LIBRARY = {
    k.name: k
    for k in (
        FaultKind(
            "lose_announce",
            "the announcement is lost",
            lambda count: Flag("announce", count),
            (fault_arg("count", "1", "how many", type="int", min=1, max=9),),
        ),
        FaultKind("flush", "a cache is flushed (harmless)", lambda: Flag("flush")),
        FaultKind(
            "blip", "a harmless blip", lambda mode: Flag("blip"), (fault_arg("mode", "a", "", choices=("a", "b")),)
        ),
    )
}


class AnnouncementHeard(Check):
    """Robust judge of the fake lab: step 3 did not run while a `lose_announce` fault was in place."""

    def evaluate(self, run: ScenarioRun) -> CheckResult:
        step = next((s for s in run.steps if s.title.startswith("3.")), None)
        if step is None:
            return self.unknown("the announcement step did not run")
        lost = [
            f
            for f in run.faults
            if f.name == "Flag_announce" and f.invoked <= step.started and (f.healed or 1e18) >= step.started
        ]
        return self.result(not lost, "announcement lost" if lost else "announcement heard")


class NeverRobust(Check):
    def evaluate(self, run: ScenarioRun) -> CheckResult:
        return self.result(False, "a goal check that a schedule is not judged by")


class FakePlan(Plan):
    def judgements(self, run: ScenarioRun, stage: Any) -> list[Expect]:
        return [Expect(AnnouncementHeard(), robust=True), Expect(NeverRobust())]


TARGET = Target("fake/move", PROCEDURE, FakePlan(), [], LIBRARY)


class FakeExecutor:
    """Runs a schedule on a fresh fake lab with the real engine, driver and plan walk."""

    def __init__(self) -> None:
        self.runs: list[Schedule] = []

    def __call__(self, schedule: Schedule) -> Outcome:
        self.runs.append(schedule)
        lab = FakeLab({"vip": "10.9.0.100"})
        run = ScenarioRun(f"fake/move@{schedule.digest()}", lab, procedures={"move": PROCEDURE})
        driver = ScheduleDriver(schedule, LIBRARY, TARGET.steps)
        walk_schedule(run, TARGET, driver)
        run.close()
        return outcome_of(run, schedule, driver, 0.01)


def strategy(max_faults: int = 3) -> Any:
    return schedules("fake/move", LIBRARY, len(STEPS) + 1, max_faults=max_faults)


# -- generation -------------------------------------------------------------------------------------------------


@settings(max_examples=200)
@given(strategy())
def test_generated_schedules_are_valid_one_fault_per_boundary_in_order(schedule: Schedule) -> None:
    schedule.check(LIBRARY, len(STEPS))
    ats = [i.at for i in schedule.injections]
    assert ats == sorted(set(ats)) and len(ats) <= 3
    assert all(1 <= i.heal_after <= 3 and i.offset_s == 0.0 for i in schedule.injections)


@settings(max_examples=100)
@given(schedules("fake/move", LIBRARY, 5, long_steps=[3]))
def test_offsets_only_inside_long_steps(schedule: Schedule) -> None:
    assert all(i.offset_s == 0.0 or i.at == 3 for i in schedule.injections)


def test_the_fault_library_is_declared_per_lab_and_refuses_bad_arguments() -> None:
    assert {"drop_garp", "flush_gateway_cache", "pause_new"} <= set(fault_library("arp"))
    assert {"crash_node", "cut_replication", "cut_heartbeat", "pause_node"} <= set(fault_library("drbd"))
    kind = fault_library("drbd")["crash_node"]
    assert kind.build({"node": "beta"}).describe().startswith("beta crashes")
    with pytest.raises(UsageError, match="no argument 'host'"):
        kind.build({"host": "beta"})
    with pytest.raises(UsageError, match="crash_node: node='gamma' is not one of its values"):
        kind.build({"node": "gamma"})


# -- the driver -------------------------------------------------------------------------------------------------


def test_the_driver_injects_at_its_boundary_and_heals_after_heal_after_boundaries() -> None:
    schedule = Schedule("fake/move", (Injection(1, "flush", {}, 2), Injection(3, "blip", {"mode": "b"}, 5)))
    out = FakeExecutor()(schedule)
    events = [(e["kind"], e["name"]) for e in out.data["history"] if e["kind"] in ("step", "fault", "heal")]
    names = [n for _, n in events]
    # flush before step 2, healed before step 4 (2 boundaries later); blip before step 4, healed at the end (5 > 4)
    assert events == [
        ("step", "1. remove the IP from old"),
        ("fault", "Flag_flush"),
        ("step", "2. add the IP on new"),
        ("step", "3. announce it"),
        ("heal", "Flag_flush"),
        ("fault", "Flag_blip"),
        ("step", "4. check"),
        ("heal", "Flag_blip"),
    ], names
    assert all(f["heal_ok"] for f in out.data["faults"])
    notes = [e["detail"] for e in out.data["history"] if e["kind"] == "note"]
    assert "schedule: flush before step 2: 2. add the IP on new" in notes


def test_a_step_that_fails_under_a_fault_stops_the_procedure_and_the_fault_is_healed_before_judging() -> None:
    class Failing(FakeExecutor):
        def __call__(self, schedule: Schedule) -> Outcome:
            lab = FakeLab({"vip": "10.9.0.100"})
            lab.transports["new"].replies["ip addr add"] = (2, "RTNETLINK answers: File exists")
            run = ScenarioRun("fake/move@x", lab, procedures={"move": PROCEDURE})
            driver = ScheduleDriver(schedule, LIBRARY, TARGET.steps)
            walk_schedule(run, TARGET, driver)
            run.close()
            return outcome_of(run, schedule, driver, 0.0)

    out = Failing()(Schedule("fake/move", (Injection(0, "flush", {}, 3),)))
    assert out.verdict == "fail" and "step failed on new" in out.broke[0]
    heal = next(e for e in out.data["history"] if e["kind"] == "heal")
    judged = next(e for e in out.data["history"] if e["kind"] == "check")
    assert heal["t"] <= judged["t"]


def test_an_offset_past_the_end_of_its_step_is_not_reached() -> None:
    out = FakeExecutor()(Schedule("fake/move", (Injection(2, "lose_announce", {"count": 1}, 1, offset_s=30.0),)))
    assert out.not_reached == ["lose_announce 30s into step 3: 3. announce it"]
    assert out.verdict == "pass" and out.data["faults"] == []


def test_only_robust_checks_judge_a_schedule() -> None:
    out = FakeExecutor()(Schedule("fake/move"))
    assert out.verdict == "pass"
    assert [c["name"] for c in out.data["checks"]] == ["AnnouncementHeard"]


# -- search, shrinking, the database, replay --------------------------------------------------------------------


def test_exploration_finds_the_lost_announcement_and_shrinks_it_to_one_fault(tmp_path: Path) -> None:
    execute = FakeExecutor()
    lines: list[str] = []
    state = explore("fake/move", strategy(), execute, budget_s=60, seed=3, say=lines.append, database=tmp_path / "db")
    assert state.found is not None and state.found.verdict == "fail"
    # one fault, in place while step 3 runs, as early as it can be (Hypothesis shrinks the boundary first)
    assert state.found.schedule.injections == (Injection(0, "lose_announce", {"count": 1}, 3),)
    assert state.found.broke == ["AnnouncementHeard: fail (expected pass) — announcement lost"]
    assert any("shrinking" in line for line in lines) and any("faults tried" in line for line in lines)

    # the example database (unseeded: Hypothesis keeps no database for a seeded search)
    first = FakeExecutor()
    state1 = explore(
        "fake/move", strategy(), first, budget_s=60, seed=None, say=lambda m: None, database=tmp_path / "db"
    )
    assert state1.found is not None and len(state1.found.schedule.injections) == 1
    again = FakeExecutor()  # the next search starts with the failure found
    state2 = explore(
        "fake/move", strategy(), again, budget_s=60, seed=None, say=lambda m: None, database=tmp_path / "db"
    )
    assert again.runs[0] == state1.found.schedule and len(again.runs) < len(first.runs)
    assert state2.found is not None and state2.found.schedule == state1.found.schedule

    # the schedule file replays to the same failure
    path = state.found.schedule.write(tmp_path / "fake" / "move-x.schedule.json", TARGET.steps, {"verdict": "fail"})
    doc = json.loads(path.read_text())
    assert doc["injections"][0]["where"] == "before step 1: 1. remove the IP from old"
    assert doc["injections"][0]["healed"] == "after step 3: 3. announce it"
    replayed = FakeExecutor()(Schedule.load(path))
    assert (replayed.verdict, replayed.signature) == ("fail", state.found.signature)


def test_no_failing_schedule_is_said_with_the_number_of_examples(tmp_path: Path) -> None:
    harmless = {k: v for k, v in LIBRARY.items() if k != "lose_announce"}
    execute = FakeExecutor()
    state = explore(
        "fake/move",
        schedules("fake/move", harmless, len(STEPS) + 1),
        execute,
        budget_s=60,
        seed=1,
        say=lambda m: None,
        database=None,
        max_examples=25,
    )
    assert state.found is None and state.examples == len(execute.runs) and 0 < state.examples <= 25


def test_the_budget_stops_the_search(tmp_path: Path) -> None:
    execute = FakeExecutor()
    state = explore("fake/move", strategy(), execute, budget_s=0.0, seed=1, say=lambda m: None, database=None)
    assert state.examples == 0 and execute.runs == [] and state.out_of_time and state.found is None


def test_a_broken_run_is_counted_not_taken_for_a_finding() -> None:
    def broken(schedule: Schedule) -> Outcome:
        return Outcome(schedule, "error", ["error: the lab did not come up"], frozenset({"error"}))

    state = explore(
        "fake/move", strategy(), broken, budget_s=60, seed=1, say=lambda m: None, database=None, max_examples=5
    )
    assert state.found is None and len(state.errors) == state.examples > 0


def test_a_schedule_file_is_refused_clearly_when_malformed(tmp_path: Path) -> None:
    bad = tmp_path / "s.json"
    bad.write_text('{"target": "fake/move", "injections": [{"at": 1, "fault": "flush", "heal_afer": 2}]}')
    with pytest.raises(UsageError, match="a key 'heal_afer' it does not take"):
        Schedule.load(bad)
    bad.write_text("{")
    with pytest.raises(UsageError, match="is not JSON"):
        Schedule.load(bad)
    for injections, message in (
        ((Injection(9, "flush"),), "boundary 9 is outside"),
        ((Injection(0, "nope"),), "no fault 'nope'"),
        ((Injection(0, "flush"), Injection(0, "blip")), "a second fault at boundary 0"),
        ((Injection(0, "flush", heal_after=0),), "heal_after 0"),
        ((Injection(0, "lose_announce", {"count": 0}),), "below its least value"),
    ):
        with pytest.raises(UsageError, match=message):
            Schedule("fake/move", injections).check(LIBRARY, len(STEPS))


# -- the sweep --------------------------------------------------------------------------------------------------


def test_a_sweep_of_chosen_steps_has_a_row_for_each() -> None:
    execute = FakeExecutor()
    rows = sweep_table(TARGET, sweep(TARGET, execute, lambda m: None, steps=[3]))
    assert len(execute.runs) == 1 + len(LIBRARY)
    assert [r[0] for r in rows] == ["step", "no fault", "before step 3: 3. announce it"]


def test_the_sweep_runs_every_fault_before_every_step_once_and_tabulates_them() -> None:
    execute = FakeExecutor()
    outcomes = sweep(TARGET, execute, lambda m: None)
    assert len(execute.runs) == 1 + len(STEPS) * len(LIBRARY) == len(sweep_schedules(TARGET))
    rows = sweep_table(TARGET, outcomes)
    assert rows[0] == ["step", "lose_announce", "flush", "blip"]
    assert rows[1][1:] == ["pass"] * 3
    lost = "fail (AnnouncementHeard: fail (expected pass))"
    assert rows[4] == ["before step 3: 3. announce it", lost, "pass", "pass"]
    assert all(r[1] == "pass" for i, r in enumerate(rows[2:]) if i != 2)


# -- the robust judge ---------------------------------------------------------------------------------------------


def _ping_run(fake_lab: FakeLab, answered: list[tuple[float, bool]], heals: dict[str, float]) -> ScenarioRun:
    run = ScenarioRun("fake/x", fake_lab)
    run.ops["PingService"] = [Op(t, ok) for t, ok in answered]
    for name, t in heals.items():
        from lab.scenario import FaultRecord

        run.faults.append(FaultRecord(name, name, t - 1, t, True))
    return run


def test_service_back_within_counts_from_the_last_step_or_the_last_heal(fake_lab: FakeLab) -> None:
    ops = [(t / 10, not 10 <= t < 40) for t in range(60)]  # silent from 1.0 s to 4.0 s
    check = ServiceBackWithin("PingService", 1.0, 1.0)
    r = check.evaluate(_ping_run(fake_lab, ops, {}))
    assert r.verdict == "fail" and "3.00s after the last step" in r.detail
    r = check.evaluate(_ping_run(fake_lab, ops, {"DropArp": 3.5}))  # a fault in place until 3.5 s is forgiven
    assert r.verdict == "pass" and "0.50s after the last fault's heal" in r.detail
    r = check.evaluate(_ping_run(fake_lab, ops, {"DropArp": 0.5}))  # a heal before the last step moves nothing
    assert r.verdict == "fail" and "after the last step" in r.detail
    never = [(t / 10, t < 10) for t in range(60)]
    r = check.evaluate(_ping_run(fake_lab, never, {}))
    assert r.verdict == "fail" and "not answered" in r.detail
    assert check.evaluate(ScenarioRun("fake/x", fake_lab)).verdict == "unknown"


def test_the_cli_refuses_what_explore_cannot_run(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["explore", "arp/migrate_with_garp"]) == 2
    assert "needs a --budget" in capsys.readouterr().err
    assert main(["explore", "arp/migrate_with_garp", "--sweep", "--budget", "5"]) == 2
    assert "takes no --budget" in capsys.readouterr().err
    assert main(["explore", "arp/migrate_with_garp", "--budget", "-1"]) == 2
    assert "not a positive number" in capsys.readouterr().err
    assert main(["explore", "arp/migrate_with_garp", "--budget", "5", "--steps", "1"]) == 2
    assert "--steps chooses the steps of a --sweep" in capsys.readouterr().err
    assert main(["explore", "drbd/replace_both_nodes", "--sweep", "--steps", "19"]) == 2
    assert "numbered 1 to 18" in capsys.readouterr().err
    assert main(["explore", "arp/migrate_with_garp", "--sweep", "--timeout", "0"]) == 2
    assert "--timeout 0 is not a positive" in capsys.readouterr().err
    assert main(["run", "arp/migrate_with_garp", "--replay", "/nonexistent.json", "--param", "retrans_ms=5"]) == 2
    assert "cannot change it" in capsys.readouterr().err
    assert main(["run", "arp/migrate_with_garp", "--replay", "/nonexistent.json"]) == 2
    assert "cannot read the schedule" in capsys.readouterr().err
