"""Rehearsal with a fake lab: render once (every built-in procedure, both paths), the verdict line, the report, the
exit status, the user's own runbook, and the interactive flow driven through a real pty."""

from __future__ import annotations

import importlib
import json
import os
import pty
import re
import select
import string
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from lab.catalog import procedures
from lab.checks import Check, CheckResult
from lab.console import Console
from lab.errors import UsageError
from lab.plan import Expect, Plan
from lab.procedure import Procedure, Step, fill
from lab.registry import get_lab
from lab.rehearse import Judging, Rehearsal, judging_for, resolve
from lab.scenario import ScenarioRun
from lab.spec import ROOT, get_spec, lab_names
from lab.wait import wait_until
from tests.conftest import FakeLab


# -- render once, every built-in procedure --------------------------------------------------------------------
def fields(template: str) -> set[str]:
    return {f for _, f, _, _ in string.Formatter().parse(template) if f}


def builtin_labs() -> list[str]:
    """opslab's own labs (other installed labs, such as examples/keepalived, are their packages' to test)."""
    return [lab for lab in lab_names() if get_lab(lab).origin.startswith("opslab ")]


def every_procedure() -> list[tuple[str, str]]:
    return [(lab, name) for lab in builtin_labs() for name in procedures(lab)]


def lab_with_facts(lab_name: str, steps: list[Step]) -> tuple[FakeLab, dict[str, Any]]:
    """A fake lab with the lab's hosts and exactly the facts its steps name (a second render would name others)."""
    names = set().union(
        *(fields(s.command) | fields(s.title) | fields(s.verify or "") | fields(s.progress or "") for s in steps)
    )
    facts = {n: f"<{n}>" for n in names}
    lab = FakeLab(facts)
    for host in get_spec(lab_name).hosts:
        if host not in lab.transports:
            lab.add_host(host)
    return lab, facts


def expected_commands(steps: list[Step], facts: dict[str, Any]) -> list[tuple[str, str]]:
    return [(s.host, fill(s.command, facts)) for s in steps]


def sent(lab: FakeLab, local: list[str]) -> list[str]:
    return [c for t in lab.transports.values() for c in t.commands] + local


