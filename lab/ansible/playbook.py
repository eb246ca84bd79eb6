"""Ansible playbooks as procedures: `--procedure [NAME=]PLAYBOOK.yml`, every task on every host a step of the run.

Contract:
- `load_playbook(path, hosts, groups, check=False)` reads the playbook (and the playbooks it imports) without
  running anything and refuses, with a `Hint:`, a file that is not a playbook (a list of plays), a play or a
  task's `delegate_to` naming a host or group the lab does not have (patterns: `a:b`, `a,b`, `!a`, `&a`,
  wildcards; `all`, `*` and `localhost` always fit; a Jinja pattern is left to Ansible), and a machine without
  `ansible-playbook` (`pip install 'opslab[ansible]'`). It returns a `Procedure` of one step (host `local`, the
  command a person would type) that expands, when run, into one step per task and host;
- `run_playbook(run, step, stop)` (that expansion): writes the lab's inventory (lab.ansible.inventory), runs
  `ansible-playbook -i INVENTORY PLAYBOOK [--check]` in its own session with opslab's callback plugin
  (lab/ansible/callback_plugins/opslab.py), and records each task's result as it comes, before the next task
  starts (`ScenarioRun.record_step`: host, task name as title, the command line of a `command`/`shell`/`raw` task
  or else the module and its arguments as command, the module in `how`, status as `outcome`, rc, stdout, stderr or
  msg, start and end; the watched invariants are sampled after each, as after any step). A failed task (not
  `ignore_errors`) or an unreachable host fails its step; Ansible is run with ANSIBLE_ANY_ERRORS_FATAL so it stops
  there, and a result of a later task is not waited for (the playbook is killed). Then `StepFailed` (when `stop`)
  names the task. A playbook that ends non-zero without a failed task (a syntax error, an undefined variable before any
  task) fails as a step of its own with Ansible's output. The whole playbook runs within the step's timeout.
A task's `rc` is the module's own exit status when it returns one (`command`, `shell`); otherwise 0 for ok,
changed and skipped, 1 for failed and unreachable (the outcome says which).
"""

from __future__ import annotations

import fnmatch
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from lab.errors import UsageError
from lab.procedure import Procedure, Step

if TYPE_CHECKING:
    from lab.scenario import ScenarioRun, StepRecord

CALLBACKS = Path(__file__).resolve().parent / "callback_plugins"
TIMEOUT_S = 1800.0
IMPLICIT = ("all", "*", "localhost", "127.0.0.1")
INSTALL_HINT = "install Ansible: pip install 'opslab[ansible]' (make does), or give a script or a .steps runbook"


def ansible_playbook() -> str | None:
    """The `ansible-playbook` of this Python's environment (the venv), else one on PATH."""
    beside = Path(sys.executable).parent / "ansible-playbook"
    return str(beside) if beside.exists() else shutil.which("ansible-playbook")


def _plays(path: Path, seen: set[Path]) -> Iterator[tuple[Path, dict[str, Any]]]:
    """Every play of a playbook, following `import_playbook` (each file read once)."""
    path = path.resolve()
    if path in seen:
        return
    seen.add(path)
    try:
        doc = yaml.safe_load(path.read_text())
    except (OSError, UnicodeDecodeError) as exc:
        why = exc.strerror if isinstance(exc, OSError) else "it is not UTF-8 text"
        raise UsageError(
            f"cannot read the playbook {path}: {why}", f"make it a readable file (chmod +r {path})"
        ) from None
    except yaml.YAMLError as exc:
        where = getattr(exc, "problem_mark", None)
        at = f":{where.line + 1}" if where is not None else ""
        raise UsageError(
            f"{path}{at} is not valid YAML", "fix the playbook's YAML (ansible-playbook --syntax-check)"
        ) from None
    if not isinstance(doc, list) or not doc or not all(isinstance(p, dict) for p in doc):
        raise UsageError(f"{path} is not an Ansible playbook", "a playbook is a YAML list of plays, each with `hosts:`")
    for play in doc:
        imported = play.get("import_playbook") or play.get("ansible.builtin.import_playbook")
        if imported:
            if "{{" not in str(imported):
                yield from _plays(path.parent / str(imported), seen)
            continue
        if "hosts" not in play:
            raise UsageError(f"{path}: a play has no `hosts:`", "say which hosts each play runs on (`hosts: new`)")
        yield path, play


