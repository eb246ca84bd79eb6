"""Exploration: fault schedules run against a procedure on live labs, found by Hypothesis, shrunk, replayable, and the
deterministic crash-point sweep.

    opslab explore TARGET --budget SECONDS [--faults A,B] [--seed N] [--out DIR] [--max-faults K] [--param K=V]
    opslab explore TARGET --sweep [--faults A,B] [--steps N,M] [--out DIR]
    opslab run TARGET --replay FILE

TARGET is a scenario id whose procedure has a plan (`scenarios/<lab>/plans.py`: `PLANS`), e.g.
`arp/migrate_with_garp`, `drbd/replace_both_nodes`. Each example is one run on a fresh lab instance: the plan stages
the lab (workloads, captures), the lab's invariants (`WATCH`) are watched all through, the schedule's faults are
injected and healed at step boundaries (lab.schedule), and the lab is judged by the plan's robust checks alone
(`Expect(robust=True)`: what must hold whatever the faults did, once healed). A step that fails under a fault stops
the procedure, as it would stop an operator: the run is `fail` and says which step.

Hypothesis draws the schedules (`lab.schedule.schedules`) through `hypothesis.find`, with its example database in
`.opslab/hypothesis/`: a schedule that failed once is tried first the next time. With `--seed N` the search is
reproducible instead, and Hypothesis (its rule for a seeded test) neither reads nor writes the database. Its shrinker
makes a failing schedule the fewest, earliest, soonest-healed faults that still break the same thing (the same
check, invariant or step: a schedule that fails some other way does not count as smaller). The budget covers the
search and the shrinking; past it no new example starts (Hypothesis is stopped), and the smallest failing schedule
seen so far is kept. Exit status 1 when a
failing schedule was found, written to `DIR/<target>-<digest>.schedule.json` with that run's report folder beside
it (`DIR/<target>-<digest>/`); 0 with "no failing schedule in N examples" otherwise. A run that breaks (`error`:
a lab that did not come up, a heal not verified) is counted and named, never taken for a finding.

The sweep runs the plan once without a fault, then every fault (default arguments) before every step (or before the
steps of `--steps 1,6,11`, when a run is long), healed after that step: a step × fault → verdict table on the
terminal and at the top of `DIR/<target>-sweep/report.html`. Its exit status is 1 when any cell is not `pass`.

`Executor` is what runs one schedule: `LabExecutor` on a real lab; the unit tests give a fake one.
"""

from __future__ import annotations

import html
import json
import random
import shutil
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lab.errors import UsageError, describe
from lab.faults import FaultKind, pick_faults
from lab.plan import Plan
from lab.procedure import Procedure
from lab.registry import get_lab
from lab.schedule import Injection, Schedule, ScheduleDriver, schedules, where

Say = Callable[[str], None]
DATABASE = Path(".opslab") / "hypothesis"
LONG_STEP_S = 30.0  # a read-only step allowed this long (a wait: a resync) may be hit in its middle (`offset_s`)


@dataclass(frozen=True)
class Target:
    """What a schedule runs against: the lab's procedure, its plan, the invariants watched, the fault library."""

    id: str
    procedure: Procedure
    plan: Plan
    watch: Sequence[type]
    library: dict[str, FaultKind]

    @property
    def lab(self) -> str:
        return self.id.split("/")[0]

    @property
    def steps(self) -> list[str]:
        return [s.title or s.command for s in self.procedure.steps]

    @property
    def long_steps(self) -> list[int]:
        """Boundaries before a step that waits long enough to be hit in its middle (read-only, a long timeout)."""
        return [n for n, s in enumerate(self.procedure.steps) if s.readonly and s.timeout >= LONG_STEP_S]


def resolve_target(target: str, faults: str | None) -> Target:
    """The target scenario's procedure and plan, and the faults to use; refused with a hint when there is none."""
    from lab.catalog import procedures, resolve_targets

    resolve_targets([target])
    if "/" not in target:
        raise UsageError(
            f"explore needs one scenario, not the lab {target!r}",
            f"for example {target}/<procedure>; see `opslab list`",
        )
    lab, name = target.split("/", 1)
    plans = get_lab(lab).plans
    procs = procedures(lab)
    if name not in plans or name not in procs:
        runbooks = ", ".join(f"{lab}/{p}" for p in plans if p in procs)
        raise UsageError(
            f"{target} does not walk a procedure with a plan, so a schedule has no steps to fall between",
            f"explore a runbook's scenario: {runbooks}",
        )
    return Target(target, procs[name], plans[name], list(get_lab(lab).invariants), pick_faults(lab, faults))