@pytest.fixture
def no_local_commands(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Steps on `local` (docker compose on this machine) are recorded, not run."""
    ran: list[str] = []

    def fake_local(self: ScenarioRun, step: Step) -> tuple[int, str, str]:
        ran.append(step.command)
        return 0, "", ""

    monkeypatch.setattr(ScenarioRun, "_run_local", fake_local)
    monkeypatch.setattr(Step, "judge", lambda self, rc, output: (True, ""))  # canned replies match no pattern
    return ran


@pytest.mark.parametrize(("lab_name", "name"), every_procedure(), ids=[f"{a}/{b}" for a, b in every_procedure()])
def test_every_builtin_procedure_runs_rendered_once_in_the_scenario_path(
    lab_name: str, name: str, no_local_commands: list[str]
) -> None:
    proc = procedures(lab_name)[name]
    prepare = list(getattr(importlib.import_module(f"scenarios.{lab_name}.procedures"), "PREPARE", ()))
    lab, facts = lab_with_facts(lab_name, [*prepare, *proc.steps])
    run = ScenarioRun(f"{lab_name}/x", lab, procedures=procedures(lab_name))
    for step in prepare:
        run.step(step)
    run.procedure(name)
    want = [c for _, c in expected_commands([*prepare, *proc.steps], facts)]
    assert [r.command for r in run.steps] == want
    assert sorted(sent(lab, no_local_commands)) == sorted(want)


class Nothing(Plan):
    title = "nothing"


@pytest.mark.parametrize(("lab_name", "name"), every_procedure(), ids=[f"{a}/{b}" for a, b in every_procedure()])
def test_every_builtin_procedure_is_shown_and_run_rendered_once_in_the_rehearsal_path(
    lab_name: str, name: str, no_local_commands: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    proc = procedures(lab_name)[name]
    lab, facts = lab_with_facts(lab_name, list(proc.steps))
    code = Rehearsal(lab, name, Judging(proc, Nothing(), True, []), Console(tty=False), yes=True, report=tmp_path).run()
    out = capsys.readouterr().out
    want = expected_commands(list(proc.steps), facts)
    for _, command in want:
        assert f"  $ {command}\n" in out  # shown exactly as run
    probes = {fill(s.progress, facts) for s in proc.steps if s.progress}  # how far a long step got: read-only
    assert sorted(c for c in sent(lab, no_local_commands) if c not in probes) == sorted(c for _, c in want)
    assert out.rstrip().splitlines()[-1] == "verdict: unknown" and code == 1  # judged nothing: not a pass


def test_the_awk_step_of_rebuild_from_slave_keeps_its_braces() -> None:
    step = next(s for s in procedures("mysql")["rebuild_from_slave"].steps if "awk" in s.command)
    once = step.render({"master_ip": "10.0.0.2", "repl_user": "r", "repl_password": "p", "mysql": "mysql"})
    assert "{print $2}" in once.command and once.render({}) is once


# -- verdict, report, exit status -----------------------------------------------------------------------------
class Fixed(Check):
    def __init__(self, ok: bool, label: str) -> None:
        self.ok, self.label = ok, label

    def evaluate(self, run: ScenarioRun) -> CheckResult:
        return self.result(self.ok, "as fixed")


class Judged(Plan):
    title = "fixed checks"

    def __init__(self, *checks: Expect) -> None:
        self.checks = list(checks)
        self.calls: list[str] = []

    def before(self, run: ScenarioRun) -> str:
        self.calls.append("before")
        return "stage"

    def after(self, run: ScenarioRun, stage: Any) -> None:
        self.calls.append(f"after {stage}")

    def judgements(self, run: ScenarioRun, stage: Any) -> list[Expect]:
        return self.checks


MOVE = Procedure("move", "move it", (Step("old", "ip addr del {vip}/24 dev eth0", "remove"),))


def rehearse_fake(plan: Plan, tmp_path: Path, proc: Procedure = MOVE, **kw: Any) -> tuple[int, FakeLab]:
    lab = FakeLab({"vip": "10.9.0.100"})
    code = Rehearsal(lab, proc.name, Judging(proc, plan, **kw), Console(tty=False), yes=True, report=tmp_path).run()
    return code, lab


def test_a_rehearsal_that_meets_its_plan_passes_and_writes_the_report(tmp_path: Path, capsys: Any) -> None:
    plan = Judged(Expect(Fixed(True, "Good")), Expect(Fixed(False, "Broken"), "fail"))
    code, lab = rehearse_fake(plan, tmp_path, own_plan=True, watch=[])
    out = capsys.readouterr().out.rstrip().splitlines()
    assert code == 0 and out[-1] == "verdict: pass" and lab.state == "down"
    assert plan.calls == ["before", "after stage"]
    assert any("✓ Good: pass" in line for line in out) and any("✓ Broken: fail (expected fail)" in line for line in out)
    data = json.loads((tmp_path / "results.json").read_text())
    s = data["scenarios"][0]
    assert s["id"] == "fake/rehearse_move" and s["verdict"] == "pass"
    assert [c["name"] for c in s["checks"]] == ["Good", "Broken"]
    assert (tmp_path / "junit.xml").exists() and (tmp_path / "report.html").exists()


def test_a_check_that_misses_the_goal_fails_the_rehearsal_with_exit_1(tmp_path: Path, capsys: Any) -> None:
    code, _ = rehearse_fake(Judged(Expect(Fixed(False, "OutageBelow"))), tmp_path, own_plan=True, watch=[])
    out = capsys.readouterr().out.rstrip().splitlines()
    assert code == 1 and out[-1] == "verdict: fail"
    assert any("✗ OutageBelow: fail (expected pass)" in line for line in out)


def test_the_default_plan_says_it_stands_in(tmp_path: Path, capsys: Any) -> None:
    rehearse_fake(Judged(Expect(Fixed(True, "Good"))), tmp_path, own_plan=False, watch=[])
    out = capsys.readouterr().out
    assert "has no scenario of its own: judged with the lab's default plan (fixed checks)" in out
    assert "checks of the lab's default plan" in out


def test_a_failed_step_with_yes_aborts_without_judging(tmp_path: Path, capsys: Any) -> None:
    plan = Judged(Expect(Fixed(True, "Good")))
    lab = FakeLab({"vip": "10.9.0.100"}, {"old": {"ip addr del": (2, "Cannot assign requested address")}})
    code = Rehearsal(lab, "move", Judging(MOVE, plan, True, []), Console(tty=False), yes=True, report=tmp_path).run()
    out = capsys.readouterr().out
    assert code == 1 and out.rstrip().splitlines()[-1] == "verdict: fail"
    assert "step 1 failed (--yes stops at the first failed step)" in out and plan.calls == ["before"]


def test_the_lab_not_coming_up_is_error(tmp_path: Path, capsys: Any) -> None:
    class Broken(FakeLab):
        def up(self) -> FakeLab:
            raise RuntimeError("compose up failed")

    lab = Broken({"vip": "10.9.0.100"})
    code = Rehearsal(
        lab, "move", Judging(MOVE, Nothing(), True, []), Console(tty=False), yes=True, report=tmp_path
    ).run()
    out = capsys.readouterr().out
    assert code == 1 and out.rstrip().splitlines()[-1] == "verdict: error"
    assert "the lab did not come up: RuntimeError: compose up failed" in out


def test_every_lab_declares_a_plan_for_each_procedure_and_invariants_to_watch() -> None:
    for lab in builtin_labs():
        d = get_lab(lab)
        assert d.invariants, f"{lab} watches nothing while rehearsing"
        assert set(d.plans) <= set(procedures(lab))
        for name, proc in procedures(lab).items():
            j = judging_for(lab, name, proc)
            assert j.plan is (d.plans.get(name) or d.default_plan) and j.plan.title
            assert list(j.watch) == list(d.invariants)


def test_the_users_runbook_replaces_the_procedure_and_a_wrong_name_is_refused(tmp_path: Path) -> None:
    runbook = tmp_path / "quiet.steps"
    runbook.write_text("old: ip addr del {vip}/24 dev eth0\nnew: ip addr add {vip}/24 dev eth0\n")
    hosts = get_spec("arp").hosts
    proc = resolve("arp", "migrate_with_garp", str(runbook), hosts)
    assert [s.host for s in proc.steps] == ["old", "new"] and proc.source == str(runbook)
    assert resolve("arp", "migrate_with_garp", f"migrate_with_garp={runbook}", hosts) == proc
    with pytest.raises(UsageError, match="replaces 'migrate_without_garp'"):
        resolve("arp", "migrate_with_garp", f"migrate_without_garp={runbook}", hosts)
    with pytest.raises(UsageError, match="no procedure 'nope'"):
        resolve("arp", "nope", None, hosts)


# -- waits that tick ------------------------------------------------------------------------------------------
class Buffer:
    def __init__(self) -> None:
        self.text = ""

    def write(self, s: str) -> None:
        self.text += s

    def flush(self) -> None:
        pass

    def isatty(self) -> bool:
        return False


def test_a_long_wait_says_what_it_waits_for_how_far_and_how_long() -> None:
    out = Buffer()
    console = Console(out, tty=False, after_s=0.05, every_s=0.05, log_every_s=0.05)  # type: ignore[arg-type]
    with console.waiting("beta's resync", lambda: "41% done"):
        wait_until(lambda: "waiting for beta's resync" in out.text, what="the wait to be shown", timeout=10)
    assert re.search(r"waiting for beta's resync \(41% done — \d+ s\)", out.text), out.text
    quick = Buffer()
    with Console(quick, tty=False).waiting("nothing long"):  # type: ignore[arg-type]
        pass
    assert quick.text == ""


# -- the interactive flow, through a real terminal ------------------------------------------------------------
DRIVER = r"""
import sys
from pathlib import Path
sys.path.insert(0, sys.argv[1])
from lab.checks import Check
from lab.console import Console
from lab.plan import Expect, Plan
from lab.procedure import Procedure, Step
from lab.rehearse import Judging, Rehearsal
from tests.conftest import FakeLab

class HasVip(Check):
    def evaluate(self, run):
        return self.result("10.9.0.100" in new.state, "new holds it")

class Move(Plan):
    title = "the move"
    def judgements(self, run, stage):
        return [Expect(HasVip())]

lab = FakeLab({"vip": "10.9.0.100"})
new = lab.transports["new"]
new.state = ""  # what the fake host holds: only what opslab ran there

def add(command):
    new.state = "inet 10.9.0.100/24"
    return 0, ""

new.replies["ip addr add"] = add
new.replies["ip -o addr show"] = lambda c: (0 if new.state else 1, new.state)
new.replies["echo done"] = (0, "done")
proc = Procedure("move", "move it", (
    Step("old", "ip addr del {vip}/24 dev eth0", "remove it from old"),
    Step("new", "ip addr add {vip}/24 dev eth0", "add it on new",
         verify="ip -o addr show dev eth0 | grep -q ' {vip}/'"),
    Step("new", "arping -U -c1 {vip}", "announce it"),
    Step("new", "echo done", "say so", readonly=True, expect_output="^done$"),
))
code = Rehearsal(lab, "move", Judging(proc, Move(), True, []), Console(), yes=False, report=Path(sys.argv[2])).run()
print(f"[exit {code}; lab {'kept' if lab.keep else lab.state}; sent {lab.transports['old'].commands}"
      f" {new.commands}]")
"""


class Terminal:
    """A child process on a pty: read until a text shows, answer, read on."""

    def __init__(self, argv: list[str]) -> None:
        pid, fd = pty.fork()
        if pid == 0:  # pragma: no cover - the child
            os.execv(argv[0], argv)
        self.pid, self.fd, self.seen = pid, fd, ""

    def expect(self, text: str, timeout: float = 20.0) -> str:
        deadline = time.monotonic() + timeout
        while text not in self.seen:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"no {text!r} on the terminal; it shows:\n{self.seen[-2000:]}")
            ready, _, _ = select.select([self.fd], [], [], left)
            if ready:
                try:
                    chunk = os.read(self.fd, 4096).decode(errors="replace")
                except OSError:
                    chunk = ""
                if not chunk:
                    raise AssertionError(f"the program ended before {text!r}:\n{self.seen[-2000:]}")
                self.seen += chunk
        return self.seen

    def answer(self, keys: str) -> None:
        os.write(self.fd, (keys + "\n").encode())

    def wait(self) -> None:
        os.waitpid(self.pid, 0)
        os.close(self.fd)


def drive(tmp_path: Path) -> Terminal:
    script = tmp_path / "driver.py"
    script.write_text(DRIVER)
    return Terminal([sys.executable, str(script), str(ROOT), str(tmp_path / "report")])


def test_run_manual_skip_in_a_terminal_then_the_verdict(tmp_path: Path) -> None:
    t = drive(tmp_path)
    t.expect("step 1/4 [old] remove it from old")
    t.expect("[s]kip / [a]bort? ")
    t.answer("r")  # run it here
    t.expect("step 2/4 [new] add it on new")
    t.expect("[a]bort? ")
    t.answer("m")  # by hand: the exact shell command, then the step's own verification
    t.expect("in another terminal:  opslab shell opslab-fake-000000 new")
    t.expect("    ip addr add 10.9.0.100/24 dev eth0")
    t.expect("press Enter when you have run it")
    t.answer("")  # ...but the fake host got nothing: its verification says so
    t.expect("verified with `ip -o addr show dev eth0 | grep -q ' 10.9.0.100/'`: NOT as expected")
    t.expect("[r]etry / [m]anually in opslab shell, then verify / [s]kip / [a]bort? ")
    t.answer("r")  # retry: opslab runs it
    t.expect("step 3/4 [new] announce it")
    t.expect("[a]bort? ")
    t.answer("s")  # skip
    t.expect("skipped step 3")
    t.expect("step 4/4 [new] say so")
    t.expect("[a]bort? ")
    t.answer("m")  # a step that only reads is verified by running it again
    t.expect("press Enter when you have run it")
    t.answer("")
    t.expect("verified with `echo done`: as expected")
    out = t.expect("[exit ")
    t.expect("]")
    t.wait()
    assert "steps skipped: 3" in out and "✓ HasVip: pass" in out
    assert "verdict: pass\r\n[exit 0;" in out  # the verdict is the rehearsal's last line; exit 0 on pass
    assert "arping" not in out.split("[exit ")[1]  # the skipped step was never sent
    data = json.loads((tmp_path / "report" / "results.json").read_text())
    hows = [s["how"] for s in data["scenarios"][0]["steps"]]
    assert hows.count("") == 2 and "run by hand; verified with: echo done" in hows
    assert any(h.startswith("run by hand; verified with: ip -o addr show") for h in hows)


def test_abort_in_a_terminal_asks_whether_to_keep_the_lab(tmp_path: Path) -> None:
    t = drive(tmp_path)
    t.expect("[a]bort? ")
    t.answer("a")
    t.expect("keep the lab opslab-fake-000000 to look around in opslab shell? [n/y] ")
    t.answer("y")
    out = t.expect("[exit ")
    t.expect("]")
    t.wait()
    assert "kept opslab-fake-000000" in out and "verdict: fail" in out
    assert "[exit 1; lab kept; sent [] []]" in out
    data = json.loads((tmp_path / "report" / "results.json").read_text())
    assert data["scenarios"][0]["error"] == "aborted at step 1 by the person rehearsing"


def test_rehearse_refuses_a_bad_procedure_arg_before_any_lab_starts() -> None:
    p = subprocess.run(
        [sys.executable, "-m", "lab", "rehearse", "arp", "migrate_with_garp", "--yes", "--procedure", "/nope.steps"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert p.returncode == 2 and "procedure file /nope.steps does not exist" in p.stderr and "Hint:" in p.stderr


def test_a_users_runbook_is_said_to_stand_in_for_the_procedure(tmp_path: Path, capsys: Any) -> None:
    mine = Procedure("quiet", "user runbook quiet.steps", MOVE.steps, source="/home/me/quiet.steps")
    lab = FakeLab({"vip": "10.9.0.100"})
    Rehearsal(
        lab, "migrate_with_garp", Judging(mine, Nothing(), True, []), Console(tty=False), yes=True, report=tmp_path
    ).run()
    out = capsys.readouterr().out
    assert "your runbook /home/me/quiet.steps stands in for migrate_with_garp" in out
    assert "judged as the scenario of migrate_with_garp judges it" in out


def test_a_step_waits_under_what_it_waits_for_with_its_progress_probe(fake_lab: FakeLab) -> None:
    from contextlib import nullcontext

    seen: list[tuple[str, str | None]] = []
    fake_lab.transports["new"].replies["drbdadm status"] = (0, "sync'ed: 41.0%\n")
    run = ScenarioRun("fake/x", fake_lab)
    run.waiting = lambda what, probe: seen.append((what, probe() if probe else None)) or nullcontext()  # type: ignore[func-returns-value]
    run.step(Step("new", "until true; do sleep 1; done", "6. wait for beta's resync", progress="drbdadm status r0"))
    run.step(Step("new", "true", "wait for the initial full sync"))
    run.step(Step("new", "true"))
    assert seen == [("beta's resync", "sync'ed: 41.0%"), ("the initial full sync", None), ("true", None)]
