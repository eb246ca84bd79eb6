"""The scenario engine: one run of lab + procedure + faults + workload + checks, recorded in a history.

A `ScenarioRun` is what a scenario's test function drives:

    run.start(PingService(...))           # workload, stopped at the end
    run.procedure("migrate_with_garp")    # steps from scenarios/<lab>/procedures.py (or the user's script)
    with run.fault(DropArp(...)): ...      # a fault, healed on leaving the block whatever happens
    run.check(OutageBelow(1.0))            # a judgement, expected to pass ...
    run.check(OutageBelow(1.0), expect="fail")   # ... or to fail, in a scenario reproducing a failure

The scenario's verdict: `pass` when every check gave its expected verdict (a scenario that reproduces a known
failure passes when the lab shows and detects it), `fail` when one did not or a step failed, `unknown` when a
check could not decide or nothing was checked, `error` when the run itself broke: the lab did not come up, a
fault's heal failed or its probe still saw the fault (see lab.faults), the invariant watcher crashed, or the
engine that drives the run (lab.plugin) saw any other exception (the type and message are kept in `error`).

A host step runs with its `Step.timeout`: the host kills it then (lab.host.with_deadline) and the step fails
"timed out after N s". Invariants given to `watch()` are sampled after every step and, on a background thread
(lab.watch), every `watch_interval_s` seconds in between; a violation is shown the moment it is seen.
`close()` stops workloads, heals every fault still active, stops the watch, judges the invariants and keeps the
hosts' logs; it always runs.

For a person at the keyboard (`opslab rehearse`): `run.verify(step)` records a step someone ran by hand, judged by
the step's own read-only verification; `run.waiting` (default: nothing) is told of every step and wait while it
lasts, with the step's progress probe, so a terminal can show it ticking. Steps run as rendered once
(lab.procedure): a rendered step is not rendered again.

A step that `expand`s (an Ansible playbook, lab.ansible.playbook) runs steps of its own: each is recorded with
`record_step` (its own start, end and `outcome`) exactly as a step opslab ran, invariants sampled after it.
For a fault schedule (`opslab explore`, lab.schedule): every hook in `run.at_boundary` is called at each step
boundary of `procedure()` (before each step, and once after the last), where it injects and heals faults.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

from lab.capture import Capture
from lab.checks import Check, CheckResult, Invariant, NoRecipe, Verdict
from lab.errors import OpslabError, WaitTimeout, describe, one_line
from lab.faults import Fault, FaultNotHealed
from lab.files import KEPT_COPY_PREFIX
from lab.history import History
from lab.host import TIMED_OUT_RC, Host
from lab.lifecycle import Lab
from lab.procedure import Procedure, Step
from lab.records import FaultRecord, JudgedCheck, StepRecord, scenario_verdict
from lab.view import LiveView
from lab.wait import wait_until
from lab.watch import InvariantWatch
from lab.workloads import Op, Workload

Progress = Callable[[str], None]
# shows a long wait to a person: (what is awaited, a probe saying how far it got, or None) → a context around it
Waiting = Callable[[str, Callable[[], str] | None], AbstractContextManager[Any]]


def no_waiting(what: str, probe: Callable[[], str] | None) -> AbstractContextManager[Any]:
    return nullcontext()


class StepFailed(OpslabError):
    """A step did not have the outcome it expected: the procedure stops there."""

    exit_code = 1


class ScenarioRun:
    def __init__(
        self,
        scenario_id: str,
        lab: Lab,
        *,
        description: str = "",
        procedures: dict[str, Procedure] | None = None,
        override: Procedure | None = None,
        progress: Progress | None = None,
    ) -> None:
        self.id = scenario_id
        self.lab = lab
        self.description = description
        self.procedures = dict(procedures or {})
        self.override = override
        self.progress: Progress = progress or (lambda msg: None)
        self.history = History()
        self.steps: list[StepRecord] = []
        self.faults: list[FaultRecord] = []
        self.checks: list[JudgedCheck] = []
        self.metrics: dict[str, float] = {}
        self._active_faults: list[tuple[Fault, FaultRecord]] = []
        self._workloads: list[Workload] = []
        self.ops: dict[str, list[Op]] = {}
        self.started = time.time()
        self.duration_s = 0.0
        self.error: str | None = None
        self.failure: str | None = None
        self.logs: dict[str, str] = {}
        self.files_dir: str | None = None  # the lab's kept files (LabSpec.keep_files), copied out at close
        self._facts: dict[str, Any] | None = None
        self.closed = False
        self._cleanups: list[tuple[str, Callable[[], Any]]] = []
        self.waiting: Waiting = no_waiting  # rehearse shows long steps and waits as they tick
        self._step_seq = 0  # steps begun so far
        self.view = LiveView(self)  # all that judges get to see: they cannot act through it
        # the invariants watched after every step and in between (lab.watch), judged at close
        self.watching = InvariantWatch(
            self.view,
            self.history,
            lambda msg: self.progress(msg),
            started=self.started,
            interval_s=lab.spec.watch_interval_s,
            current_step=lambda: self._step_seq,
        )
        # called at every step boundary of `procedure()`: (run, boundary, steps) with boundary 0 before the first
        # step, k after step k, steps after the last (a fault schedule injects and heals there: lab.schedule)
        self.at_boundary: list[Callable[[ScenarioRun, int, int], None]] = []

    @property
    def watch_interval_s(self) -> float:
        """How often watched invariants are sampled between steps (the lab's `watch_interval_s`)."""
        return self.watching.interval_s

    @watch_interval_s.setter
    def watch_interval_s(self, seconds: float) -> None:
        self.watching.interval_s = seconds

    @property
    def invariants(self) -> list[tuple[Invariant, Verdict]]:
        return self.watching.invariants

    # -- the lab -----------------------------------------------------------------------------------
    def host(self, name: str) -> Host:
        return self.lab.host(name)

    @property
    def facts(self) -> dict[str, Any]:
        if self._facts is None:
            self._facts = self.lab.facts()
        return self._facts

    # -- doers -------------------------------------------------------------------------------------
    def step(self, step: Step, *, check: bool = True) -> StepRecord:
        """Run one step; a step whose outcome differs from what it expects stops the procedure."""
        s = step.render(self.facts)
        if s.expand is not None:  # a step made of steps (an Ansible playbook: one per task and host)
            rec: StepRecord = s.expand(self, s, check)  # type: ignore[assignment]
            return rec
        t0 = time.time()
        rc, out, err = self._execute(s, re.sub(r"^(\d+\.\s*)?(wait for\s+)?", "", s.title) or s.command)
        duration = time.time() - t0
        if rc == TIMED_OUT_RC and duration >= s.timeout:
            ok, why = False, f"timed out after {s.timeout:g} s (killed)"
        else:
            ok, why = s.judge(rc, out + err)
        rec = self._record(s, rc, ok, t0, out, err, why)
        if check and not ok:
            tail = (err or out).strip().splitlines()[-3:]
            raise StepFailed(
                f"step failed on {s.host}: {s.command}: {why}" + (f": {' / '.join(tail)}" if tail else ""),
                "the procedure stopped here; the report has the step's output",
            )
        return rec

    def verify(self, step: Step) -> StepRecord:
        """Judge a step a person ran by hand: run its read-only verification (`Step.verification`: its `verify`
        command, which must exit 0, or the step itself when it only reads, with its own expectations) and record the
        step with that outcome. A step with no verification is recorded as unverified (not ok)."""
        s = step.render(self.facts)
        t0 = time.time()
        check = s.verification
        if check is None:
            return self._record(s, -1, False, t0, "", "", "run by hand; nothing to verify it with")
        probe = s if s.verify is None else replace(s, command=check, expect_rc=0, expect_output=None)
        rc, out, err = self._execute(probe, f"verifying: {s.title or s.command}")
        ok, why = probe.judge(rc, out + err)
        why = f"its verification gave {why}" if why else ""
        return self._record(s, rc, ok, t0, out, err, why, how=f"run by hand; verified with: {check}")

    def _execute(self, s: Step, what: str) -> tuple[int, str, str]:
        self._step_seq += 1
        probe = None
        if s.progress is not None and not s.local:
            command = s.progress

            def probe() -> str:
                return self.host(s.host).run(command, timeout=5).stdout.strip()

        with self.waiting(what, probe):
            if s.local:
                return self._run_local(s)
            r = self.host(s.host).run(s.command, timeout=s.timeout)
            return r.rc, r.stdout, r.stderr

    def record_step(
        self,
        step: Step,
        *,
        rc: int,
        ok: bool,
        started: float,
        ended: float,
        stdout: str = "",
        stderr: str = "",
        why: str = "",
        how: str = "",
        outcome: str = "",
    ) -> StepRecord:
        """Record a step something else ran (a task of an Ansible playbook, lab.ansible) as `step` records its own:
        in the steps and the history, shown, and followed by a sample of the watched invariants."""
        self._step_seq += 1
        return self._record(step, rc, ok, started, stdout, stderr, why, how, ended=ended, outcome=outcome)

    def _record(
        self,
        s: Step,
        rc: int,
        ok: bool,
        t0: float,
        out: str,
        err: str,
        why: str,
        how: str = "",
        *,
        ended: float | None = None,
        outcome: str = "",
    ) -> StepRecord:
        duration = (time.time() if ended is None else ended) - t0
        rec = StepRecord(s.host, s.command, s.title, rc, ok, t0, duration, out, err, why, how, outcome)
        self.steps.append(rec)
        self.history.add(
            "step",
            s.title or s.command,
            host=s.host,
            ok=ok,
            t=t0,
            detail=f"{s.command}  ({how})" if how else s.command,
            rc=rc,
            duration_s=rec.duration_s,
        )
        mark = "ok" if ok else f"FAILED ({why})"
        self.progress(f"  [{s.host}] $ {s.command}  → {mark} ({rec.duration_s:.1f}s){f'  [{how}]' if how else ''}")
        self.watching.after_step(s.title or s.command, self._step_seq)
        return rec

    def _run_local(self, step: Step) -> tuple[int, str, str]:
        env = {**os.environ, "OPSLAB_PROJECT": self.lab.project, "OPSLAB_LAB": self.lab.spec.name}
        for name in self.lab.spec.hosts:
            env[f"OPSLAB_HOST_{name.upper()}"] = self.lab.container_name(name)
        for key, value in self.facts.items():
            env[f"OPSLAB_{key.upper()}"] = str(value)
        # its own session, so a timeout kills the whole script (what it started too), not only its shell
        p = subprocess.Popen(
            step.command,
            shell=True,
            env=env,
            text=True,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        try:
            out, err = p.communicate(timeout=step.timeout)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            out, err = p.communicate()
            return TIMED_OUT_RC, out, err + f"\ntimed out after {step.timeout:g}s"
        except BaseException:  # Ctrl-C or the scenario's deadline: the script does not outlive the run
            os.killpg(p.pid, signal.SIGKILL)
            p.wait()
            raise
        return p.returncode, out, err

    def procedure(self, name: str) -> Procedure:
        """Run a named procedure of this lab, or the user's own in its place (`--procedure`)."""
        if self.override is not None:
            proc = self.override
            self.note(f"procedure {name} replaced by {proc.source}")
        elif name in self.procedures:
            proc = self.procedures[name]
        else:
            raise OpslabError(
                f"lab {self.lab.spec.name} has no procedure {name!r}",
                f"procedures: {', '.join(sorted(self.procedures))}",
            )
        self.progress(f"{self.id}: procedure {proc.name} ({len(proc.steps)} steps)")
        for n, s in enumerate(proc.steps):
            self._boundary(n, len(proc.steps))
            self.step(s)
        self._boundary(len(proc.steps), len(proc.steps))
        return proc

    def _boundary(self, n: int, steps: int) -> None:
        for hook in self.at_boundary:
            hook(self, n, steps)

    @contextmanager
    def fault(self, fault: Fault) -> Iterator[Fault]:
        self.inject(fault)
        try:
            yield fault
        finally:
            self.heal(fault)

    def inject(self, fault: Fault) -> None:
        """Invoke a fault; it stays until `heal(fault)` or the end of the run, where it is always healed."""
        rec = FaultRecord(fault.name, fault.describe(), time.time())
        self.faults.append(rec)
        self._active_faults.append((fault, rec))
        self.progress(f"  fault: {fault.describe()}")
        self.history.add("fault", fault.name, detail=fault.describe())
        fault.invoke(self)

    def heal(self, fault: Fault) -> None:
        """Heal an active fault, then poll its probe until it is gone (`fault.heal_within` s at most).

        Done only when both hold: the heal raised nothing and `fault.gone()` said so. Otherwise the lab is left
        broken: the ledger says which fault and what the probe saw, the run is an `error`, and `FaultNotHealed`
        stops the scenario (a later judgement would judge a lab still under the fault)."""
        found = [rec for f, rec in self._active_faults if f is fault]
        if not found:
            return
        rec = found[0]
        self._active_faults = [(f, r) for f, r in self._active_faults if f is not fault]
        problem: str | None = "its heal was interrupted"  # until the heal and its probe have answered
        seen = ["never probed"]

        def probe() -> bool:
            try:
                gone, detail = fault.gone(self)
            except Exception as exc:
                seen[0] = f"the probe failed: {one_line(exc)}"
                raise
            seen[0] = detail
            return gone

        try:
            try:
                fault.heal(self)
            except Exception as exc:
                problem = f"its heal failed: {one_line(exc)}"
            else:
                try:
                    wait_until(probe, what=f"{fault.name} to be gone", timeout=fault.heal_within, interval=0.2)
                    problem = None
                except WaitTimeout:
                    problem = f"still in place {fault.heal_within:g}s after its heal: {seen[0]}"
        finally:
            rec.healed = time.time()
            rec.heal_ok = problem is None
            rec.heal_detail = problem or seen[0]
            self.history.add("heal", fault.name, ok=problem is None, detail=rec.heal_detail)
        if problem is None:
            self.progress(f"  healed: {fault.describe()} ({seen[0]})")
            return
        message = f"fault {fault.name} not healed: {problem}"
        self.progress(f"  NOT healed: {message}")
        # set here as well as raised: a scenario that catches the exception still ends in `error`
        self.error = f"{self.error}; {message}" if self.error else message
        raise FaultNotHealed(
            message,
            f"the lab is still under '{fault.describe()}'; run again with --keep and look with `opslab shell`",
        )

    def capture(
        self, network: str, keep: Callable[[Any], bool] | None = None, *, host: str | None = None, bpf: str = ""
    ) -> Capture:
        """Start a packet capture on a lab network, in `host` (default: the first host on it) with an optional
        tcpdump filter `bpf` (lab.capture); it is stopped at the end of the run at the latest."""
        cap = Capture(self.lab, network, keep, host=host, bpf=bpf).start()
        self._cleanups.append((f"capture on {network}", cap.stop))
        return cap

    def start(self, workload: Workload) -> Workload:
        self._workloads.append(workload)
        self.history.add("workload", workload.name, detail="start")
        workload.start(self)
        return workload

    def stop(self, workload: Workload) -> list[Op]:
        self._workloads.remove(workload)
        ops = workload.stop(self)
        self.ops[workload.name] = ops
        for op in ops:
            self.history.add("op", workload.name, ok=op.ok, t=op.t, detail=op.value)
        self.history.add("workload", workload.name, detail=f"stop: {len(ops)} operations")
        return ops

    # -- judges ------------------------------------------------------------------------------------
    def check(self, check: Check, *, expect: str = "pass") -> CheckResult:
        expected = Verdict(expect)
        try:
            result = check.evaluate(self.view)
        except OpslabError as exc:
            result = CheckResult.unknown(check.name, f"could not judge: {exc.message}")
        ok = self._judged(result, expected, check)
        note = "" if ok else f"   (expected {expected})"
        self.progress(f"  check {result.name}: {result.verdict} — {result.detail}{note}")
        return result

    def _judged(self, result: CheckResult, expected: Verdict, check: Check) -> bool:
        """Record a judgement and its expectation (checks and invariants alike); whether it was as expected. The
        history keeps how to make the check again (`judge`: its recipe, lab.checks), for `opslab rejudge`."""
        self.checks.append(JudgedCheck(result, expected, time.time()))
        ok = result.verdict == expected
        try:
            recipe = check.recipe()
        except NoRecipe as exc:
            recipe = {"check": f"{type(check).__module__}:{type(check).__qualname__}", "unrecorded": str(exc)}
        self.history.add(
            "check",
            result.name,
            ok=ok,
            detail=result.detail,
            verdict=str(result.verdict),
            expected=str(expected),
            judge=recipe,
        )
        return ok

    def watch(self, invariant: Invariant, *, expect: str = "pass") -> None:
        """Watch this invariant from now on: after every step, and all the time in between (every
        `watch_interval_s` seconds, in the background, through waits, faults and workloads). Its verdict joins the
        checks at the end; a violation is shown the moment it is seen."""
        self.watching.watch(invariant, Verdict(expect))

    def wait_for(self, probe: Callable[[], Any], *, what: str, timeout: float, interval: float = 0.05) -> Any:
        """Poll a read-only condition with a deadline (a precondition, not a judgement); noted in the history."""
        t0 = time.time()
        with self.waiting(what, None):
            value = wait_until(probe, what=what, timeout=timeout, interval=interval)
        self.history.add("note", "wait", detail=f"{what}: after {time.time() - t0:.2f}s", t=t0)
        return value

    def metric(self, name: str, value: float) -> None:
        self.metrics[name] = round(float(value), 3)
        self.history.add("metric", name, detail=f"{value:.3f}", value=value)

    def note(self, text: str) -> None:
        self.history.add("note", "note", detail=text)

    # -- end ---------------------------------------------------------------------------------------
    def close(self) -> None:
        """Stop workloads, heal what is still broken, judge the invariants, keep the logs. Runs once."""
        if self.closed:
            return
        self.closed = True
        problems = []
        for w in list(self._workloads):
            try:
                self.stop(w)
            except Exception as exc:
                problems.append(f"stopping {w.name}: {describe(exc)}")
        for what, cleanup in reversed(self._cleanups):
            try:
                cleanup()
            except Exception as exc:
                problems.append(f"{what}: {describe(exc)}")
        for fault, _ in reversed(list(self._active_faults)):
            try:
                self.heal(fault)
            except Exception as exc:
                problems.append(f"healing {fault.name}: {describe(exc)}")
        problems += self.watching.finish()  # watched through the heals above; judged from here on
        for inv, expected in self.invariants:
            self._judged(self.watching.result(inv), expected, inv)
        try:
            self.logs = self.lab.logs()
        except Exception as exc:
            problems.append(f"reading logs: {describe(exc)}")
        self._keep_files()
        if problems:  # added to what broke the run before, never in place of it
            self.error = "; ".join([self.error, *problems] if self.error else problems)

    def _keep_files(self) -> None:
        """Copy the lab's `keep_files` out before it goes down, for the report (`files_dir`). A copy that fails is
        noted, never a verdict: the files are for a person to look at, not evidence."""
        for host, path in self.lab.spec.keep_files:
            if self.files_dir is None:
                self.files_dir = tempfile.mkdtemp(prefix=KEPT_COPY_PREFIX)  # removed once reported (lab.report)
            try:
                self.lab.copy_out(host, path, Path(self.files_dir) / host)
            except Exception as exc:  # noqa: BLE001 - noted, see above
                self.note(f"could not keep {host}:{path} for the report: {describe(exc)}")

    def verdict(self) -> str:
        return scenario_verdict(
            bool(self.error), bool(self.failure), ((c.result.verdict, c.expected) for c in self.checks)
        )

    def summary(self) -> str:
        lines = [f"{self.id}: {self.verdict()}"]
        if self.error:
            lines.append(f"  error: {self.error}")
        if self.failure:
            lines.append(f"  failure: {self.failure}")
        for c in self.checks:
            mark = "✓" if c.as_expected else "✗"
            lines.append(f"  {mark} {c.result.name}: {c.result.verdict} (expected {c.expected}) — {c.result.detail}")
        if not self.checks:
            lines.append("  no check was made: a scenario that judges nothing proves nothing")
        return "\n".join(lines)

    def to_dict(self, duration_s: float) -> dict[str, Any]:
        return {
            "id": self.id,
            "lab": self.lab.spec.name,
            "verdict": self.verdict(),
            "duration_s": round(duration_s, 3),
            "started": self.started,
            "project": self.lab.project,
            "description": self.description,
            "steps": [asdict(s) for s in self.steps],
            "faults": [asdict(f) for f in self.faults],
            "checks": [
                {
                    "name": c.result.name,
                    "verdict": str(c.result.verdict),
                    "detail": c.result.detail,
                    "expected": str(c.expected),
                    "evidence": c.result.evidence,
                }
                for c in self.checks
            ],
            "metrics": dict(self.metrics),
            "params": dict(self.lab.params),
            "facts": dict(self._facts or {}),
            "watch": self.watching.to_dict(),
            "error": self.error or self.failure,
            "history": self.history.to_dicts(),
            "logs": self.logs,
            "files": self.files_dir,
        }
