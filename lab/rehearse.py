"""Rehearsal: walk a procedure one step at a time on a live lab, as on the night of the change, and end in a verdict.

`opslab rehearse LAB PROCEDURE [--procedure [NAME=]PATH] [--yes] [--keep] [--report DIR]`:

1. The lab comes up; the lab's invariants (its definition's `invariants`, see lab.registry) are watched from then
   on, in the background and after each step; a violation is shown the moment it is seen.
2. The procedure's plan (`plans[procedure]`, else the lab's `default_plan`, said so) stages the lab: its `PREPARE`
   steps, workloads, captures — exactly what the procedure's scenario does (lab.plan).
3. The procedure (the built-in one, or the user's `.steps` file or script given with `--procedure`) is shown as a
   runbook, rendered once: each command is shown and run exactly as shown. For each step the person chooses:
   [r]un it here; [m]anually: the exact `opslab shell PROJECT HOST` command is printed, and when they come back
   the step is verified (its `verify` command, or the step itself when it only reads; else their word);
   [s]kip it; [a]bort. A failed step offers retry, manual, skip or abort; abort asks whether to keep the lab.
   `--yes` runs every step and aborts at the first that fails. A step or wait longer than 2 s shows what it
   waits for and for how long (and how far, when the step names a progress probe).
4. The plan settles the lab and judges it with the checks of the procedure's scenario, with their expected
   verdicts. The checks are printed, the report folder written (as `opslab run` writes it), and the last line
   is `verdict: pass|fail|unknown|error`. The exit status is 0 only on pass (130 after Ctrl-C).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lab.catalog import procedures
from lab.checks import Invariant
from lab.console import Console
from lab.errors import UsageError, describe
from lab.inputs import check_procedure, no_playbook_to_check
from lab.lifecycle import Lab, interrupts_as_keyboard
from lab.plan import Plan
from lab.procedure import Procedure, Step, load_user_procedure, split_override
from lab.registry import get_lab
from lab.report import discard_kept_copies, write_report
from lab.scenario import ScenarioRun, StepFailed
from lab.spec import get_spec

CHOICES = "  [r]un it / [m]anually in opslab shell / [s]kip / [a]bort? "
AFTER_FAILURE = "  [r]etry / [m]anually in opslab shell, then verify / [s]kip / [a]bort? "


class Aborted(Exception):
    """The person (or --yes at a failed step) stopped the rehearsal; the message says where."""


@dataclass
class Judging:
    """What a rehearsal walks: the procedure, the plan that stages and judges it, and the invariants watched."""

    procedure: Procedure
    plan: Plan
    own_plan: bool  # False: the lab's DEFAULT plan stands in (there is no scenario for this procedure)
    watch: Sequence[type[Invariant]]


def judging_for(lab_name: str, name: str, procedure: Procedure) -> Judging:
    """The plan of procedure `name` of the lab (the one its scenario walks), or the lab's default plan."""
    lab = get_lab(lab_name)
    own = name in lab.plans
    return Judging(procedure, lab.plans[name] if own else lab.default_plan, own, list(lab.invariants))


def resolve(lab_name: str, name: str, override: str | None, hosts: list[str], check: bool = False) -> Procedure:
    """The procedure to walk: the lab's own, or the user's in its place (`--procedure [NAME=]PATH`; `check`:
    Ansible's dry run of a playbook)."""
    procs = procedures(lab_name)
    if name not in procs:
        raise UsageError(f"lab {lab_name} has no procedure {name!r}", f"its procedures: {', '.join(procs)}")
    if override is None:
        if check:
            no_playbook_to_check()
        return procs[name]
    check_procedure(override, [lab_name], check=check)
    only, path = split_override(override)
    if only is not None and only != name:
        raise UsageError(
            f"--procedure replaces {only!r}, but the rehearsal walks {name!r}",
            f"write --procedure {name}={path}, or --procedure {path}",
        )
    return load_user_procedure(path, hosts, groups=get_spec(lab_name).groups, check=check)


def rehearse(
    lab_name: str,
    procedure: str,
    *,
    yes: bool,
    keep: bool,
    params: dict[str, str],
    override: str | None = None,
    report: str | None = None,
    check: bool = False,
) -> int:
    spec = get_spec(lab_name)
    spec.param_values(params)  # a bad parameter is refused before anything starts
    proc = resolve(lab_name, procedure, override, spec.hosts, check)
    if not yes and not sys.stdin.isatty():
        raise UsageError(
            "rehearse asks before each step, but there is no terminal to ask on",
            "run it in a terminal, or add --yes to run every step without asking",
        )
    console = Console()
    lab = Lab(spec, params=params, keep=keep, progress=console.say)
    folder = Path(report or f"reports/{time.strftime('%Y%m%d-%H%M%S')}").resolve()
    return Rehearsal(lab, procedure, judging_for(lab_name, procedure, proc), console, yes=yes, report=folder).run()


