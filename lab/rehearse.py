"""Rehearsal: walk a procedure one step at a time on a live lab, as on the night of the change.

First the lab's `PREPARE` steps (scenarios/<lab>/procedures.py) put it in the state procedures start from.
For each step: show it (host, command, what it expects); the person runs it here ([r]), runs it themselves
in `opslab shell` ([m], then says whether it did what it should), skips it ([s]) or quits ([q]). After every
step the lab's invariants (`REHEARSAL_INVARIANTS` in scenarios/<lab>/checks.py, if any) are probed and
shown. `--yes` runs every step without asking (for a quick look or a script).
"""

from __future__ import annotations

import importlib
import sys

from lab.catalog import procedures
from lab.checks import Verdict
from lab.errors import UsageError
from lab.lifecycle import Lab, interrupts_as_keyboard
from lab.scenario import ScenarioRun, StepFailed
from lab.spec import get_spec


def _ask(prompt: str, choices: str) -> str:
    while True:
        answer = input(prompt).strip().lower()[:1] or choices[0]
        if answer in choices:
            return answer
        print(f"  answer one of: {', '.join(choices)}")


def rehearse(lab_name: str, procedure: str, *, yes: bool, keep: bool, params: dict[str, str]) -> int:
    spec = get_spec(lab_name)
    procs = procedures(lab_name)
    if procedure not in procs:
        raise UsageError(f"lab {lab_name} has no procedure {procedure!r}", f"its procedures: {', '.join(procs)}")
    spec.param_values(params)
    if not yes and not sys.stdin.isatty():
        raise UsageError(
            "rehearse asks before each step, but there is no terminal to ask on",
            "run it in a terminal, or add --yes to run every step without asking",
        )
    checks = importlib.import_module(f"scenarios.{lab_name}.checks")
    invariants = [cls() for cls in getattr(checks, "REHEARSAL_INVARIANTS", [])]
    lab = Lab(spec, params=params, keep=keep, progress=print)
    with interrupts_as_keyboard(), lab:
        run = ScenarioRun(f"{lab_name}/rehearse_{procedure}", lab, procedures=procs, progress=print)
        facts = run.facts
        proc = procs[procedure].render(facts)
        prepare = getattr(importlib.import_module(f"scenarios.{lab_name}.procedures"), "PREPARE", ())
        if prepare:
            print(f"preparing the lab ({len(prepare)} step(s)): the state the procedures start from")
            for step in prepare:
                run.step(step)
        print(f"\n{proc.runbook()}\n\nlab {lab.project}; in another terminal: opslab shell {lab.project} HOST\n")
        failed = 0
        for n, step in enumerate(proc.steps, 1):
            print(f"step {n}/{len(proc.steps)} [{step.host}] {step.title}\n  $ {step.command}")
            choice = "r" if yes else _ask("  [r]un it / [m]anually in opslab shell / [s]kip / [q]uit? ", "rmsq")
            if choice == "q":
                break
            if choice == "s":
                continue
            if choice == "m":
                done = _ask("  did it do what it should? [y/n] ", "yn")
                run.note(f"step {n} run by hand: {'as expected' if done == 'y' else 'NOT as expected'}")
                failed += done == "n"
            else:
                try:
                    rec = run.step(step)
                    if rec.stdout.strip():
                        print("  " + rec.stdout.strip().replace("\n", "\n  "))
                except StepFailed as exc:
                    print(f"  {exc.message}")
                    failed += 1
                    if not yes and _ask("  go on anyway? [n/y] ", "ny") == "n":
                        break
            for inv in invariants:
                r = inv.evaluate(run)
                mark = "ok" if r.verdict == Verdict.PASS else str(r.verdict).upper()
                print(f"  invariant {r.name}: {mark} — {r.detail}")
        outcome = f"{failed} step(s) not as expected" if failed else "all steps as expected"
        print(f"\nrehearsal of {procedure}: {outcome}")
    return 1 if failed else 0