@dataclass
class Outcome:
    """One schedule's run: its verdict, what broke (checks, invariants, a step, an error) and its report."""

    schedule: Schedule
    verdict: str
    broke: list[str] = field(default_factory=list)  # "Name: verdict (expected ...) — detail", "step failed: ..."
    signature: frozenset[str] = frozenset()  # the names of what broke, to compare failures while shrinking
    data: dict[str, Any] = field(default_factory=dict)  # the run as results.json has it
    duration_s: float = 0.0
    not_reached: list[str] = field(default_factory=list)

    @property
    def failing(self) -> bool:
        return self.verdict in ("fail", "unknown")


Executor = Callable[[Schedule], Outcome]


def outcome_of(run: Any, schedule: Schedule, driver: ScheduleDriver, duration_s: float) -> Outcome:
    """The outcome of a finished ScenarioRun that ran `schedule`."""
    broke, names = [], set()
    if run.error:
        broke.append(f"error: {run.error}")
        names.add("error")
    if run.failure:
        broke.append(run.failure)
        names.add("step:" + run.failure.split(":")[0])
    for c in run.checks:
        if not c.as_expected:
            broke.append(f"{c.result.name}: {c.result.verdict} (expected {c.expected}) — {c.result.detail}")
            names.add(c.result.name)
    return Outcome(
        schedule,
        run.verdict(),
        broke,
        frozenset(names),
        run.to_dict(duration_s),
        duration_s,
        [f"{i.fault} {where(i.at, driver.steps, i.offset_s)}" for i in driver.not_reached],
    )


def walk_schedule(run: Any, target: Target, driver: ScheduleDriver) -> None:
    """Walk the target's plan on `run` (its lab up) under the driver's schedule, judged by the robust checks and the
    invariants. A step that fails stops the procedure (the run's failure); the faults are healed before the lab is
    judged."""
    from lab.scenario import StepFailed

    run.at_boundary.append(driver)
    for inv in target.watch:
        run.watch(inv())
    stage = target.plan.before(run)
    try:
        run.procedure(target.procedure.name)
    except StepFailed as exc:
        run.failure = exc.message
        driver.finish(run)
    target.plan.after(run, stage)
    target.plan.judge(run, stage, robust_only=True)


class LabExecutor:
    """Runs each schedule on a fresh instance of the target's lab, taken down afterwards whatever happened; the
    run's report folder goes to `workdir/<digest>/`."""

    def __init__(self, target: Target, workdir: Path, say: Say, *, timeout: float | None = None) -> None:
        self.target = target
        self.workdir = workdir
        self.say = say
        self.timeout = timeout
        self.built = False

    def __call__(self, schedule: Schedule) -> Outcome:
        from lab.images import build_lab
        from lab.lifecycle import Lab, interrupts_as_keyboard
        from lab.report import write_report
        from lab.scenario import ScenarioRun
        from lab.spec import get_spec
        from lab.wait import deadline

        spec = get_spec(self.target.lab)
        if not self.built:
            build_lab(spec, self.say)
            self.built = True
        lab = Lab(spec, params=dict(schedule.params), progress=lambda msg: None)
        run = ScenarioRun(
            f"{self.target.id}@{schedule.digest()}",
            lab,
            description=f"{self.target.id} under: {schedule.describe(self.target.steps)}",
            procedures={self.target.procedure.name: self.target.procedure},
            progress=self._quiet,
        )
        driver = ScheduleDriver(schedule, self.target.library, self.target.steps)
        t0 = time.monotonic()
        with interrupts_as_keyboard():
            try:
                with deadline(self.timeout or spec.scenario_timeout_s):
                    try:
                        lab.up(build=False)
                    except BaseException as exc:
                        run.error = f"the lab did not come up: {describe(exc)}"
                        raise
                    walk_schedule(run, self.target, driver)
            except Exception as exc:
                run.error = run.error or describe(exc)
            except BaseException as exc:
                run.error = run.error or describe(exc)
                raise
            finally:
                try:
                    run.close()
                finally:
                    lab.down()
        out = outcome_of(run, schedule, driver, time.monotonic() - t0)
        write_report(self.workdir / schedule.digest(), [out.data], title=f"opslab: {run.id}")
        return out

    def _quiet(self, msg: str) -> None:
        """Only what a schedule does and what breaks: faults, heals, failed steps, violations, failed checks."""
        text = msg.strip()
        if text.startswith(("fault:", "healed:", "NOT healed", "invariant")) or "FAILED" in text:
            self.say(f"    {text}")


# -- the search ---------------------------------------------------------------------------------------------------


class OutOfTime(BaseException):
    """The budget is spent: raised through Hypothesis (which lets a BaseException through at once) to stop it."""