class Rehearsal:
    """One rehearsal on one lab (anything shaped like lab.lifecycle.Lab: up, down, keep, host, facts, logs)."""

    def __init__(self, lab: Any, name: str, judging: Judging, console: Console, *, yes: bool, report: Path) -> None:
        self.lab = lab
        self.name = name
        self.judging = judging
        self.console = console
        self.yes = yes
        self.report = report
        self.skipped: list[int] = []

    def run(self) -> int:
        say = self.console.say
        proc = self.judging.procedure
        run = ScenarioRun(
            f"{self.lab.spec.name}/rehearse_{self.name}",
            self.lab,
            description=f"rehearsal of {self.name}" + (f" ({proc.source})" if proc.source != "built-in" else ""),
            procedures={self.name: proc},
            progress=say,
        )
        run.waiting = self.console.waiting
        t0 = time.monotonic()
        code = None
        with interrupts_as_keyboard():
            try:
                try:
                    self.lab.up()
                except BaseException as exc:
                    run.error = f"the lab did not come up: {describe(exc)}"
                    raise
                self.walk(run)
            except Aborted as exc:
                run.failure = str(exc)
            except KeyboardInterrupt:
                run.error = run.error or "interrupted (Ctrl-C or SIGTERM)"
                code = 130
            except Exception as exc:
                run.error = run.error or describe(exc)
            finally:
                try:
                    run.close()
                finally:
                    run.duration_s = time.monotonic() - t0
                    if self.lab.keep:
                        say(
                            f"kept {self.lab.project}: `opslab shell {self.lab.project} HOST`, "
                            f"`opslab down {self.lab.project}`"
                        )
                    else:
                        self.lab.down()
        self.conclude(run)
        verdict = run.verdict()
        return code if code is not None else (0 if verdict == "pass" else 1)

    # -- the walk ----------------------------------------------------------------------------------
    def walk(self, run: ScenarioRun) -> None:
        say, j = self.console.say, self.judging
        for inv in j.watch:
            run.watch(inv())
        if j.watch:
            say(f"watching, all through: {', '.join(inv.__name__ for inv in j.watch)}")
        if j.procedure.source != "built-in":
            say(f"your runbook {j.procedure.source} stands in for {self.name}")
        if j.own_plan:
            say(f"judged as the scenario of {self.name} judges it: {j.plan.title}")
        else:
            say(f"{self.name} has no scenario of its own: judged with the lab's default plan ({j.plan.title})")
        say("preparing the lab: the state the procedure starts from")
        stage = j.plan.before(run)
        proc = j.procedure.render(run.facts)  # rendered once: shown and run exactly as shown
        project = self.lab.project
        say(f"\n{proc.runbook()}\n\nlab {project}; in another terminal: opslab shell {project} HOST\n")
        for n, step in enumerate(proc.steps, 1):
            self.walk_step(run, n, len(proc.steps), step)
        if self.skipped:
            run.note(f"steps skipped: {', '.join(map(str, self.skipped))}")
        say("\nthe procedure is done; letting the lab settle, then judging it")
        j.plan.after(run, stage)
        j.plan.judge(run, stage)

    def walk_step(self, run: ScenarioRun, n: int, total: int, step: Step) -> None:
        say = self.console.say
        say(f"step {n}/{total} [{step.host}] {step.title}".rstrip())
        say(f"  $ {step.command}")
        choice = "r" if self.yes else self.console.ask(CHOICES, "rmsa")
        while True:
            if choice == "a":
                self.abort(f"aborted at step {n} by the person rehearsing")
            if choice == "s":
                self.skipped.append(n)
                run.note(f"step {n} skipped: {step.command}")
                say(f"  skipped step {n}")
                return
            rec = self.by_hand(run, n, step) if choice == "m" else self.by_opslab(run, step)
            if rec:
                return
            if self.yes:
                self.abort(f"step {n} failed (--yes stops at the first failed step)")
            choice = self.console.ask(AFTER_FAILURE, "rmsa")

    def by_opslab(self, run: ScenarioRun, step: Step) -> bool:
        say = self.console.say
        try:
            rec = run.step(step)
        except StepFailed as exc:
            say(f"  {exc.message}")
            return False
        if rec.stdout.strip():
            say("  " + "\n  ".join(rec.stdout.strip().splitlines()[-15:]))
        return True  # judged by its own expectation; `verify` is for a step a person ran (steps keep their pace)

    def by_hand(self, run: ScenarioRun, n: int, step: Step) -> bool:
        say, project = self.console.say, self.lab.project
        if step.local:
            say("  run it on this machine, in another terminal:")
        else:
            say(f"  in another terminal:  opslab shell {project} {step.host}")
            say("  and there:")
        say(f"    {step.command}")
        if self.console.ask("  press Enter when you have run it (a to abort) ", "\na") == "a":
            self.abort(f"aborted at step {n} by the person rehearsing")
        check = step.verification
        if check is None:
            ok = self.console.ask("  opslab has no way to check this step; did it do what it should? [y/n] ", "yn")
            said = "it did" if ok == "y" else "it did NOT do"
            run.note(f"step {n} run by hand; the person says {said} what it should")
            return ok == "y"
        rec = run.verify(step)
        say(f"  verified with `{check}`: " + ("as expected" if rec.ok else f"NOT as expected ({rec.why})"))
        return rec.ok

    def abort(self, why: str) -> None:
        if not self.yes and not self.lab.keep:
            keep = self.console.ask(f"  keep the lab {self.lab.project} to look around in opslab shell? [n/y] ", "ny")
            if keep == "y":
                self.lab.keep_from_now()
        raise Aborted(why)

    # -- the end -----------------------------------------------------------------------------------
    def conclude(self, run: ScenarioRun) -> None:
        say = self.console.say
        j = self.judging
        data = run.to_dict(run.duration_s)
        try:
            write_report(self.report, [data], title=f"opslab rehearse {run.id}")
            where = f"report: {self.report}/report.html"
        except OSError as exc:
            where = f"no report written ({exc})"
        finally:
            discard_kept_copies([data])
        say(f"\nrehearsal of {self.name}" + ("" if j.own_plan else " (checks of the lab's default plan)"))
        if self.skipped:
            say(f"  steps skipped: {', '.join(map(str, self.skipped))}")
        for line in run.summary().splitlines()[1:]:
            say(line)
        say(where)
        say(f"verdict: {run.verdict()}")