def _tasks(block: Any) -> Iterator[dict[str, Any]]:
    """Every task of a play's task lists, blocks included."""
    if not isinstance(block, list):
        return
    for task in block:
        if not isinstance(task, dict):
            continue
        yield task
        for key in ("block", "rescue", "always"):
            yield from _tasks(task.get(key))


def unknown_in_pattern(pattern: Any, names: set[str]) -> list[str]:
    """The terms of a host pattern that match no host or group of `names` (`old:new`, `slaves,!slave2`, `web*`)."""
    if isinstance(pattern, list):
        terms = [str(t) for t in pattern]
    else:
        text = str(pattern)
        if "{{" in text or "{%" in text:
            return []  # known only when Ansible renders it
        terms = re.split(r"[:,]", text) if not text.startswith("~") else [text]
    bad = []
    for raw in terms:
        term = raw.strip().lstrip("!&")
        if not term or term in IMPLICIT:
            continue
        if term.startswith("~"):
            if not any(re.search(term[1:], n) for n in names):
                bad.append(raw.strip())
        elif not fnmatch.filter(names, term):
            bad.append(raw.strip())
    return bad


def load_playbook(
    path: Path, hosts: list[str], groups: Mapping[str, tuple[str, ...]], *, check: bool = False
) -> Procedure:
    """A playbook as a procedure, checked against the lab's hosts and groups (see the module's docstring)."""
    names = set(hosts) | set(groups)
    known = f"its hosts: {', '.join(hosts)}" + (f"; its groups: {', '.join(groups)}" if groups else "")
    for where, play in _plays(path, set()):
        bad = unknown_in_pattern(play["hosts"], names)
        if bad:
            raise UsageError(
                f"{where}: play {play.get('name') or play['hosts']!r} runs on {', '.join(bad)}, "
                f"which the lab does not have",
                known,
            )
        for task in [t for key in ("pre_tasks", "tasks", "post_tasks", "handlers") for t in _tasks(play.get(key))]:
            target = task.get("delegate_to")
            if target is not None and unknown_in_pattern(str(target), names | {"localhost"}):
                raise UsageError(
                    f"{where}: task {task.get('name') or '?'!r} is delegated to {target}, which the lab does not have",
                    known,
                )
    if ansible_playbook() is None:
        raise UsageError(f"{path} is an Ansible playbook, and ansible-playbook is not installed here", INSTALL_HINT)
    shown = str(path.resolve()).replace("{", "{{").replace("}", "}}")  # a template: {project} is the lab's
    command = f"ansible-playbook -i <(opslab inventory {{project}}) {shown}" + (" --check" if check else "")
    title = f"Ansible playbook {path.name}" + (" (--check: a dry run)" if check else "")

    def expand(run: ScenarioRun, step: Step, stop: bool) -> StepRecord:
        return run_playbook(run, step, stop, path.resolve(), check=check)

    step = Step("local", command, title=title, local=True, timeout=TIMEOUT_S, expand=expand)
    return Procedure(path.stem, title, (step,), source=str(path))


class _Output:
    """ansible-playbook's own output, read on a thread so its pipe never fills; kept for the record."""

    def __init__(self, stream: Any) -> None:
        self.lines: list[str] = []
        self._thread = threading.Thread(target=self._read, args=(stream,), daemon=True, name="opslab-ansible-out")
        self._thread.start()

    def _read(self, stream: Any) -> None:
        for line in stream:
            self.lines.append(line)

    def text(self) -> str:
        self._thread.join(5)
        return "".join(self.lines)


