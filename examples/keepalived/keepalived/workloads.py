"""The client's traffic: an HTTP GET of the VIP every 100 ms (busybox wget, cut off after 0.5 s by `timeout`:
bookworm's busybox wget crashes with its own -T); each answer names the balancer that gave it. Every request is an
operation (`Op`: time, answered or not, and by whom)."""

from __future__ import annotations

import shlex

from lab.scenario import ScenarioRun
from lab.workloads import BackgroundWorkload, Op

LOOP = (
    "while :; do t=$(date +%s.%N); "
    "if body=$(timeout 0.5 busybox wget -q -O - http://{vip}/ 2>/dev/null); then echo \"$t ok $body\"; "
    "else echo \"$t fail\"; fi; sleep 0.1; done"
)


def parse_requests(text: str) -> list[Op]:
    """Ops from the client's log: `<time> ok <balancer>` or `<time> fail` (a torn last line is left out)."""
    ops = []
    for line in text.splitlines():
        parts = line.split()
        if len(parts) >= 2 and parts[1] in ("ok", "fail"):
            try:
                t = float(parts[0])
            except ValueError:
                continue
            ops.append(Op(t, parts[1] == "ok", parts[2] if len(parts) > 2 else ""))
    return ops


class AskTheVip(BackgroundWorkload):
    """The client asks the VIP all the time; `stop` returns every request it made (lab.workloads runs it)."""

    start_timeout_s = 20.0

    def __init__(self, host: str = "client") -> None:
        super().__init__(host)

    def command(self, run: ScenarioRun) -> str:
        return f"sh -c {shlex.quote(LOOP.format(vip=run.facts['vip']))}"

    def parse(self, text: str) -> list[Op]:
        return parse_requests(text)

    def describe_start(self, run: ScenarioRun) -> str:
        return "the first answer from the VIP"
