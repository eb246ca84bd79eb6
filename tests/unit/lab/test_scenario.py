"""The scenario engine with a fake lab: verdicts, heals that always run, invariants, user scripts."""

from pathlib import Path

import pytest

from lab.checks import Check, CheckResult, Invariant
from lab.errors import CommandError, OpslabError
from lab.faults import Fault, FaultNotHealed
from lab.host import TIMED_OUT_RC
from lab.procedure import Procedure, Step, load_user_procedure
from lab.scenario import ScenarioRun, StepFailed
from lab.wait import wait_until


class Fixed(Check):
    def __init__(self, ok: bool | None, label: str = "Fixed") -> None:
        self.ok = ok
        self.label = label

    def evaluate(self, run: ScenarioRun) -> CheckResult:
        return self.unknown("can't tell") if self.ok is None else self.result(self.ok, "fixed")


class Recording(Fault):
    def __init__(self) -> None:
        self.calls: list[str] = []

    def invoke(self, run: ScenarioRun) -> None:
        self.calls.append("invoke")

    def heal(self, run: ScenarioRun) -> None:
        self.calls.append("heal")

    def gone(self, run: ScenarioRun) -> tuple[bool, str]:
        return "heal" in self.calls, "healed" if "heal" in self.calls else "still broken"


def make(fake_lab, **kw) -> ScenarioRun:  # type: ignore[no-untyped-def]
    procs = {"move": Procedure("move", "m", (Step("old", "ip addr del {vip}/24 dev eth0"),))}
    return ScenarioRun("fake/x", fake_lab, procedures=procs, **kw)


def test_pass_needs_every_check_as_expected(fake_lab) -> None:  # type: ignore[no-untyped-def]
    run = make(fake_lab)
    run.check(Fixed(True))
    run.check(Fixed(False, "Broken"), expect="fail")
    run.close()
    assert run.verdict() == "pass"


def test_a_check_that_differs_from_its_expectation_fails_the_scenario(fake_lab) -> None:  # type: ignore[no-untyped-def]
    run = make(fake_lab)
    run.check(Fixed(True), expect="fail")
    run.close()
    assert run.verdict() == "fail" and "expected fail" in run.summary()


def test_no_check_or_an_undecided_one_is_unknown(fake_lab) -> None:  # type: ignore[no-untyped-def]
    run = make(fake_lab)
    run.close()
    assert run.verdict() == "unknown"
    run2 = make(fake_lab)
    run2.check(Fixed(None))
    run2.close()
    assert run2.verdict() == "unknown"


def test_steps_render_facts_and_a_failed_step_stops_with_its_reason(fake_lab) -> None:  # type: ignore[no-untyped-def]
    fake_lab.transports["old"].replies["ip addr del"] = (2, "RTNETLINK answers: Cannot assign requested address")
    run = make(fake_lab)
    with pytest.raises(StepFailed) as e:
        run.procedure("move")
    assert fake_lab.transports["old"].commands == ["ip addr del 10.9.0.100/24 dev eth0"]
    assert "exit status 2" in e.value.message and "Cannot assign" in e.value.message
    assert run.steps[0].ok is False


def test_a_fault_is_healed_at_close_even_when_the_scenario_broke(fake_lab) -> None:  # type: ignore[no-untyped-def]
    run = make(fake_lab)
    fault = Recording()
    run.inject(fault)
    run.close()
    assert fault.calls == ["invoke", "heal"]
    assert run.faults[0].heal_ok is True and run.faults[0].healed is not None


def test_a_fault_block_heals_on_exception(fake_lab) -> None:  # type: ignore[no-untyped-def]
    run = make(fake_lab)
    fault = Recording()
    with pytest.raises(RuntimeError), run.fault(fault):
        raise RuntimeError("boom")
    assert fault.calls == ["invoke", "heal"]
    run.close()
    assert fault.calls == ["invoke", "heal"]  # not healed twice


class BlockPort(Fault):
    """A fault on the fake gateway: a firewall table, put back with `nft delete table`, probed with `nft list`."""

    heal_within = 0.3

    def invoke(self, run: ScenarioRun) -> None:
        run.host("gateway").check_output("nft add table inet blocked")

    def heal(self, run: ScenarioRun) -> None:
        run.host("gateway").check_output("nft delete table inet blocked")

    def gone(self, run: ScenarioRun) -> tuple[bool, str]:
        tables = run.host("gateway").check_output("nft list tables inet")
        return "blocked" not in tables, f"gateway: {tables.strip() or 'no inet table'}"


def blocked_run(fake_lab, tables: str, delete: tuple[int, str] = (0, "")) -> tuple[ScenarioRun, BlockPort]:  # type: ignore[no-untyped-def]
    fake_lab.transports["gateway"].replies.update({"nft list tables": (0, tables), "nft delete table": delete})
    run = make(fake_lab)
    fault = BlockPort()
    run.inject(fault)
    run.check(Fixed(True))
    return run, fault