def _kill(p: subprocess.Popen[str]) -> None:
    try:
        os.killpg(p.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    p.wait()


SHELL_MODULES = {
    f"{prefix}{m}" for prefix in ("", "ansible.builtin.", "ansible.legacy.") for m in ("command", "shell", "raw")
}


def _task_step(event: Mapping[str, Any], playbook: Path) -> Step:
    """A task's result as the step it was: the task's name as its title; as its command, the command line itself for
    `command`, `shell` and `raw` (what an engineer types, so judges that read commands read it), else the module and
    its arguments."""
    args = event.get("args") or {}
    action = str(event.get("action"))
    raw = args.get("_raw_params", args.get("cmd")) if isinstance(args, dict) else None
    if raw is not None and action in SHELL_MODULES:
        command = str(raw)
    else:
        command = f"{action}: {json.dumps(args, sort_keys=True, default=str)}"
    title = ("handler: " if event.get("handler") else "") + str(event.get("task") or action)
    return Step(str(event["host"]), command, title=title, rendered=True)


def record_result(run: ScenarioRun, event: Mapping[str, Any], playbook: Path) -> StepRecord:
    """Record one task result (the callback's `result` event) as a step of the run."""
    status = str(event["status"])
    failed = status in ("failed", "unreachable") and not event.get("ignored")
    rc = event.get("rc")
    if not isinstance(rc, int):
        rc = 1 if status in ("failed", "unreachable") else 0
    msg = str(event.get("msg") or "")
    why = ""
    if failed:
        why = f"task {status}" + (f": {msg.strip().splitlines()[-1]}" if msg.strip() else "")
    outcome = status + (" (ignored)" if event.get("ignored") else "")
    stderr = str(event.get("stderr") or "")
    if msg and msg not in stderr:
        stderr = f"{stderr}\n{msg}".strip()
    how = f"ansible {event.get('action')}" + (" --check" if event.get("check_mode") else "")
    return run.record_step(
        _task_step(event, playbook),
        rc=rc,
        ok=not failed,
        started=float(event.get("started") or time.time()),
        ended=float(event.get("ended") or time.time()),
        stdout=str(event.get("stdout") or ""),
        stderr=stderr,
        why=why,
        how=f"{how}: {outcome}",
        outcome=outcome,
    )


def run_playbook(run: ScenarioRun, step: Step, stop: bool, playbook: Path, *, check: bool = False) -> StepRecord:
    """Run the playbook against the run's lab, each task on each host recorded as a step (module docstring)."""
    from lab.ansible.inventory import inventory, to_yaml
    from lab.scenario import StepFailed

    program = ansible_playbook()
    if program is None:
        raise UsageError("ansible-playbook is not installed here", INSTALL_HINT)
    run.progress(f"  [local] $ {step.command}")
    with tempfile.TemporaryDirectory(prefix="opslab-ansible-") as tmp:
        inv = Path(tmp) / "inventory.yml"
        inv.write_text(to_yaml(inventory(run.lab, run.facts)))
        events = Path(tmp) / "events.sock"
        server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        server.bind(str(events))
        server.listen(1)
        env = {
            **os.environ,
            "OPSLAB_ANSIBLE_EVENTS": str(events),
            "ANSIBLE_CALLBACK_PLUGINS": str(CALLBACKS),
            "ANSIBLE_CALLBACKS_ENABLED": "opslab",
            "ANSIBLE_ANY_ERRORS_FATAL": "True",
            "ANSIBLE_RETRY_FILES_ENABLED": "False",
            "ANSIBLE_NOCOLOR": "1",
            "ANSIBLE_PIPELINING": "True",  # one docker exec per task: tasks as quick as typed steps
            "ANSIBLE_LOCAL_TEMP": str(Path(tmp) / "local"),
            "ANSIBLE_HOME": str(Path(tmp) / "home"),
        }
        argv = [program, "-i", str(inv), str(playbook), *(["--check"] if check else [])]
        t0 = time.time()
        p = subprocess.Popen(
            argv,
            env=env,
            text=True,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        output = _Output(p.stdout)
        records: list[StepRecord] = []
        failed: StepRecord | None = None
        failed_task = ""
        killed = ""
        try:
            conn = _accept(server, p, t0 + step.timeout)
            if conn is not None:
                with conn, conn.makefile("r", encoding="utf-8") as lines:
                    for line in _lines(conn, lines, p, t0 + step.timeout):
                        event = json.loads(line)
                        if event.get("event") != "result":
                            continue
                        if failed is not None and event.get("task") != failed_task:
                            killed = f"stopped after the failed task {failed_task!r}"
                            _kill(p)
                            break
                        rec = record_result(run, event, playbook)
                        records.append(rec)
                        if not rec.ok and failed is None:
                            failed, failed_task = rec, str(event.get("task"))
                        conn.sendall(b"ok\n")
            remaining = max(0.0, t0 + step.timeout - time.time())
            try:
                rc = p.wait(timeout=remaining)
            except subprocess.TimeoutExpired:
                _kill(p)
                killed = killed or f"timed out after {step.timeout:g} s (killed)"
                rc = p.returncode
        except BaseException:  # Ctrl-C or the scenario's deadline: the playbook does not outlive the run
            _kill(p)
            raise
        finally:
            server.close()
        text = output.text()
    recap = text[text.rfind("PLAY RECAP") :].strip() if "PLAY RECAP" in text else ""
    run.note(
        f"ansible-playbook {playbook.name}: exit {rc}, {len(records)} task results"
        + (f"; {killed}" if killed else "")
        + (f"\n{recap}" if recap else "")
    )
    if failed is None and (rc != 0 or killed):
        why = killed or f"ansible-playbook exited {rc} before any task failed"
        failed = run.record_step(
            Step("local", f"ansible-playbook {playbook}", title=f"Ansible playbook {playbook.name}", rendered=True),
            rc=rc if isinstance(rc, int) else 1,
            ok=False,
            started=t0,
            ended=time.time(),
            stdout=text,
            why=why,
            how="ansible",
            outcome="failed",
        )
        failed_task = f"ansible-playbook {playbook.name}"
    if failed is not None and stop:
        tail = (failed.stderr or failed.stdout).strip().splitlines()[-3:]
        raise StepFailed(
            f"task failed on {failed.host}: {failed_task}: {failed.why}" + (f": {' / '.join(tail)}" if tail else ""),
            "the procedure stopped here; the report has each task's output",
        )
    if failed is not None:
        return failed
    if not records:
        return run.record_step(
            Step("local", f"ansible-playbook {playbook}", title=f"Ansible playbook {playbook.name}", rendered=True),
            rc=0,
            ok=True,
            started=t0,
            ended=time.time(),
            stdout=text,
            how="ansible",
            outcome="ok (no task ran)",
        )
    return records[-1]


def _accept(server: socket.socket, p: subprocess.Popen[str], deadline: float) -> socket.socket | None:
    """The callback's connection; None when ansible-playbook ended without connecting (it failed to start)."""
    server.settimeout(0.2)
    while time.time() < deadline:
        try:
            conn, _ = server.accept()
            conn.settimeout(None)
            return conn
        except TimeoutError:
            if p.poll() is not None:
                return None
    return None


def _lines(conn: socket.socket, lines: Any, p: subprocess.Popen[str], deadline: float) -> Iterator[str]:
    """The callback's event lines until it closes the connection (or the playbook's deadline passes)."""
    conn.settimeout(max(0.1, deadline - time.time()))
    try:
        for line in lines:
            if line.strip():
                yield line
            conn.settimeout(max(0.1, deadline - time.time()))
    except TimeoutError:
        return
