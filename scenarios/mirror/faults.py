"""Faults of the mirror lab: the origin breaks on purpose, and is always put back."""

from __future__ import annotations

import shlex

from lab.faults import Fault
from lab.scenario import ScenarioRun

FAULT_CONF = "/etc/nginx/faults/broken-pages.conf"


class OriginAnswers500(Fault):
    """nginx on the origin answers 500 for these exact paths (location blocks, then a reload)."""

    def __init__(self, *paths: str) -> None:
        self.paths = paths

    def describe(self) -> str:
        return f"the origin answers 500 Internal Server Error for {', '.join(self.paths)}"

    def invoke(self, run: ScenarioRun) -> None:
        conf = "".join(f"location = {p} {{ return 500; }}\n" for p in self.paths)
        origin = run.host("origin")
        origin.check_output(f"printf %s {shlex.quote(conf)} > {FAULT_CONF} && nginx -t -q && nginx -s reload")
        run.wait_for(lambda: self._answers(run, 500), what=f"the origin to answer 500 for {self.paths[0]}", timeout=10)

    def heal(self, run: ScenarioRun) -> None:
        run.host("origin").check_output(f"rm -f {FAULT_CONF} && nginx -s reload")
        run.wait_for(lambda: self._answers(run, 200), what=f"the origin to answer 200 for {self.paths[0]}", timeout=10)

    def _answers(self, run: ScenarioRun, status: int) -> bool:
        r = run.host("origin").run(
            "wget -q -S -O /dev/null --header 'Host: example.org' %s 2>&1 | grep -m1 'HTTP/'",
            f"http://127.0.0.1{self.paths[0]}",
        )
        return f" {status} " in r.stdout
