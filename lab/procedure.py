"""Steps and procedures as data.

A `Step` is one operator action on one host: the command exactly as an engineer types it, with the outcome
it expects (exit status, and optionally a pattern its output must match). Commands are templates whose
`{fact}` fields are the lab's facts (addresses, names), filled in by `render(facts)`, so the same procedure
prints as a runbook, runs in a scenario and is rehearsed one step at a time.

Render once: `render` fills the template and marks the step `rendered`; rendering a rendered step returns it
unchanged, so what is shown is exactly what runs (a command's own braces, awk's `{print $2}`, are never read
as facts a second time). A step may also name, as templates rendered with it:
- `verify`: a read-only command on the same host that exits 0 when the state the step should leave is there
  (rehearse checks it after a person ran the step by hand); a step that only reads (`readonly=True`) is
  verified by running it again;
- `progress`: a read-only command on the same host whose last output line says how far a long step has got
  (rehearse shows it while it waits: "beta's resync 41%").

A user's own procedure replaces a built-in one with `--procedure PATH`:
- an executable script (`*.sh`, `*.py`, anything with the x bit) runs on this machine as ONE step, with
  the lab described in its environment (`OPSLAB_PROJECT`, `OPSLAB_HOST_<NAME>` = container, `OPSLAB_<FACT>`),
  so shell, Ansible or Python automation can drive the lab through `docker exec`;
- a runbook file (`*.steps`) lists steps, one per line, as `host: command` (`#` starts a comment; a line
  `host: command  # expect rc=1` expects that exit status); its commands may use the lab's `{facts}` too;
- an Ansible playbook (`*.yml`, `*.yaml`) runs with `ansible-playbook` against the lab's inventory, each task on
  each host recorded as a step of its own (lab.ansible.playbook; `check=True` is Ansible's `--check`).

A step may `expand` into steps of its own: `expand(run, step, check)` runs them, records each one
(`ScenarioRun.record_step`) and returns the last record, raising `StepFailed` at a failed one when `check` is
true (an Ansible playbook is one such step: one record per task and host).

`load_user_procedure` refuses, with a `Hint:`, a file that is missing, a folder, unreadable (or a runbook that is
not UTF-8), neither executable nor `*.sh`/`*.py`/`*.steps`, a script whose `#!` program is not installed, and a
runbook line that cannot be read or names a host the lab does not have.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from lab.errors import UsageError


@dataclass(frozen=True)
class Step:
    host: str
    command: str
    title: str = ""
    expect_rc: int | None = 0
    expect_output: str | None = None
    timeout: float = 120.0
    local: bool = False  # runs on this machine (a user's script), not in a host
    verify: str | None = None
    readonly: bool = False
    progress: str | None = None
    rendered: bool = field(default=False, compare=False)
    # runs steps of its own in place of `command` (see the module's docstring): (run, step, check) -> StepRecord
    expand: Callable[..., object] | None = field(default=None, compare=False)

    def render(self, facts: Mapping[str, object]) -> Step:
        """The step with the lab's facts filled in; a rendered step is returned as it is (render once)."""
        if self.rendered:
            return self
        return replace(
            self,
            command=fill(self.command, facts),
            title=fill(self.title, facts),
            verify=None if self.verify is None else fill(self.verify, facts),
            progress=None if self.progress is None else fill(self.progress, facts),
            rendered=True,
        )

    @property
    def verification(self) -> str | None:
        """The read-only command that tells whether this step's effect is there (None: only the person knows)."""
        return self.verify if self.verify is not None else (self.command if self.readonly else None)

    def judge(self, rc: int, output: str) -> tuple[bool, str]:
        """Whether the step did what it expected, and why not."""
        if self.expect_rc is not None and rc != self.expect_rc:
            return False, f"exit status {rc}, expected {self.expect_rc}"
        if self.expect_output is not None and not re.search(self.expect_output, output, re.M):
            return False, f"output does not match /{self.expect_output}/"
        return True, ""


@dataclass(frozen=True)
class Procedure:
    name: str
    title: str
    steps: tuple[Step, ...]
    description: str = ""
    source: str = field(default="built-in", compare=False)

    def render(self, facts: Mapping[str, object]) -> Procedure:
        return replace(self, steps=tuple(s.render(facts) for s in self.steps))

    def runbook(self) -> str:
        """The procedure as a person reads it: numbered steps, host and command."""
        lines = [f"{self.name}: {self.title}"]
        if self.description:
            lines.append(self.description)
        for i, s in enumerate(self.steps, 1):
            expect = "" if s.expect_rc == 0 else f"   (expect exit {s.expect_rc})"
            lines.append(f"{i:2d}. [{s.host}] {s.title}" if s.title else f"{i:2d}. [{s.host}]")
            lines.append(f"      {s.command}{expect}")
        return "\n".join(lines)


