"""The pytest plugin (entry point `pytest11: opslab`): fixtures for scenarios and the report folder.

A scenario is a test function in a lab's scenario folder (`scenarios/<lab>/test_*.py` for opslab's own labs;
the folder a lab's definition names, see lab.registry) that takes the `scenario` fixture; its id is
`<lab>/<function name without test_>` and its docstring is its description. The fixture brings a fresh
instance of the lab up, gives the test a `ScenarioRun`, and afterwards stops workloads, heals faults, judges
invariants, keeps the logs and takes the lab down (unless `--opslab-keep`), whatever happened.

The test passes exactly when the scenario's verdict is `pass` (see lab.scenario). With `--opslab-report DIR`
the session writes the report folder (results.json, junit.xml, history.jsonl, logs/, report.html).

Parallel runs (pytest-xdist, `pytest -n N`, `opslab run -j N`): each worker's scenarios get their own lab
instances (own project, own subnets: lab.lifecycle). No worker writes the report. A worker hands each finished
scenario's result to the controller in its teardown report (`user_properties`, key `opslab_result`, a JSON
string) and, at its end, whatever it ran but could not report (an interrupt) in `workeroutput`. The controller
takes them out of the reports (so no other plugin sees them) and writes the one report folder, the scenarios in
the selection's order; a scenario whose worker died without a result is `error`. Progress lines of a worker
start with its id (`[gw1] arp/duplicate_ip: ...`).

Options: --opslab-report DIR, --opslab-keep, --opslab-select ID[,ID], --opslab-procedure [NAME=]PATH,
--opslab-check (Ansible's dry run of a playbook procedure), --opslab-param KEY=VALUE (repeatable),
--opslab-matrix KEY=V1,V2 (repeatable: every scenario runs once per combination, its id carrying it:
`mysql/rebuild_from_master[engine=mariadb-11.8]`), --opslab-shard K/N (after --opslab-select: a disjoint part,
lab.shard), --opslab-prefetch 0|1 (bring the next scenario's lab up while one runs: lab.pool; default 0, see
bench/RESULTS-parallel.md), --opslab-engines URL,URL (several Docker engines: each process is bound to one,
xdist worker gwK to engine K mod N, a serial run to the first; every engine must answer before any lab starts;
lab.dockerapi). Their values are checked before any lab starts, with the checks the command line uses (lab.inputs,
lab.spec): in `pytest_configure` (the parameters' form, the report folder, the engines) and when collection is
finished (each selected scenario's parameters, its `lab_params` marker merged with --opslab-param, and the
procedure for each lab); bad input ends the session as one `pytest.UsageError`.
"""

from __future__ import annotations

import io
import json
import os
import sys
import threading
import time
from collections.abc import Callable, Generator, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from lab.dockerapi import bind, check_reachable, engine, parse_engines
from lab.errors import UsageError, describe
from lab.images import build_lab
from lab.inputs import check_matrix, check_procedure, check_report_dir, no_playbook_to_check
from lab.lifecycle import Lab, interrupts_as_keyboard
from lab.pool import WarmPool
from lab.procedure import Procedure, load_user_procedure, split_override
from lab.registry import get_lab, lab_of_file
from lab.scenario import ScenarioRun, StepFailed
from lab.spec import LabSpec, get_spec, matrix_label, parse_matrix, parse_params
from lab.wait import deadline

RESULTS: pytest.StashKey[list[ScenarioRun]] = pytest.StashKey()
RUN: pytest.StashKey[ScenarioRun] = pytest.StashKey()
DISARM: pytest.StashKey[Callable[[], None]] = pytest.StashKey()
TERMINAL_FD: pytest.StashKey[int] = pytest.StashKey()
SENT: pytest.StashKey[set[int]] = pytest.StashKey()  # a worker's runs already handed to the controller
NODEIDS: pytest.StashKey[dict[int, str]] = pytest.StashKey()  # id(run) -> its test's node id
NEXT: pytest.StashKey[pytest.Item | None] = pytest.StashKey()  # the test this process runs after this one
POOL: pytest.StashKey[WarmPool] = pytest.StashKey()  # set when the next scenario's lab is prefetched
RESULT_PROPERTY = "opslab_result"  # the user_properties key a worker's result travels under
WORKER_RESULTS = "opslab_results"  # the workeroutput key of a worker's results that no report carried