def test_a_good_heal_is_done_once_its_probe_sees_the_fault_gone(fake_lab) -> None:  # type: ignore[no-untyped-def]
    run, fault = blocked_run(fake_lab, "table inet filter\n")
    run.heal(fault)
    run.close()
    rec = run.faults[0]
    assert rec.heal_ok is True and rec.heal_detail == "gateway: table inet filter"
    assert run.verdict() == "pass" and run.error is None
    assert fake_lab.transports["gateway"].commands[-1] == "nft list tables inet"  # probed after the heal
    assert run.to_dict(1.0)["faults"][0]["heal_ok"] is True


def test_a_heal_whose_command_failed_makes_the_run_an_error_naming_the_fault(fake_lab) -> None:  # type: ignore[no-untyped-def]
    run, fault = blocked_run(fake_lab, "table inet blocked\n", delete=(1, "Error: Could not process rule: Device busy"))
    with pytest.raises(FaultNotHealed) as e:
        run.heal(fault)
    assert "BlockPort not healed: its heal failed" in e.value.message and "Device busy" in e.value.message
    assert "\n" not in e.value.message and e.value.hint
    run.close()
    rec = run.faults[0]
    assert rec.heal_ok is False and "Device busy" in rec.heal_detail
    assert run.verdict() == "error" and "BlockPort" in (run.error or "")
    [heal] = run.history.events("heal")
    assert heal.ok is False and "Device busy" in heal.detail
    assert run.to_dict(1.0)["faults"][0]["heal_ok"] is False


def test_a_heal_whose_probe_still_sees_the_fault_is_an_error_with_what_it_saw(fake_lab) -> None:  # type: ignore[no-untyped-def]
    run, fault = blocked_run(fake_lab, "table inet blocked\n")
    with pytest.raises(FaultNotHealed) as e:
        run.heal(fault)
    assert "BlockPort not healed: still in place 0.3s after its heal: gateway: table inet blocked" in e.value.message
    run.close()
    assert run.faults[0].heal_ok is False and "table inet blocked" in run.faults[0].heal_detail
    assert run.verdict() == "error"
    assert "still in place" in run.to_dict(1.0)["faults"][0]["heal_detail"]


def test_a_fault_left_in_place_at_close_is_an_error(fake_lab) -> None:  # type: ignore[no-untyped-def]
    run, _ = blocked_run(fake_lab, "table inet blocked\n")
    run.close()
    assert run.verdict() == "error" and "BlockPort not healed" in (run.error or "")


def test_a_probe_that_cannot_answer_does_not_count_as_gone(fake_lab) -> None:  # type: ignore[no-untyped-def]
    run, fault = blocked_run(fake_lab, "")
    fake_lab.transports["gateway"].replies["nft list tables"] = (1, "nft: command not found")
    with pytest.raises(FaultNotHealed, match="the probe failed: command failed .*nft: command not found"):
        run.heal(fault)


def test_a_fault_block_whose_heal_fails_is_an_error_even_after_a_failed_step(fake_lab) -> None:  # type: ignore[no-untyped-def]
    fake_lab.transports["gateway"].replies["nft list tables"] = (0, "table inet blocked\n")
    fake_lab.transports["old"].replies["false"] = (1, "")
    run = make(fake_lab)
    with pytest.raises(OpslabError) as e, run.fault(BlockPort()):
        run.step(Step("old", "false"))
    assert isinstance(e.value, FaultNotHealed) and isinstance(e.value.__context__, StepFailed)
    run.close()
    assert run.verdict() == "error" and run.steps[0].ok is False


def test_a_fault_without_a_probe_cannot_be_made() -> None:
    class NoProbe(Fault):
        def invoke(self, run: ScenarioRun) -> None: ...

        def heal(self, run: ScenarioRun) -> None: ...

    with pytest.raises(TypeError, match="gone"):
        NoProbe()  # type: ignore[abstract]


class NeverTwo(Invariant):
    def __init__(self) -> None:
        self.n = 0

    def evaluate(self, run: ScenarioRun) -> CheckResult:
        self.n += 1
        return self.result(self.n != 2, f"probe {self.n}")


def test_invariants_run_after_every_step_and_report_violations(fake_lab) -> None:  # type: ignore[no-untyped-def]
    run = make(fake_lab)
    run.watch_interval_s = 3600  # no background sample in this test: only the three after the steps
    run.watch(NeverTwo())
    for _ in range(3):
        run.step(Step("new", "true"))
    run.close()
    judged = {c.result.name: c.result for c in run.checks}
    assert judged["NeverTwo"].verdict == "fail" and "violated in 1 of 3 samples" in judged["NeverTwo"].detail
    assert "after true" in judged["NeverTwo"].detail
    assert run.verdict() == "fail"


class Flag(Invariant):
    """Violated while `bad` is set; raises an OpslabError while `blind` is set (a host that cannot be probed)."""

    def __init__(self) -> None:
        self.bad = False
        self.blind = False
        self.seen = 0

    def evaluate(self, run: ScenarioRun) -> CheckResult:
        self.seen += 1
        if self.blind:
            raise CommandError("docker exec ...", 1, "", "No such container")
        return self.result(not self.bad, "bad" if self.bad else "fine")