def fill(template: str, facts: Mapping[str, object]) -> str:
    """Fill `{fact}` fields; an unknown field is a clear error naming the facts there are."""
    try:
        return template.format_map(dict(facts))
    except KeyError as exc:
        known = ", ".join(sorted(facts))
        raise UsageError(
            f"the step {template!r} names the fact {exc.args[0]!r}, which this lab does not have",
            f"use one of: {known}",
        ) from None


def split_override(value: str) -> tuple[str | None, str]:
    """`--procedure [NAME=]PATH` as (NAME or None for every procedure, PATH)."""
    name, _, path = value.rpartition("=") if "=" in value else ("", "", value)
    return name or None, path


def _interpreter(script: bytes) -> str:
    """The program a script's `#!` line runs (`/usr/bin/env python3` → `python3`); "" without one."""
    if not script.startswith(b"#!"):
        return ""
    words = script[2:].split(b"\n", 1)[0].decode(errors="replace").split()
    if words and os.path.basename(words[0]) == "env":
        words = [w for w in words[1:] if not w.startswith("-") and "=" not in w]
    return words[0] if words else ""


def load_user_procedure(
    path: str | os.PathLike[str],
    hosts: list[str],
    *,
    groups: Mapping[str, tuple[str, ...]] | None = None,
    check: bool = False,
) -> Procedure:
    """A user's procedure from a script, a `.steps` runbook or an Ansible playbook (its host patterns checked
    against the lab's `hosts` and `groups`; `check`: Ansible's dry run); errors say what is wrong and where."""
    p = Path(path)
    if not str(path):
        raise UsageError("--procedure names no file", "give the path of a script or a .steps file: [NAME=]PATH")
    if p.suffix in (".yml", ".yaml") and p.is_file():
        from lab.ansible.playbook import load_playbook

        return load_playbook(p, hosts, groups or {}, check=check)
    if check:
        raise UsageError(
            f"--check is Ansible's dry run, and {p} is not a playbook",
            "give --procedure a *.yml playbook, or drop --check",
        )
    if p.is_dir():
        raise UsageError(f"procedure file {p} is a folder", "give the path of a script or a .steps file in it")
    if not p.is_file():
        raise UsageError(f"procedure file {p} does not exist", "give the path of a script or a .steps file")
    try:
        data = p.read_bytes()
        text = data.decode() if p.suffix == ".steps" else ""
    except (OSError, UnicodeDecodeError) as exc:
        why = exc.strerror if isinstance(exc, OSError) else "it is not UTF-8 text"
        raise UsageError(
            f"cannot read the procedure file {p}: {why}", f"make it a readable text file (chmod +r {p})"
        ) from None
    if p.suffix == ".steps":
        steps = []
        for no, raw in enumerate(text.splitlines(), 1):
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            m = re.match(r"^([\w.-]+):\s*(.+?)(?:\s+#\s*expect\s+rc=(\d+))?\s*$", line)
            if not m:
                raise UsageError(f"{p}:{no}: cannot read {raw!r}", "write each step as `host: command`")
            host, command, rc = m.group(1), m.group(2), m.group(3)
            if host not in hosts:
                raise UsageError(f"{p}:{no}: no host {host!r} in this lab", f"hosts are: {', '.join(hosts)}")
            steps.append(Step(host, command, expect_rc=int(rc) if rc else 0))
        if not steps:
            raise UsageError(f"{p} has no steps", "write one step per line as `host: command`")
        return Procedure(p.stem, f"user runbook {p.name}", tuple(steps), source=str(p))
    if not os.access(p, os.X_OK) and p.suffix not in (".sh", ".py"):
        raise UsageError(f"{p} is neither executable nor a .steps runbook", f"chmod +x {p}, or name it *.steps")
    runner = {".sh": "sh ", ".py": "python3 "}.get(p.suffix, "") if not os.access(p, os.X_OK) else ""
    interpreter = _interpreter(data) if not runner else runner.strip()
    if interpreter and not shutil.which(interpreter):
        raise UsageError(
            f"{p} needs {interpreter}, which is not installed here", f"install it, or change the first line of {p}"
        )
    # the path is taken literally: a script is not a template
    command = f"{runner}{p.resolve()}"
    step = Step("local", command, title=f"user script {p.name}", local=True, timeout=1800, rendered=True)
    return Procedure(p.stem, f"user script {p.name}", (step,), source=str(p))