def worker_id(config: pytest.Config) -> str | None:
    """The pytest-xdist worker this process is (`gw0`...), or None for the controller or a serial run."""
    workerinput = getattr(config, "workerinput", None)
    return str(workerinput.get("workerid")) if workerinput else None


def pytest_addoption(parser: pytest.Parser) -> None:
    g = parser.getgroup("opslab")
    g.addoption("--opslab-report", metavar="DIR", help="write the report folder here")
    g.addoption("--opslab-keep", action="store_true", help="keep each lab after its scenario (for opslab shell)")
    g.addoption("--opslab-select", metavar="IDS", help="run only these scenario ids or labs (comma separated)")
    g.addoption("--opslab-procedure", metavar="[NAME=]PATH", help="replace procedure NAME (or every one) by PATH")
    g.addoption("--opslab-check", action="store_true", help="Ansible's --check for a playbook --opslab-procedure")
    g.addoption("--opslab-param", metavar="KEY=VALUE", action="append", default=[], help="a lab parameter")
    g.addoption(
        "--opslab-matrix",
        metavar="KEY=V1,V2",
        action="append",
        default=[],
        help="run every scenario once per value of this lab parameter",
    )
    g.addoption(
        "--opslab-shard",
        metavar="K/N",
        help="run only the K-th of N disjoint parts of the selection, balanced by scenarios/durations.json (lab.shard)",
    )
    g.addoption(
        "--opslab-prefetch",
        metavar="0|1",
        help="1: bring the next scenario's lab up while one runs (a warm pool; default 0)",
    )
    g.addoption(
        "--opslab-engines",
        metavar="URL,URL",
        help="spread the scenarios over these Docker engines: worker gwK (or a serial run) uses engine K mod N",
    )
    g.addoption(
        "--opslab-timeout",
        metavar="SECONDS",
        type=float,
        help="each scenario's deadline (default: its lab's); past it the scenario is `error` and its lab removed",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.stash[RESULTS] = []
    config.stash[SENT] = set()
    config.stash[NODEIDS] = {}
    if worker_id(config) is None:
        config.pluginmanager.register(WorkerResults(), "opslab-worker-results")
    try:  # the terminal as it is now, before pytest captures the tests' output (see _progress); an xdist
        # worker's stdout is its channel to the controller (execnet points fd 1 at /dev/null), its stderr the terminal
        config.stash[TERMINAL_FD] = os.dup(2 if worker_id(config) else sys.stdout.fileno())
    except (OSError, ValueError, io.UnsupportedOperation):
        pass
    config.addinivalue_line("markers", "scenario: an opslab scenario (set by the plugin)")
    config.addinivalue_line("markers", "docker: needs a running Docker engine (integration)")
    config.addinivalue_line("markers", "lab_params(**params): lab parameters for this scenario (--opslab-param wins)")
    with _refused_as_usage_error():
        params = parse_params(config.getoption("--opslab-param"))
        check_matrix(params, parse_matrix(config.getoption("--opslab-matrix")))
        if config.getoption("--opslab-shard"):
            from lab.shard import load_durations, parse_shard

            parse_shard(config.getoption("--opslab-shard"), option="--opslab-shard")
            load_durations()
        report = config.getoption("--opslab-report")
        if report:
            check_report_dir(report, option="--opslab-report")
        if prefetch_of(config.getoption("--opslab-prefetch"), "--opslab-prefetch"):
            config.stash[POOL] = WarmPool()
        if config.getoption("--opslab-engines"):
            _bind_engine(config)


def prefetch_of(value: object, option: str) -> int:
    """The prefetch depth asked for (`--prefetch`, `--opslab-prefetch`): 0 or 1, none given 0. Anything else is
    refused: only the next scenario of a process is known ahead. Off by default: on a 2-core machine a second lab
    coming up beside each running one costs more than the start it saves (bench/RESULTS-parallel.md)."""
    if value is None:
        return 0
    text = str(value).strip()
    if text not in ("0", "1"):
        raise UsageError(
            f"{option} {text} is not 0 or 1",
            "only the next scenario's lab can come up ahead (pytest hands out one next test at a time): use 0 or 1",
        )
    return int(text)


def _bind_engine(config: pytest.Config) -> None:
    """--opslab-engines: checked (form, and every engine answers) by the controller or a serial run; each process
    then uses one engine for its SDK client and every command it starts (lab.dockerapi.bind): worker gwK engine
    K mod N, a serial run the first."""
    urls = parse_engines(config.getoption("--opslab-engines"), option="--opslab-engines")
    worker = worker_id(config)
    if worker is None:
        check_reachable(urls, option="--opslab-engines")
    index = int(worker[2:]) if worker and worker[2:].isdigit() else 0
    bind(urls[index % len(urls)])


@contextmanager
def _refused_as_usage_error() -> Iterator[None]:
    """Bad input refused by lab.inputs ends the session as pytest's own usage errors do: a few lines, no run."""
    try:
        yield
    except UsageError as exc:
        raise pytest.UsageError(f"opslab: {exc}") from None


def _check_inputs(config: pytest.Config, items: list[pytest.Item]) -> None:
    """What the selected scenarios will be given, checked before any of them brings a lab up: each scenario's
    parameters (its `lab_params` marker, then --opslab-param) and --opslab-procedure for each lab."""
    cli = parse_params(config.getoption("--opslab-param"))
    labs: set[str] = set()
    selected: list[str] = []
    for item in items:
        sid = scenario_id(item) if "scenario" in getattr(item, "fixturenames", ()) else None
        if sid is None:
            continue
        lab = sid.split("/")[0]
        labs.add(lab)
        selected.append(sid)
        marker = item.get_closest_marker("lab_params")
        get_spec(lab).param_values({**(marker.kwargs if marker else {}), **cli, **matrix_params(item)})
    procedure = config.getoption("--opslab-procedure")
    check = bool(config.getoption("--opslab-check"))
    if procedure:
        check_procedure(procedure, sorted(labs), selected, check=check)
    elif check:
        no_playbook_to_check("--opslab-check")


def scenario_id(item: pytest.Item) -> str | None:
    """`<lab>/<name>` for a test `test_<name>` in a lab's scenario folder, with its matrix combination when it has
    one (`<lab>/<name>[engine=mariadb-11.8]`); None for any other test."""
    lab = lab_of_file(Path(str(item.path))) if item.name.startswith("test_") else None
    if lab is None:
        return None
    combo = matrix_params(item)
    return f"{lab}/{item.name[len('test_') :].split('[')[0]}" + (f"[{matrix_label(combo)}]" if combo else "")


def matrix_params(item: pytest.Item) -> dict[str, str]:
    """The lab parameters of the item's matrix combination (--opslab-matrix); {} without a matrix."""
    callspec = getattr(item, "callspec", None)
    combo = callspec.params.get("scenario") if callspec is not None else None
    return dict(combo) if isinstance(combo, dict) else {}


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """--opslab-matrix: a scenario runs once per combination (the `scenario` fixture's parameter)."""
    combos = parse_matrix(metafunc.config.getoption("--opslab-matrix"))
    if combos and "scenario" in metafunc.fixturenames:
        metafunc.parametrize("scenario", combos, indirect=True, ids=[matrix_label(c) for c in combos])


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    wanted = config.getoption("--opslab-select")
    for item in items:
        if "scenario" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.scenario)
            item.add_marker(pytest.mark.docker)
    if wanted:
        targets = {t.strip() for t in wanted.split(",") if t.strip()}
        _keep_only(config, items, lambda sid: bool(sid) and bool({sid, sid.split("[")[0], sid.split("/")[0]} & targets))
    part = config.getoption("--opslab-shard")
    if part:  # after the selection, on every xdist worker alike: the split is deterministic (lab.shard)
        from lab.shard import load_durations, parse_shard, shard

        k, n = parse_shard(part, option="--opslab-shard")
        keys = [_shard_key(item) for item in items]
        # a test that is not a scenario (tests/) is quick: it must not count as a scenario of median length
        durations = {**{key: 0.1 for key in keys if "::" in key}, **load_durations()}
        mine = set(shard(keys, durations, k, n))
        _keep_only(config, items, lambda key: key in mine, key=_shard_key)


