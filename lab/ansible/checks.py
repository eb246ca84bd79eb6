"""Judges of what an Ansible playbook did, read from the run's steps (each task on each host is one, recorded by
opslab's callback plugin: lab.ansible.playbook).

`TasksRan([(host, task), ...])`: each task ran on its host, through Ansible, and did not fail; a task that never
ran there (a handler nobody notified, a play without it) or failed fails the check. Read-only: it changes nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from lab.checks import Check, CheckResult

if TYPE_CHECKING:
    from lab.view import RunView


class TasksRan(Check):
    """These Ansible tasks ran on these hosts, each recorded as a step, and none failed."""

    from_history = True  # reads only the run's record: `opslab rejudge` judges it again

    def __init__(self, tasks: Sequence[tuple[str, str]]) -> None:
        self.tasks = list(tasks)

    def evaluate(self, run: RunView) -> CheckResult:
        done = {(s.host, s.title): s for s in run.steps if s.how.startswith("ansible")}
        missing = [f"[{h}] {t}" for h, t in self.tasks if (h, t) not in done]
        failed = [f"[{h}] {t}: {done[(h, t)].why}" for h, t in self.tasks if (h, t) in done and not done[(h, t)].ok]
        ran = [f"[{h}] {t}: {done[(h, t)].outcome}" for h, t in self.tasks if (h, t) in done]
        if missing or failed:
            why = "; ".join([*(f"never ran: {m}" for m in missing), *(f"failed: {f}" for f in failed)])
            return self.result(False, why, missing=missing, failed=failed, tasks=len(done))
        return self.result(True, "; ".join(ran), tasks=len(done))