@dataclass
class Exploration:
    examples: int = 0
    tried: Counter[str] = field(default_factory=Counter)
    found: Outcome | None = None  # the smallest failing schedule
    first: Outcome | None = None  # the first failing schedule found
    shrink_steps: int = 0
    errors: list[Outcome] = field(default_factory=list)
    out_of_time: bool = False


def explore(
    target: str,
    strategy: Any,
    execute: Executor,
    *,
    budget_s: float,
    seed: int | None,
    say: Say,
    database: Path | None = DATABASE,
    max_examples: int = 10_000,
    steps: Sequence[str] = (),
) -> Exploration:
    """Search for a failing schedule with Hypothesis and shrink it; each example runs through `execute`."""
    from hypothesis import HealthCheck, Phase, Verbosity, find, settings
    from hypothesis.database import DirectoryBasedExampleDatabase
    from hypothesis.errors import FlakyFailure, NoSuchExample, Unsatisfiable

    state = Exploration()
    seen: dict[str, Outcome] = {}
    end = time.monotonic() + budget_s

    def condition(schedule: Schedule) -> bool:
        key = schedule.digest()
        if key in seen:  # Hypothesis asks again (its final replay): the run is not repeated
            return matches(seen[key])
        left = end - time.monotonic()
        if left <= 0:
            state.out_of_time = True
            raise OutOfTime
        state.examples += 1
        state.tried.update(i.fault for i in schedule.injections)
        tried = ", ".join(f"{n}×{c}" for n, c in sorted(state.tried.items())) or "none yet"
        phase = f"shrinking (step {state.shrink_steps + 1})" if state.first else "searching"
        say(f"example {state.examples} · {phase} · faults tried: {tried} · {left:.0f}s left")
        say(f"  schedule: {schedule.describe(steps)}")
        out = execute(schedule)
        seen[key] = out
        say(f"  → {out.verdict} ({out.duration_s:.1f}s)" + (f": {out.broke[0]}" if out.broke else ""))
        if out.verdict == "error":
            state.errors.append(out)
            return False
        hit = matches(out)
        if hit:
            if state.first is None:
                state.first = out
                say("  a failing schedule: shrinking it to the fewest and earliest faults that break the same thing")
            else:
                state.shrink_steps += 1
            if state.found is None or _smaller(out.schedule, state.found.schedule):
                state.found = out
        return hit

    def matches(out: Outcome) -> bool:
        if not out.failing:
            return False
        return state.first is None or bool(out.signature & state.first.signature)

    db = DirectoryBasedExampleDatabase(str(database)) if database is not None else None
    config = settings(
        database=db,
        max_examples=max_examples,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        phases=[Phase.reuse, Phase.generate, Phase.shrink],
        verbosity=Verbosity.quiet,
    )
    try:
        found = find(
            strategy,
            condition,
            settings=config,
            random=random.Random(seed) if seed is not None else None,
            database_key=f"opslab explore {target}".encode(),
        )
        state.found = seen.get(found.digest(), state.found)
    except (NoSuchExample, Unsatisfiable):
        pass
    except OutOfTime:  # the smallest failing schedule seen so far stands
        pass
    except FlakyFailure:  # the budget ran out in Hypothesis's final replay: keep the smallest seen
        pass
    return state


def _smaller(a: Schedule, b: Schedule) -> bool:
    """Fewer faults, then earlier, then sooner healed."""

    def key(s: Schedule) -> tuple[int, list[int], list[int]]:
        return len(s.injections), [i.at for i in s.injections], [i.heal_after for i in s.injections]

    return key(a) < key(b)