def _shard_key(item: pytest.Item) -> str:
    """A scenario by its id (what durations.json records), any other test by its node id."""
    return scenario_id(item) or item.nodeid


def _keep_only(config: pytest.Config, items: list[pytest.Item], wanted: Callable[[Any], bool], key: Any = None) -> None:
    keep: list[pytest.Item] = []
    drop: list[pytest.Item] = []
    for item in items:
        (keep if wanted((key or scenario_id)(item)) else drop).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
    items[:] = keep


@pytest.hookimpl(trylast=True)
def pytest_collection_finish(session: pytest.Session) -> None:
    with _refused_as_usage_error():
        _check_inputs(session.config, session.items)


def _progress(config: pytest.Config) -> Any:
    """Progress a person sees as it happens: written past pytest's output capture (as live logging is), so a
    lab coming up, each step and each violation show while the scenario runs, not after it. The invariant
    watcher speaks from its own thread, where capture cannot be lifted: it writes to a copy of the terminal's
    file descriptor taken before any test ran."""
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    capture = config.pluginmanager.get_plugin("capturemanager")
    terminal_fd = config.stash.get(TERMINAL_FD, None)
    worker = worker_id(config)
    lock = threading.Lock()

    def say(msg: str) -> None:
        if worker is not None and terminal_fd is not None:  # an xdist worker has no terminal reporter of its own
            lead = "\n" if msg.startswith("\n") else ""
            with lock:
                os.write(terminal_fd, f"{lead}[{worker}] {msg.lstrip(chr(10))}\n".encode(errors="replace"))
            return
        if reporter is None:
            return
        with lock:
            if threading.current_thread() is not threading.main_thread() and terminal_fd is not None:
                os.write(terminal_fd, (msg + "\n").encode(errors="replace"))
            elif capture is not None:
                with capture.global_and_fixture_disabled():
                    reporter.write_line(msg)
            else:
                reporter.write_line(msg)

    return say


