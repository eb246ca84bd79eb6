"""The command line: `opslab` (also `python -m lab`).

    opslab doctor [--fix] [--engines URL,URL]   check (and install) the Docker engine opslab will use (which, and
                                     why: DOCKER_HOST, docker context), Compose v2, binfmt for ARM, /dev/net/tun
    opslab list                      labs (and the package each comes from), scenario ids and procedures
    opslab images [LAB...] [--force] build what the labs need (no registry needed)
    opslab up LAB [--param K=V]      bring one instance up and keep it; prints its project name
    opslab down [LAB|PROJECT|--all]  remove instances (none named: killed runs' leftovers and your kept ones)
    opslab status                    running instances and their hosts
    opslab shell LAB|PROJECT HOST    a shell in a host
    opslab run TARGET... [--report DIR] [--keep] [--procedure [NAME=]PATH [--check]] [--param K=V] [--timeout S]
               [--matrix K=V1,V2]  (every scenario once per value; report.html shows one column per value)
               [-j N]  (N scenarios at once, each in its own lab instance) [--shard K/N]  (a CI runner's part)
               [--prefetch 0|1]  (the next scenario's lab comes up while one runs; default 0)
               [--engines URL,URL]  (spread over several Docker engines; DOCKER_HOST / docker context: one)
    opslab report merge DIR... --out DIR   join the reports of shards into one
    opslab report durations DIR...   record scenario durations (scenarios/durations.json) for --shard
    opslab rehearse LAB PROCEDURE [--procedure [NAME=]PATH [--check]] [--yes] [--keep] [--report DIR]
    opslab new lab NAME [--dir DIR]  write DIR/NAME/ (default ./NAME/): a pip-installable package with a new lab
    opslab inventory LAB|PROJECT     a running instance as an Ansible inventory (YAML): hosts, groups, facts
    opslab diff REPORT_A REPORT_B [--format text|markdown|json]   what changed from run A to run B; exit 1 on a
                                     regression (a verdict or a check that passed in A and not in B)
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
from lab.spec import parse_matrix, parse_params


def say(msg: str) -> None:
    print(msg, flush=True)


def cmd_doctor(args: argparse.Namespace) -> int:
    from lab import doctor

    engines = None
    if args.engines is not None:
        from lab.dockerapi import parse_engines

        engines = parse_engines(args.engines)
    findings = doctor.fix(say) if args.fix else doctor.diagnose(engines)
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
    from lab.registry import get_lab
    from lab.spec import get_spec, lab_names

    for lab in lab_names():
        spec = get_spec(lab)
        say(f"{lab}: {spec.title}")
        say(f"  from {get_lab(lab).origin}")
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
    from lab.images import build_lab, image_variants
    from lab.spec import get_spec, lab_names

    t0 = time.monotonic()
    for lab in args.labs or lab_names():
        spec = get_spec(lab)
        for env in image_variants(spec):  # the defaults' images, and each engine's (mysql)
            build_lab(spec, say, force=args.force, env=env)
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
    """A named lab or instance: removed. No name: what killed runs left and this user's kept instances, never
    another run's or another user's (lifecycle.down_plan), and what is left is named. --all: everything."""
    from lab.inputs import lab_of
    from lab.lifecycle import down_plan, instances, remove_project

    if args.target is not None and args.all:
        raise UsageError("opslab down takes a name or --all, not both", "`opslab down --all` removes every instance")
    if args.target is not None:
        lab_of(args.target)  # a name that is neither a lab nor an instance is refused without asking Docker
    left: dict[str, str] = {}
    if args.target is None and not args.all:
        projects, left = down_plan(instances())
    else:
        projects = _projects(args.target)
    for p in projects:
        say(f"removing {p}")
        remove_project(p)
    if args.all:
        say(f"removed {len(projects)} instance(s): every opslab instance on this engine")
    elif not projects and not left:
        say("nothing of opslab's is running")
    if left:
        say(f"left {len(left)} instance(s) that are not yours to remove:")
        for p, why in left.items():
            say(f"  {p}: {why}")
        say("`opslab down PROJECT` removes one of them, `opslab down --all` every instance")
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

    from lab.catalog import resolve_targets, scenario_files, scenario_ids, split_target_params
    from lab.inputs import check_run

    if args.jobs < 1:
        raise UsageError(f"-j {args.jobs} is not a number of scenarios to run at once", "for example -j 2")
    from lab.plugin import prefetch_of

    prefetch = prefetch_of(args.prefetch, "--prefetch")
    if args.shard:
        from lab.shard import load_durations, parse_shard

        parse_shard(args.shard)
        load_durations()
    args.targets, args.param = split_target_params(args.targets, args.param)
    if args.replay is not None:
        return _replay(args)
    targets = resolve_targets(args.targets)
    labs = sorted({t.split("/")[0] for t in targets})
    selected = [s for t in targets for s in ([t] if "/" in t else scenario_ids(t))]
    report = check_run(
        labs,
        parse_params(args.param),
        args.procedure,
        args.report or f"reports/{time.strftime('%Y%m%d-%H%M%S')}",
        parse_matrix(args.matrix),
        selected,
        check=args.check,
    )
    files = [str(f) for lab in labs for f in scenario_files(lab)]
    if empty := [lab for lab in labs if not scenario_files(lab)]:
        raise UsageError(f"lab {empty[0]} has no scenario files", "its definition names the folder of its test_*.py")
    # pytest runs the lab's own files wherever they are installed (site-packages, a checkout, another package),
    # rooted there, whatever the current directory holds; only the report folder is relative to it
    rootdir = os.path.commonpath([str(scenario_files(lab)[0].parent.parent) for lab in labs])
    argv = [
        *files,
        "-p",
        "no:cacheprovider",
        "-q",
        # the labs' modules are imported (to list and check them) before pytest starts: it cannot rewrite their
        # asserts, and says so once per package; scenarios judge with checks, not bare asserts
        "-W",
        "ignore::pytest.PytestAssertRewriteWarning",
        "--rootdir",
        rootdir,
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
    if args.check:
        argv.append("--opslab-check")
    for kv in args.param:
        argv += ["--opslab-param", kv]
    for kv in args.matrix:
        argv += ["--opslab-matrix", kv]
    engines: list[str] = []
    if args.engines is not None:
        from lab.dockerapi import check_reachable, parse_engines

        engines = parse_engines(args.engines)
        for url, version in check_reachable(engines).items():
            say(f"engine {url}: Docker {version}")
        argv += ["--opslab-engines", ",".join(engines)]
    jobs = max(args.jobs, len(engines))  # at least one worker per engine
    if jobs > 1:
        from lab import dockerapi
        from lab.images import build_lab
        from lab.spec import get_spec

        places: list[str | None] = [*engines] if engines else [None]  # None: the engine in effect
        for place in places:
            with dockerapi.bound(place):
                if place is not None:
                    say(f"images on {place}:")
                for lab in labs:  # once, here, rather than by every worker at the same time
                    build_lab(get_spec(lab), say)
        # pytest-xdist: each worker runs one scenario at a time in its own lab instance; an idle worker takes
        # scenarios queued on a busy one (worksteal), so one long scenario does not hold up the rest
        argv += ["-n", str(jobs), "--dist", "worksteal"]
    if args.shard:
        argv += ["--opslab-shard", args.shard]
    argv += ["--opslab-prefetch", str(prefetch)]
    code = pytest.main(argv)
    results = report / "results.json"
    if args.shard and int(code) == int(pytest.ExitCode.NO_TESTS_COLLECTED):
        say(f"shard {args.shard} of this selection is empty (fewer scenarios than shards); no report written")
        return 0
    if results.exists():
        import json

        data = json.loads(results.read_text())
        for s in data["scenarios"]:
            say(f"{s['verdict'].upper():7s} {s['id']}  ({s['duration_s']:.1f}s)")
        say(f"verdict: {data.get('verdict')}; report: {report}/report.html")
    else:
        say(f"no scenario ran; pytest exit {int(code)}")
    return 0 if int(code) == 0 and results.exists() else 1


def cmd_report_merge(args: argparse.Namespace) -> int:
    import json

    from lab.inputs import check_report_dir
    from lab.merge import merge_reports

    out = check_report_dir(args.out, option="--out")
    merge_reports(args.folders, out)
    data = json.loads((out / "results.json").read_text())
    counts = ", ".join(f"{n} {v}" for v, n in data["summary"].items() if v != "total" and n)
    say(f"merged {len(args.folders)} reports: {data['summary']['total']} scenarios ({counts or 'none'})")
    say(f"verdict: {data.get('verdict')}; report: {out}/report.html")
    return 0 if data.get("verdict") == "pass" else 1


def cmd_report_durations(args: argparse.Namespace) -> int:
    from lab.shard import DURATIONS_FILE, record_durations

    durations = record_durations(args.folders)
    say(f"{DURATIONS_FILE}: {len(durations)} scenarios, {sum(durations.values()):.0f}s in all")
    return 0


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
        check=args.check,
    )


def cmd_new(args: argparse.Namespace) -> int:
    from pathlib import Path

    from lab.scaffold import new_lab

    where = Path(args.dir)
    if not where.is_dir():
        raise UsageError(f"--dir {where} is not a folder", "give a folder that exists, or leave --dir out (here)")
    files = new_lab(args.name, where)
    root = where / args.name
    say(f"wrote {root}/ ({len(files)} files): a lab with one host, one procedure, one check and two scenarios")
    shown = f"./{args.name}" if args.dir == "." else str(root)  # a bare name would be looked up on a registry
    say(f"next: `pip install {shown}`, then `opslab run {args.name}`; {shown}/README.md says how to grow it")
    return 0


def cmd_inventory(args: argparse.Namespace) -> int:
    from lab.ansible.inventory import inventory, to_yaml
    from lab.inputs import lab_of
    from lab.lifecycle import Lab
    from lab.spec import get_spec

    lab_name = lab_of(args.target)
    projects = _projects(args.target)
    if not projects:
        raise UsageError(f"no instance of {args.target} is running", f"start one with `opslab up {args.target}`")
    if len(projects) > 1:
        raise UsageError(f"{len(projects)} instances of {args.target} run", f"name one: {', '.join(projects)}")
    sys.stdout.write(to_yaml(inventory(Lab.attach(get_spec(lab_name), projects[0]))))
    return 0


def cmd_diff(args: argparse.Namespace) -> int:
    from lab.diff import diff_reports, render

    d = diff_reports(args.report_a, args.report_b)
    sys.stdout.write(render(d, args.format))
    return 1 if d.regressed else 0


def cmd_rejudge(args: argparse.Namespace) -> int:
    from lab.rejudge import rejudge, render

    r = rejudge(args.report)
    sys.stdout.write(render(r, args.format))
    return 1 if r.changed else 0


class _Parser(argparse.ArgumentParser):
    """argparse's own refusals (a missing argument, an unknown command) end with a Hint too."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: {message}\nHint: `{self.prog} --help` says what it takes\n")


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="opslab", description="Infrastructure test-and-simulation labs.")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    d = sub.add_parser("doctor", help="check the machine (and --fix it)")
    d.add_argument("--fix", action="store_true", help="install and start what is missing (Debian/Ubuntu, root)")
    d.add_argument("--engines", metavar="URL,URL", help="check these Docker engines (as `opslab run --engines`)")
    d.set_defaults(func=cmd_doctor)
    sub.add_parser("list", help="labs, scenario ids, procedures").set_defaults(func=cmd_list)
    i = sub.add_parser("images", help="build the labs' images (for every engine a lab offers)")
    i.add_argument("labs", nargs="*")
    i.add_argument("--force", action="store_true", help="rebuild even when the inputs did not change")
    i.set_defaults(func=cmd_images)
    u = sub.add_parser("up", help="bring a lab up and keep it")
    u.add_argument("lab")
    u.add_argument("--param", action="append", default=[], metavar="KEY=VALUE")
    u.set_defaults(func=cmd_up)
    dn = sub.add_parser("down", help="remove lab instances")
    dn.add_argument("target", nargs="?", help="a lab (all its instances) or a project; none: your own leftovers")
    dn.add_argument("--all", action="store_true", help="every opslab instance on the engine, other users' too")
    dn.set_defaults(func=cmd_down)
    sub.add_parser("status", help="running lab instances").set_defaults(func=cmd_status)
    s = sub.add_parser("shell", help="a shell in a host of a running lab")
    s.add_argument("target", help="a lab name (one instance running) or a project name")
    s.add_argument("host")
    s.add_argument("command", nargs=argparse.REMAINDER, help="run this instead of an interactive shell")
    s.set_defaults(func=cmd_shell)
    r = sub.add_parser("run", help="run scenarios: a lab (`arp`) or scenario ids (`arp/migrate_with_garp`)")
    r.add_argument(
        "targets",
        nargs="+",
        metavar="TARGET",
        help="a lab, or a scenario id (lab/scenario); an id from a report may carry its parameters: lab/x[K=V,...]",
    )
    r.add_argument("--report", metavar="DIR", help="the report folder (default reports/<time>)")
    r.add_argument("--keep", action="store_true", help="keep the labs for `opslab shell`")
    r.add_argument("--procedure", metavar="[NAME=]PATH", help="your own script, .steps runbook or playbook instead")
    r.add_argument("--check", action="store_true", help="Ansible's dry run (--check) of a playbook --procedure")
    r.add_argument("--param", action="append", default=[], metavar="KEY=VALUE")
    r.add_argument(
        "--matrix",
        action="append",
        default=[],
        metavar="KEY=V1,V2",
        help="run every scenario once per value (e.g. engine=mariadb-10.11,mariadb-11.8)",
    )
    r.add_argument(
        "--timeout", type=float, metavar="SECONDS", help="each scenario's deadline (default: its lab's; `opslab list`)"
    )
    r.add_argument(
        "-j",
        "--jobs",
        type=int,
        default=1,
        metavar="N",
        help="run N scenarios at once, each in its own lab instance (pytest-xdist); one report in selection order",
    )
    r.add_argument(
        "--prefetch",
        metavar="0|1",
        help="1: bring the next scenario's lab up while one runs (a warm pool; default 0: on 2 cores it costs more"
        " than it saves, bench/RESULTS-parallel.md)",
    )
    r.add_argument(
        "--engines",
        metavar="URL,URL",
        help="spread the scenarios over these Docker engines (unix://, tcp://, ssh://): worker K uses engine K mod N;"
        " -j is at least their number",
    )
    r.add_argument(
        "--shard",
        metavar="K/N",
        help="run only the K-th of N disjoint parts of the selection (CI matrices), balanced by recorded durations",
    )
    r.add_argument("--replay", metavar="FILE", help="run exactly this schedule (from opslab explore) against TARGET")
    r.set_defaults(func=cmd_run)
    rp = sub.add_parser("report", help="join shard reports; record scenario durations for sharding")
    rsub = rp.add_subparsers(dest="report_command", metavar="ACTION", required=True)
    rm = rsub.add_parser("merge", help="join the report folders of disjoint shards into one")
    rm.add_argument("folders", nargs="+", type=Path, metavar="DIR")
    rm.add_argument("--out", required=True, metavar="DIR", help="the merged report folder")
    rm.set_defaults(func=cmd_report_merge)
    rd = rsub.add_parser("durations", help="record each scenario's duration from report folders (for --shard)")
    rd.add_argument("folders", nargs="+", type=Path, metavar="DIR")
    rd.set_defaults(func=cmd_report_durations)
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
        help="walk your own script, .steps runbook or playbook in PROCEDURE's place, judged by the same checks",
    )
    h.add_argument("--check", action="store_true", help="Ansible's dry run (--check) of a playbook --procedure")
    h.add_argument("--report", metavar="DIR", help="the report folder (default reports/<time>)")
    h.set_defaults(func=cmd_rehearse)
    n = sub.add_parser("new", help="write a new lab: `opslab new lab NAME` (a pip-installable package)")
    n.add_argument("kind", choices=["lab"], help="what to write (a lab)")
    n.add_argument("name", help="the lab's name, also its Python package's (e.g. keepalived)")
    n.add_argument("--dir", default=".", help="where to write NAME/ (default: here)")
    n.set_defaults(func=cmd_new)
    inv = sub.add_parser("inventory", help="a running lab as an Ansible inventory (YAML)")
    inv.add_argument("target", help="a lab name (one instance running) or a project name")
    inv.set_defaults(func=cmd_inventory)
    df = sub.add_parser("diff", help="compare two report folders; exit 1 when B regressed against A")
    df.add_argument("report_a", metavar="REPORT_A")
    df.add_argument("report_b", metavar="REPORT_B")
    df.add_argument("--format", choices=("text", "markdown", "json"), default="text")
    df.set_defaults(func=cmd_diff)
    rj = sub.add_parser(
        "rejudge", help="judge a past run again with today's checks, from its report; exit 1 when a verdict changed"
    )
    rj.add_argument("report", metavar="REPORT_DIR")
    rj.add_argument("--format", choices=("text", "json"), default="text")
    rj.set_defaults(func=cmd_rejudge)
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