def run_explore(
    target_id: str,
    *,
    budget_s: float,
    faults: str | None,
    seed: int | None,
    out: Path,
    params: dict[str, str],
    max_faults: int,
    say: Say,
    timeout: float | None = None,
) -> int:
    from lab.inputs import check_report_dir
    from lab.spec import get_spec

    if budget_s <= 0:
        raise UsageError(f"--budget {budget_s:g} is not a positive number of seconds", "for example --budget 300")
    if max_faults < 1:
        raise UsageError(f"--max-faults {max_faults} is below 1", "for example --max-faults 3")
    target = resolve_target(target_id, faults)
    get_spec(target.lab).param_values(params)
    out = check_report_dir(str(out), option="--out")
    work = out / ".examples"
    strategy = schedules(
        target.id,
        target.library,
        len(target.steps) + 1,
        max_faults=max_faults,
        params=params,
        long_steps=target.long_steps,
    )
    say(
        f"exploring {target.id}: {len(target.steps)} steps, faults {', '.join(target.library)}; "
        f"budget {budget_s:g}s; seed {seed if seed is not None else 'random'}"
    )
    executor = LabExecutor(target, work, say, timeout=timeout)
    state = explore(target.id, strategy, executor, budget_s=budget_s, seed=seed, say=say, steps=target.steps)
    tried = ", ".join(f"{n}×{c}" for n, c in sorted(state.tried.items())) or "none"
    errors = f"; {len(state.errors)} broke (error), first: {state.errors[0].broke[0]}" if state.errors else ""
    if state.found is None:
        shutil.rmtree(work, ignore_errors=True)
        why = " (budget spent)" if state.out_of_time else ""
        say(f"no failing schedule in {state.examples} examples{why}; faults tried: {tried}{errors}")
        return 0
    found = state.found
    digest = found.schedule.digest()
    stem = out / f"{target.id}-{digest}"
    report = Path(f"{stem}")
    if report.exists():
        shutil.rmtree(report)
    shutil.move(str(work / digest), str(report))
    shutil.rmtree(work, ignore_errors=True)
    path = found.schedule.write(
        Path(f"{stem}.schedule.json"),
        target.steps,
        {"verdict": found.verdict, "broke": found.broke, "examples": state.examples, "seed": seed},
    )
    say(
        f"\nfailing schedule after {state.examples} examples ({state.shrink_steps} shrink steps); faults tried: {tried}"
    )
    if state.first is not None and state.first is not found:
        say(f"  first found: {state.first.schedule.describe(target.steps)}")
    say(f"  smallest:    {found.schedule.describe(target.steps)}")
    for line in found.broke:
        say(f"  broke: {line}")
    say(f"schedule: {path}\nreport:   {report}/report.html\nreplay:   opslab run {target.id} --replay {path}{errors}")
    return 1


def run_replay(target_id: str, path: str, *, report: Path, say: Say, timeout: float | None = None) -> int:
    """`opslab run TARGET --replay FILE`: exactly that schedule, one run, its report folder."""
    from lab.inputs import check_report_dir

    schedule = Schedule.load(path)
    if schedule.target != target_id:
        raise UsageError(
            f"the schedule {path} is for {schedule.target}, not {target_id}",
            f"opslab run {schedule.target} --replay {path}",
        )
    target = resolve_target(target_id, None)
    schedule.check(target.library, len(target.steps))
    from lab.spec import get_spec

    get_spec(target.lab).param_values(dict(schedule.params))
    report = check_report_dir(str(report), option="--report")
    say(f"replaying {path} on {target.id}: {schedule.describe(target.steps)}")
    work = report / ".replay"
    out = LabExecutor(target, work, say, timeout=timeout)(schedule)
    for name in (p.name for p in (work / schedule.digest()).iterdir()):
        dest = report / name
        if dest.is_dir():
            shutil.rmtree(dest)
        shutil.move(str(work / schedule.digest() / name), str(dest))
    shutil.rmtree(work, ignore_errors=True)
    for line in out.not_reached:
        say(f"  not reached: {line}")
    for line in out.broke:
        say(f"  broke: {line}")
    say(f"{out.verdict.upper():7s} {target.id} under {schedule.describe(target.steps)} ({out.duration_s:.1f}s)")
    say(f"verdict: {out.verdict}; report: {report}/report.html")
    return 0 if out.verdict == "pass" else 1


# -- the sweep ----------------------------------------------------------------------------------------------------


def sweep_schedules(
    target: Target, params: dict[str, str] | None = None, steps: Sequence[int] | None = None
) -> list[Schedule]:
    """No fault, then each fault (default arguments) before each step (or each of `steps`, numbered from 1), healed
    after that step."""
    out = [Schedule(target.id, (), dict(params or {}))]
    for at in [n - 1 for n in steps] if steps else range(len(target.steps)):
        for name, kind in target.library.items():
            out.append(Schedule(target.id, (Injection(at, name, kind.values(), 1),), dict(params or {})))
    return out


def sweep(
    target: Target,
    execute: Executor,
    say: Say,
    params: dict[str, str] | None = None,
    steps: Sequence[int] | None = None,
) -> list[Outcome]:
    plan = sweep_schedules(target, params, steps)
    outcomes = []
    t0 = time.monotonic()
    for n, schedule in enumerate(plan, 1):
        done = time.monotonic() - t0
        eta = f", about {done / (n - 1) * (len(plan) - n + 1):.0f}s left" if n > 1 else ""
        say(f"sweep {n}/{len(plan)}{eta}: {schedule.describe(target.steps)}")
        out = execute(schedule)
        say(f"  → {out.verdict} ({out.duration_s:.1f}s)" + (f": {out.broke[0]}" if out.broke else ""))
        outcomes.append(out)
    return outcomes