def _override(config: pytest.Config, spec: LabSpec) -> tuple[str | None, Procedure | None]:
    value = config.getoption("--opslab-procedure")
    if not value:
        return None, None
    name, path = split_override(value)
    check = bool(config.getoption("--opslab-check"))
    return name, load_user_procedure(path, spec.hosts, groups=spec.groups, check=check)


def lab_params(item: pytest.Item) -> dict[str, str]:
    """The lab parameters a scenario runs with: its `lab_params` marker, then --opslab-param, then its matrix."""
    marker = item.get_closest_marker("lab_params")
    return {
        **(marker.kwargs if marker else {}),
        **parse_params(item.config.getoption("--opslab-param")),
        **matrix_params(item),
    }


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> None:
    item.stash[NEXT] = nextitem  # for the warm pool: whose lab to bring up while this scenario runs


def _prefetch_next(item: pytest.Item, say: Callable[[str], None]) -> None:
    """Start the next scenario's lab in the warm pool, if prefetching and the next test is a scenario."""
    pool = item.config.stash.get(POOL, None)
    nxt = item.stash.get(NEXT, None)
    if pool is None or nxt is None or "scenario" not in getattr(nxt, "fixturenames", ()):
        return
    sid = scenario_id(nxt)
    if sid is None:
        return
    keep = bool(item.config.getoption("--opslab-keep"))
    lab = Lab(get_spec(sid.split("/")[0]), params=lab_params(nxt), keep=keep, progress=lambda m: say(f"  (next) {m}"))
    pool.start(nxt.nodeid, lab, say)


