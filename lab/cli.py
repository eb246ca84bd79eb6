"""The command line: `opslab` (also `python -m lab`).

    opslab doctor [--fix]            check (and install) Docker engine, Compose v2, binfmt for ARM, /dev/net/tun
    opslab list                      labs, scenario ids and procedures
    opslab images [LAB...] [--force] build what the labs need (no registry needed)
    opslab up LAB [--param K=V]      bring one instance up and keep it; prints its project name
    opslab down [LAB|PROJECT]        remove instances (all of opslab's when none is named)
    opslab status                    running instances and their hosts
    opslab shell LAB|PROJECT HOST    a shell in a host
    opslab run TARGET... [--report DIR] [--keep] [--procedure [NAME=]PATH] [--param K=V] [--timeout S]
    opslab rehearse LAB PROCEDURE [--procedure [NAME=]PATH] [--yes] [--keep] [--report DIR]
    opslab explore TARGET --budget SECONDS [--faults A,B] [--seed N] [--out DIR] [--max-faults K] [--param K=V]
    opslab explore TARGET --sweep [--faults A,B] [--steps N,M] [--out DIR] [--param K=V]
    opslab run TARGET --replay FILE [--report DIR]

Errors a person can fix print a line or two ending with a `Hint:`, exit non-zero, and never show a traceback.
Bad input of every kind (a parameter's name, type or value, an engine not available, a report folder that
cannot be written, a procedure file or name, a host, a target, the arguments themselves) is refused before any
lab starts, by the checks in lab.inputs and lab.spec that the pytest plugin shares. `run` exits 0 only when
every scenario passed; `rehearse` only when its verdict is pass.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

from lab.errors import OpslabError, UsageError
from lab.spec import parse_params


def say(msg: str) -> None:
    print(msg, flush=True)


def cmd_doctor(args: argparse.Namespace) -> int:
    from lab import doctor

    findings = doctor.fix(say) if args.fix else doctor.diagnose()
    for f in findings:
        say(
            f"{'ok  ' if f.ok else 'MISSING'} {f.name}: {f.detail}"
            + (f"\n        Hint: {f.hint}" if f.hint and not f.ok else "")
        )
    needed = [f for f in findings if not f.ok and f.name in ("docker engine", "compose v2")]
    return 1 if needed else 0


def cmd_list(args: argparse.Namespace) -> int:
    from lab.catalog import procedures, scenario_ids
    from lab.faults import fault_library
    from lab.spec import get_spec, lab_names

    for lab in lab_names():
        spec = get_spec(lab)
        say(f"{lab}: {spec.title}")
        for sid in scenario_ids(lab):
            say(f"  {sid}")
        say(f"  procedures: {', '.join(procedures(lab))}")
        if spec.params:
            say("  parameters (--param NAME=VALUE):")
            for p in spec.params:
                say(f"    {p.describe()}")
        if library := fault_library(lab):
            say("  faults (opslab explore --faults NAME,...):")
            for kind in library.values():
                say(f"    {kind.describe()}")
        say(
            f"  deadline per scenario: {spec.scenario_timeout_s:g}s (--timeout); invariants sampled every "
            f"{spec.watch_interval_s:g}s"
        )
    return 0


def cmd_images(args: argparse.Namespace) -> int:
    from lab.images import build_lab
    from lab.spec import get_spec, lab_names

    t0 = time.monotonic()
    for lab in args.labs or lab_names():
        build_lab(get_spec(lab), say, force=args.force)
    say(f"images ready in {time.monotonic() - t0:.0f}s")
    return 0


def cmd_up(args: argparse.Namespace) -> int:
    from lab.lifecycle import Lab, interrupts_as_keyboard
    from lab.spec import get_spec

    lab = Lab(get_spec(args.lab), params=parse_params(args.param), keep=True, progress=say)
    with interrupts_as_keyboard():
        try:
            lab.up()
        except BaseException:
            lab.down()
            raise
    say(f"{lab.project} is up: `opslab shell {lab.project} HOST`, `opslab down {lab.project}`")
    say("hosts: " + ", ".join(lab.spec.hosts))
    return 0


def _projects(target: str | None) -> list[str]:
    from lab.lifecycle import instances
    from lab.spec import lab_names

    found = instances()
    if target is None:
        return sorted(found)
    if target in found:
        return [target]
    if target in lab_names():
        return sorted(p for p, info in found.items() if info["lab"] == target)
    raise UsageError(
        f"no lab or running instance named {target!r}",
        f"running: {', '.join(sorted(found)) or 'none'}; labs: {', '.join(lab_names())}",
    )


def cmd_down(args: argparse.Namespace) -> int:
    from lab.inputs import lab_of
    from lab.lifecycle import remove_project

    if args.target is not None:
        lab_of(args.target)  # a name that is neither a lab nor an instance is refused without asking Docker
    projects = _projects(args.target)
    for p in projects:
        say(f"removing {p}")
        remove_project(p)
    if not projects:
        say("nothing of opslab's is running")
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    from lab.lifecycle import instances, owner_alive

    found = instances()
    if not found:
        say("no lab is running")
    for project, info in sorted(found.items()):
        state = "kept" if info["keep"] else ("running" if owner_alive(info["owner"]) else "left behind")
        hosts = ", ".join(f"{h} ({s})" for h, s in sorted(info["containers"].items()))
        say(f"{project}  lab={info['lab']}  {state}  {hosts}")
    return 0


def cmd_shell(args: argparse.Namespace) -> int:
    from lab import dockerapi
    from lab.inputs import check_host, lab_of
    from lab.lifecycle import LABEL_PROJECT, instances

    check_host(lab_of(args.target), args.host)
    projects = _projects(args.target)
    if not projects:
        raise UsageError(f"no instance of {args.target} is running", f"start one with `opslab up {args.target}`")
    if len(projects) > 1:
        raise UsageError(f"{len(projects)} instances of {args.target} run", f"name one: {', '.join(projects)}")
    info = instances()[projects[0]]
    if args.host not in info["containers"]:
        raise UsageError(
            f"{projects[0]} has no host {args.host!r}", f"its hosts: {', '.join(sorted(info['containers']))}"
        )
    containers = dockerapi.client().containers.list(
        filters={"label": [f"{LABEL_PROJECT}={projects[0]}", f"com.docker.compose.service={args.host}"]}
    )
    if not containers:
        raise UsageError(f"host {args.host} of {projects[0]} is not running", "`opslab status` shows its state")
    name = containers[0].name
    argv = ["docker", "exec", "-it" if sys.stdin.isatty() else "-i", name, "bash"]
    if args.command:
        argv = ["docker", "exec", name, "sh", "-c", " ".join(args.command)]
    os.execvp("docker", argv)
    return 0  # not reached


def cmd_run(args: argparse.Namespace) -> int:
    import pytest

    from lab.catalog import resolve_targets, scenario_files
    from lab.inputs import check_run
    from lab.spec import ROOT

    if args.replay is not None:
        return _replay(args)
    targets = resolve_targets(args.targets)
    labs = sorted({t.split("/")[0] for t in targets})
    report = check_run(
        labs, parse_params(args.param), args.procedure, args.report or f"reports/{time.strftime('%Y%m%d-%H%M%S')}"
    )
    files = [str(f) for lab in labs for f in scenario_files(lab)]
    argv = [
        *files,
        "-p",
        "no:cacheprovider",
        "-q",
        "--rootdir",
        str(ROOT),
        "--opslab-select",
        ",".join(targets),
        "--opslab-report",
        str(report),
    ]
    if args.keep:
        argv.append("--opslab-keep")
    if args.timeout is not None:
        if args.timeout <= 0:
            raise UsageError(
                f"--timeout {args.timeout:g} is not a positive number of seconds", "for example --timeout 900"
            )
        argv += ["--opslab-timeout", str(args.timeout)]
    if args.procedure:
        argv += ["--opslab-procedure", args.procedure]
    for kv in args.param:
        argv += ["--opslab-param", kv]
    code = pytest.main(argv)
    results = report / "results.json"
    if results.exists():
        import json

        data = json.loads(results.read_text())
        for s in data["scenarios"]:
            say(f"{s['verdict'].upper():7s} {s['id']}  ({s['duration_s']:.1f}s)")
        say(f"verdict: {data.get('verdict')}; report: {report}/report.html")
    else:
        say(f"no scenario ran; pytest exit {int(code)}")
    return 0 if int(code) == 0 and results.exists() else 1


def _replay(args: argparse.Namespace) -> int:
    from lab.explore import run_replay

    if len(args.targets) != 1:
        raise UsageError("--replay runs one schedule against one target", "opslab run TARGET --replay FILE")
    for given, option in ((args.procedure, "--procedure"), (args.param, "--param"), (args.keep, "--keep")):
        if given:
            raise UsageError(
                f"--replay runs exactly the schedule: {option} cannot change it",
                "edit the schedule file (its params) instead",
            )
    return run_replay(
        args.targets[0],
        args.replay,
        report=Path(args.report or f"reports/{time.strftime('%Y%m%d-%H%M%S')}"),
        say=say,
        timeout=args.timeout,
    )


def cmd_explore(args: argparse.Namespace) -> int:
    from lab.explore import run_explore, run_sweep

    params = parse_params(args.param)
    out = Path(args.out or "reports/explore")
    if args.timeout is not None and args.timeout <= 0:
        raise UsageError(f"--timeout {args.timeout:g} is not a positive number of seconds", "for example --timeout 900")
    if args.sweep:
        if args.budget is not None or args.seed is not None:
            raise UsageError("--sweep runs every fault at every step once: it takes no --budget or --seed", "drop them")
        return run_sweep(
            args.target, faults=args.faults, out=out, params=params, say=say, steps=args.steps, timeout=args.timeout
        )
    if args.steps is not None:
        raise UsageError("--steps chooses the steps of a --sweep", "add --sweep, or drop --steps")
    if args.budget is None:
        raise UsageError("explore needs a --budget in seconds (or --sweep)", "for example --budget 300")
    return run_explore(
        args.target,
        budget_s=args.budget,
        faults=args.faults,
        seed=args.seed,
        out=out,
        params=params,
        max_faults=args.max_faults,
        say=say,
        timeout=args.timeout,
    )


def cmd_rehearse(args: argparse.Namespace) -> int:
    from lab.rehearse import rehearse

    return rehearse(
        args.lab,
        args.procedure,
        yes=args.yes,
        keep=args.keep,
        params=parse_params(args.param),
        override=args.user_procedure,
        report=args.report,
    )


class _Parser(argparse.ArgumentParser):
    """argparse's own refusals (a missing argument, an unknown command) end with a Hint too."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: {message}\nHint: `{self.prog} --help` says what it takes\n")


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="opslab", description="Infrastructure test-and-simulation labs.")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    d = sub.add_parser("doctor", help="check the machine (and --fix it)")
    d.add_argument("--fix", action="store_true", help="install and start what is missing (Debian/Ubuntu, root)")
    d.set_defaults(func=cmd_doctor)
    sub.add_parser("list", help="labs, scenario ids, procedures").set_defaults(func=cmd_list)
    i = sub.add_parser("images", help="build the labs' images")
    i.add_argument("labs", nargs="*")
    i.add_argument("--force", action="store_true", help="rebuild even when the inputs did not change")
    i.set_defaults(func=cmd_images)
    u = sub.add_parser("up", help="bring a lab up and keep it")
    u.add_argument("lab")
    u.add_argument("--param", action="append", default=[], metavar="KEY=VALUE")
    u.set_defaults(func=cmd_up)
    dn = sub.add_parser("down", help="remove lab instances")
    dn.add_argument("target", nargs="?")
    dn.set_defaults(func=cmd_down)
    sub.add_parser("status", help="running lab instances").set_defaults(func=cmd_status)
    s = sub.add_parser("shell", help="a shell in a host of a running lab")
    s.add_argument("target", help="a lab name (one instance running) or a project name")
    s.add_argument("host")
    s.add_argument("command", nargs=argparse.REMAINDER, help="run this instead of an interactive shell")
    s.set_defaults(func=cmd_shell)
    r = sub.add_parser("run", help="run scenarios: a lab (`arp`) or scenario ids (`arp/migrate_with_garp`)")
    r.add_argument("targets", nargs="+", metavar="TARGET")
    r.add_argument("--report", metavar="DIR", help="the report folder (default reports/<time>)")
    r.add_argument("--keep", action="store_true", help="keep the labs for `opslab shell`")
    r.add_argument("--procedure", metavar="[NAME=]PATH", help="your own script or .steps runbook instead")
    r.add_argument("--param", action="append", default=[], metavar="KEY=VALUE")
    r.add_argument(
        "--timeout", type=float, metavar="SECONDS", help="each scenario's deadline (default: its lab's; `opslab list`)"
    )
    r.add_argument("--replay", metavar="FILE", help="run exactly this schedule (from opslab explore) against TARGET")
    r.set_defaults(func=cmd_run)
    e = sub.add_parser("explore", help="search fault schedules that break a runbook (Hypothesis), or --sweep them")
    e.add_argument("target", metavar="TARGET", help="a runbook's scenario, e.g. arp/migrate_with_garp")
    e.add_argument("--budget", type=float, metavar="SECONDS", help="time for the search and the shrinking")
    e.add_argument("--faults", metavar="A,B", help="only these faults of the lab's library (`opslab list`)")
    e.add_argument("--seed", type=int, metavar="N", help="Hypothesis's seed (same seed, same search)")
    e.add_argument("--out", metavar="DIR", help="where schedules and report folders go (default reports/explore/)")
    e.add_argument("--max-faults", type=int, default=3, metavar="K", help="at most K faults per schedule (3)")
    e.add_argument("--sweep", action="store_true", help="every fault before every step, once: a step × fault table")
    e.add_argument("--steps", metavar="N,M", help="with --sweep: only before these steps (numbered from 1)")
    e.add_argument("--param", action="append", default=[], metavar="KEY=VALUE")
    e.add_argument("--timeout", type=float, metavar="SECONDS", help="each example's deadline (default: its lab's)")
    e.set_defaults(func=cmd_explore)
    h = sub.add_parser("rehearse", help="walk a procedure one step at a time")
    h.add_argument("lab")
    h.add_argument("procedure")
    h.add_argument("--yes", action="store_true", help="run every step without asking")
    h.add_argument("--keep", action="store_true", help="keep the lab afterwards")
    h.add_argument("--param", action="append", default=[], metavar="KEY=VALUE")
    h.add_argument(
        "--procedure",
        dest="user_procedure",
        metavar="[NAME=]PATH",
        help="walk your own script or .steps runbook in PROCEDURE's place, judged by the same checks",
    )
    h.add_argument("--report", metavar="DIR", help="the report folder (default reports/<time>)")
    h.set_defaults(func=cmd_rehearse)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args))
    except OpslabError as exc:
        print(f"opslab: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("opslab: interrupted; labs were taken down (unless --keep)", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `opslab list | head`: the reader left; say nothing more, as other tools do
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