def test_a_violation_between_steps_is_seen_by_the_background_watch(fake_lab) -> None:  # type: ignore[no-untyped-def]
    said: list[str] = []
    run = make(fake_lab, progress=said.append)
    inv = Flag()
    run.watch(inv)
    run.step(Step("new", "true"))
    inv.bad = True  # e.g. two primaries for a moment during a wait, healed before the next step
    wait_until(lambda: run.watching.violations["Flag"], what="the watch to see it", timeout=10)
    inv.bad = False
    run.step(Step("new", "true"))
    run.close()
    result = {c.result.name: c.result for c in run.checks}["Flag"]
    assert result.verdict == "fail" and "between steps" in result.detail
    assert any("invariant Flag fail at +" in line for line in said)  # shown the moment it was seen
    assert run.verdict() == "fail"
    assert run.to_dict(1.0)["watch"]["interval_s"] == run.watch_interval_s


def test_a_host_that_cannot_be_probed_in_the_background_is_not_a_violation(fake_lab) -> None:  # type: ignore[no-untyped-def]
    run = make(fake_lab)
    inv = Flag()
    run.watch(inv)
    run.step(Step("new", "true"))
    inv.blind = True  # a node being replaced
    n = inv.seen
    wait_until(lambda: inv.seen > n + 2, what="background samples", timeout=10)
    inv.blind = False
    run.step(Step("new", "true"))
    run.close()
    result = {c.result.name: c.result for c in run.checks}["Flag"]
    assert result.verdict == "pass" and "could not probe" in result.detail
    assert run.verdict() == "pass"


class Crashing(Invariant):
    def evaluate(self, run: ScenarioRun) -> CheckResult:
        raise KeyError("boom")


def test_an_invariant_that_crashes_in_the_background_makes_the_run_an_error(fake_lab) -> None:  # type: ignore[no-untyped-def]
    run = make(fake_lab)
    run.watch(Crashing())
    wait_until(lambda: run.watching.watcher is not None and run.watching.watcher.failure, what="the crash", timeout=10)
    run.check(Fixed(True))
    run.close()
    assert run.verdict() == "error" and "KeyError: 'boom'" in (run.error or "")


def test_a_host_step_that_hangs_is_killed_at_its_timeout(fake_lab) -> None:  # type: ignore[no-untyped-def]
    def hang(command: str) -> tuple[int, str]:
        return TIMED_OUT_RC, ""

    fake_lab.transports["gateway"].replies["sleep 3600"] = hang
    run = make(fake_lab)
    with pytest.raises(StepFailed) as e:
        run.step(Step("gateway", "sleep 3600", timeout=0))
    assert fake_lab.transports["gateway"].timeouts == [0]  # the transport was told to kill it
    assert "timed out after 0 s" in e.value.message and run.steps[0].ok is False


def test_a_local_step_that_hangs_is_killed_with_what_it_started(fake_lab, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    pidfile = tmp_path / "child.pid"
    run = make(fake_lab)
    step = Step("local", f"sleep 60 & echo $! > {pidfile}; sleep 30", local=True, timeout=0.5)
    with pytest.raises(StepFailed) as e:
        run.step(step)
    assert "timed out after 0.5 s" in e.value.message
    child = Path(f"/proc/{pidfile.read_text().strip()}/stat")

    def gone() -> bool:  # no such process, or a zombie waiting to be reaped
        try:
            return child.read_text().rsplit(")", 1)[1].split()[0] == "Z"
        except OSError:
            return True

    wait_until(gone, what="the script's background child to be killed too", timeout=10)


def test_a_user_script_replaces_the_procedure_and_sees_the_lab(fake_lab, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    script = tmp_path / "mine.sh"
    script.write_text('echo "$OPSLAB_VIP $OPSLAB_HOST_OLD"\n')
    run = make(fake_lab, override=load_user_procedure(script, fake_lab.spec.hosts))
    run.procedure("move")
    assert run.steps[0].stdout.strip() == "10.9.0.100 opslab-fake-000000-old-1"
    assert fake_lab.transports["old"].commands == []


def test_result_dict_has_the_report_contract(fake_lab) -> None:  # type: ignore[no-untyped-def]
    run = make(fake_lab)
    run.check(Fixed(True))
    run.metric("outage_s", 0.25)
    run.close()
    d = run.to_dict(1.5)
    assert {"id", "lab", "verdict", "duration_s", "steps", "faults", "checks", "metrics"} <= set(d)
    assert d["checks"][0] == {"name": "Fixed", "verdict": "pass", "detail": "fixed", "expected": "pass", "evidence": {}}
    assert d["metrics"] == {"outage_s": 0.25} and d["logs"]["old"] == "log of old\n"


def test_an_interrupted_heal_is_not_recorded_as_done(fake_lab) -> None:  # type: ignore[no-untyped-def]
    class Interrupted(Recording):
        def heal(self, run: ScenarioRun) -> None:
            raise KeyboardInterrupt

    run = make(fake_lab)
    run.inject(Interrupted())
    with pytest.raises(KeyboardInterrupt):
        run.heal(run._active_faults[0][0])
    assert run.faults[0].heal_ok is False and run.faults[0].heal_detail == "its heal was interrupted"