@pytest.fixture
def scenario(request: pytest.FixtureRequest) -> Iterator[ScenarioRun]:
    sid = scenario_id(request.node)
    if sid is None:
        raise pytest.UsageError(f"{request.node.nodeid}: the scenario fixture is for the scenario files of a lab")
    config = request.config
    lab_name = sid.split("/")[0]
    spec = get_spec(lab_name)
    procedures = dict(get_lab(lab_name).procedures)
    only, override = _override(config, spec)
    say = _progress(config)
    pool = config.stash.get(POOL, None)
    warm = pool.take(request.node.nodeid, say) if pool is not None else None
    if warm is not None:
        warm.progress = say
    lab = warm or Lab(spec, params=lab_params(request.node), keep=config.getoption("--opslab-keep"), progress=say)
    doc = (request.function.__doc__ or "").strip()
    run = ScenarioRun(
        sid,
        lab,
        description=" ".join(doc.split()),
        procedures=procedures,
        override=override if only is None else None,
        progress=say,
    )
    if override is not None and only is not None:
        run.procedures[only] = override
    request.node.stash[RUN] = run
    config.stash[RESULTS].append(run)  # reported at the session's end, with whatever it became by then
    config.stash[NODEIDS][id(run)] = request.node.nodeid
    t0 = time.monotonic()
    where = f" (engine {engine().url})" if config.getoption("--opslab-engines") else ""
    say(f"\n{sid}: {lab.spec.title}{where}")
    timeout = config.getoption("--opslab-timeout") or spec.scenario_timeout_s
    with interrupts_as_keyboard():
        try:
            # before the deadline: a first build of an ARM image takes minutes
            build_lab(spec, say, env=lab.env)
            with deadline(timeout) as disarm:
                request.node.stash[DISARM] = disarm
                try:
                    if warm is None:
                        lab.up(build=False)
                except BaseException as exc:
                    run.error = f"the lab did not come up: {describe(exc)}"
                    raise
                _prefetch_next(request.node, say)
                yield run
        except BaseException as exc:
            if run.error is None:
                run.error = describe(exc)
            raise
        finally:
            try:
                run.close()
            finally:
                run.duration_s = time.monotonic() - t0
                if lab.keep:
                    say(f"{sid}: kept {lab.project}; `opslab shell {lab.project} HOST`, `opslab down {lab.project}`")
                else:
                    lab.down()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, None, None]:
    """The scenario's body: whatever it raises becomes its verdict. A step that failed, or an assertion, is `fail`;
    anything else (an OpslabError, a KeyError, a docker error, the deadline, Ctrl-C) is `error`, with the
    exception's type and message. The test passes exactly when the verdict is `pass`."""
    run = item.stash.get(RUN, None)
    if run is None:
        return (yield)
    try:
        yield
    except StepFailed as exc:
        run.failure = exc.message
    except AssertionError as exc:
        run.failure = f"assertion in the scenario: {exc}"
    except BaseException as exc:
        run.error = describe(exc)
        if isinstance(exc, KeyboardInterrupt):
            raise
    finally:
        item.stash.get(DISARM, lambda: None)()  # the cleanup below must not be cut short by the deadline
        run.close()
    if run.verdict() != "pass":
        raise AssertionError(run.summary())
    return None


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, Any, Any]:
    """A scenario whose setup or teardown broke (a fixture, the lab's start, its removal) is `error`, never a
    verdict that pytest's own outcome contradicts; the verdict is said once the scenario is over."""
    report = yield
    run = item.stash.get(RUN, None)
    if run is None:
        return report
    if report.failed and call.when != "call" and run.error is None and call.excinfo is not None:
        run.error = f"{call.when}: {describe(call.excinfo.value)}"
    if call.when == "teardown":
        _progress(item.config)(f"{run.id}: {run.verdict()}")
        if worker_id(item.config) is not None:
            report.user_properties.append((RESULT_PROPERTY, _result_json(run)))
            item.config.stash[SENT].add(id(run))
    return report


def _result_json(run: ScenarioRun) -> str:
    from lab.report import strict_json

    return json.dumps(strict_json(run.to_dict(run.duration_s)), allow_nan=False)


def _scenario_id_of_nodeid(nodeid: str) -> str | None:
    path, _, name = nodeid.partition("::")
    parts = Path(path).parts
    name = name.rsplit("::", 1)[-1]
    if len(parts) < 3 or parts[-3] != "scenarios" or not name.startswith("test_"):
        return None
    return f"{parts[-2]}/{name[len('test_') :].split('[')[0]}"