def _cell(out: Outcome | None) -> tuple[str, str]:
    if out is None:
        return "-", ""
    first = out.broke[0].split(" — ")[0] if out.broke else ""
    return out.verdict, first


def sweep_table(target: Target, outcomes: Sequence[Outcome]) -> list[list[str]]:
    """Rows: the baseline, then one per step; columns: the faults. A cell: verdict (what broke first)."""
    by = {(o.schedule.injections[0].at, o.schedule.injections[0].fault): o for o in outcomes if o.schedule.injections}
    base = next((o for o in outcomes if not o.schedule.injections), None)
    rows = [["step", *target.library]]
    v, why = _cell(base)
    rows.append(["no fault", *[f"{v}" + (f" ({why})" if why else "")] * len(target.library)])
    swept = sorted({o.schedule.injections[0].at for o in outcomes if o.schedule.injections})
    for at, title in enumerate(target.steps):
        if at not in swept:
            continue
        cells = []
        for name in target.library:
            v, why = _cell(by.get((at, name)))
            cells.append(v + (f" ({why})" if why else ""))
        rows.append([f"before step {at + 1}: {title}", *cells])
    return rows


def text_table(rows: list[list[str]], width: int = 48) -> str:
    cut = [[c if len(c) <= width else c[: width - 1] + "…" for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cut) for i in range(len(cut[0]))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in cut]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def html_table(target: Target, rows: list[list[str]]) -> str:
    colour = {"pass": "#188038", "fail": "#c5221f", "unknown": "#b06000", "error": "#7b1fa2"}
    head = "".join(f"<th>{html.escape(c)}</th>" for c in rows[0])
    body = []
    for r in rows[1:]:
        cells = "".join(
            f'<td style="color:{colour.get(c.split(" ")[0], "inherit")}">{html.escape(c)}</td>' for c in r[1:]
        )
        body.append(f"<tr><td>{html.escape(r[0])}</td>{cells}</tr>")
    return (
        f"<h3>Sweep: what happens if a fault strikes before step N ({html.escape(target.id)})</h3>"
        '<p class="muted">Each fault with its default arguments, injected before the step and healed after it; '
        "judged by the plan's robust checks and the lab's invariants. A cell: the verdict (what broke first).</p>"
        f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"
    )


def parse_steps(text: str | None, count: int) -> list[int] | None:
    """`--steps 1,6,11`: the steps (numbered from 1) to strike before; None for every step."""
    if text is None:
        return None
    try:
        steps = sorted({int(x) for x in text.split(",") if x.strip()})
    except ValueError:
        raise UsageError(f"--steps {text!r} is not a list of step numbers", "for example --steps 1,6,11") from None
    if not steps or steps[0] < 1 or steps[-1] > count:
        raise UsageError(f"--steps {text!r} names no step of the procedure", f"its steps are numbered 1 to {count}")
    return steps


def run_sweep(
    target_id: str,
    *,
    faults: str | None,
    out: Path,
    params: dict[str, str],
    say: Say,
    steps: str | None = None,
    timeout: float | None = None,
) -> int:
    from lab.inputs import check_report_dir
    from lab.report import write_report
    from lab.spec import get_spec

    target = resolve_target(target_id, faults)
    get_spec(target.lab).param_values(params)
    out = check_report_dir(str(out), option="--out")
    chosen = parse_steps(steps, len(target.steps))
    folder = out / f"{target.id}-sweep"
    n = len(chosen or target.steps)
    which = f"steps {','.join(map(str, chosen))} of {len(target.steps)}" if chosen else f"{n} steps"
    say(
        f"sweeping {target.id}: {which} × {len(target.library)} faults + the baseline = "
        f"{n * len(target.library) + 1} runs"
    )
    outcomes = sweep(target, LabExecutor(target, folder / ".examples", say, timeout=timeout), say, params, chosen)
    shutil.rmtree(folder / ".examples", ignore_errors=True)
    rows = sweep_table(target, outcomes)
    write_report(
        folder,
        [o.data for o in outcomes],
        title=f"opslab explore {target.id} --sweep",
        preface=html_table(target, rows),
    )
    (folder / "sweep.json").write_text(
        json.dumps(
            [{"schedule": o.schedule.to_dict(target.steps), "verdict": o.verdict, "broke": o.broke} for o in outcomes],
            indent=2,
        )
        + "\n"
    )
    say("\n" + text_table(rows))
    say(f"report: {folder}/report.html")
    return 0 if all(o.verdict == "pass" for o in outcomes) else 1
