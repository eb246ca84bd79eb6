"""Faults of the mirror lab: the origin breaks on purpose, and is always put back.

- `OriginAnswers500(*paths)`: nginx on the origin answers 500 for these paths. Heal: its config removed and
  nginx reloaded; gone when the config is no longer there and every path answers what it answered before.

`FAULTS` is the lab's fault library (lab.faults): origin_500.
"""

from __future__ import annotations

import shlex

from lab.faults import Fault, FaultKind, fault_arg
from lab.scenario import ScenarioRun

FAULT_CONF = "/etc/nginx/faults/broken-pages.conf"


class OriginAnswers500(Fault):
    """nginx on the origin answers 500 for these exact paths (location blocks, then a reload)."""

    def __init__(self, *paths: str) -> None:
        self.paths = paths
        self.before: dict[str, str] = {}  # each path's status before the fault: what "healed" means

    def describe(self) -> str:
        return f"the origin answers 500 Internal Server Error for {', '.join(self.paths)}"

    def invoke(self, run: ScenarioRun) -> None:
        self.before = self._statuses(run)
        conf = "".join(f"location = {p} {{ return 500; }}\n" for p in self.paths)
        origin = run.host("origin")
        origin.check_output(f"printf %s {shlex.quote(conf)} > {FAULT_CONF} && nginx -t -q && nginx -s reload")
        run.wait_for(
            lambda: set(self._statuses(run).values()) == {"500"},
            what=f"the origin to answer 500 for {', '.join(self.paths)}",
            timeout=10,
        )

    def heal(self, run: ScenarioRun) -> None:
        run.host("origin").check_output(f"rm -f {FAULT_CONF} && nginx -s reload")

    def gone(self, run: ScenarioRun) -> tuple[bool, str]:
        conf = run.host("origin").run("test -e %s", FAULT_CONF).succeeded
        now = self._statuses(run)
        # a half-done invoke recorded nothing: then any answer but 500 will do
        back = all(now[p] == self.before.get(p, now[p]) != "500" and now[p] for p in self.paths)
        seen = ", ".join(f"{p} {now[p] or 'no answer'}" for p in self.paths)
        return back and not conf, f"origin answers {seen}" + (f"; {FAULT_CONF} is still there" if conf else "")

    def _statuses(self, run: ScenarioRun) -> dict[str, str]:
        """Each path's HTTP status as the origin answers it now ('' when it does not answer)."""
        out = {}
        for p in self.paths:
            r = run.host("origin").run(
                "wget -q -S -O /dev/null --header 'Host: example.org' %s 2>&1 | grep -m1 'HTTP/'",
                f"http://127.0.0.1{p}",
            )
            words = r.stdout.split()
            out[p] = words[1] if len(words) > 1 else ""
        return out


FAULTS = (
    FaultKind(
        "origin_500",
        "the origin answers 500 Internal Server Error for one path (nginx location, reloaded)",
        OriginAnswers500,
        (fault_arg("path", "/index.html", "the path that breaks", pattern=r"/\S*", form="a path like /about.html"),),
    ),
)