class WorkerResults:
    """The controller's side of a parallel run: the results the workers send, in the selection's order."""

    def __init__(self) -> None:
        self.order: list[str] = []  # node ids as the first worker collected them
        self.results: dict[str, dict[str, Any]] = {}  # node id -> the scenario's result
        self.started: dict[str, str] = {}  # node id -> the worker that reported it
        self.lock = threading.Lock()

    @pytest.hookimpl(optionalhook=True)
    def pytest_xdist_node_collection_finished(self, node: Any, ids: list[str]) -> None:
        if not self.order:
            self.order = list(ids)

    @pytest.hookimpl(tryfirst=True)  # before junitxml and the like could see the result's JSON
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        found = [p for p in report.user_properties if p[0] == RESULT_PROPERTY]
        if not found and not hasattr(report, "node"):  # not from a worker (a serial run)
            return
        report.user_properties[:] = [p for p in report.user_properties if p[0] != RESULT_PROPERTY]
        node = getattr(report, "node", None)
        with self.lock:
            if _scenario_id_of_nodeid(report.nodeid) is not None:
                self.started.setdefault(report.nodeid, getattr(getattr(node, "gateway", None), "id", "a worker"))
            for _, value in found:
                self.results[report.nodeid] = json.loads(str(value))

    @pytest.hookimpl(optionalhook=True)
    def pytest_testnodedown(self, node: Any, error: object) -> None:
        for nodeid, value in (getattr(node, "workeroutput", None) or {}).get(WORKER_RESULTS, []):
            with self.lock:
                self.results.setdefault(nodeid, json.loads(value))

    def ordered(self) -> list[dict[str, Any]]:
        """Every result, in the selection's order; a scenario that started on a worker that never sent its result
        back (the worker crashed or was killed) is an `error` saying so."""
        with self.lock:
            results = dict(self.results)
            for nodeid, worker in self.started.items():
                sid = _scenario_id_of_nodeid(nodeid)
                if nodeid not in results and sid is not None:
                    results[nodeid] = {
                        "id": sid,
                        "lab": sid.split("/")[0],
                        "verdict": "error",
                        "duration_s": 0.0,
                        "error": f"no result came back from worker {worker}: it crashed or was killed while running",
                    }
        rank = {nodeid: i for i, nodeid in enumerate(self.order)}
        return [results[n] for n in sorted(results, key=lambda n: (rank.get(n, len(rank)), n))]


@pytest.hookimpl(trylast=True)  # after pytest's own teardown of what an interrupt left set up
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    config = session.config
    pool = config.stash.get(POOL, None)
    if pool is not None:  # a lab brought up for a scenario that did not run (the last one failed with -x, Ctrl-C)
        pool.drain()
    runs = config.stash.get(RESULTS, [])
    if worker_id(config) is not None:  # the controller writes the report; it gets what no report carried here
        sent, nodeids = config.stash.get(SENT, set()), config.stash.get(NODEIDS, {})
        config.workeroutput[WORKER_RESULTS] = [  # type: ignore[attr-defined]
            (nodeids[id(run)], _result_json(run)) for run in runs if id(run) not in sent
        ]
        return
    results = [run.to_dict(run.duration_s) for run in runs]
    collector = config.pluginmanager.get_plugin("opslab-worker-results")
    if isinstance(collector, WorkerResults):
        results += collector.ordered()
    folder = session.config.getoption("--opslab-report")
    from lab.report import discard_kept_copies, write_report

    if not folder or not results:
        discard_kept_copies(results)
        return
    try:
        out = write_report(Path(folder), results)
    finally:
        discard_kept_copies(results)
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        verdicts = ", ".join(f"{r['id']}: {r['verdict']}" for r in results)
        reporter.write_line(f"\nopslab: {verdicts}")
        reporter.write_line(f"opslab: report in {out.resolve()}/ (report.html, results.json)")


def pytest_unconfigure(config: pytest.Config) -> None:
    fd = config.stash.get(TERMINAL_FD, None)
    if fd is not None:
        os.close(fd)
        del config.stash[TERMINAL_FD]
