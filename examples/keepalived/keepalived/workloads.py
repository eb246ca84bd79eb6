"""The client's traffic: an HTTP GET of the VIP every 100 ms (busybox wget, cut off after 0.5 s by `timeout`:
bookworm's busybox wget crashes with its own -T); each answer names the balancer that gave it. Every request is an
operation (`Op`: time, answered or not, and by whom)."""

from __future__ import annotations

from lab.scenario import ScenarioRun
from lab.workloads import Op, Workload

LOG = "/tmp/requests.log"
PID = "/tmp/requests.pid"
LOOP = (
    f"echo $$ > {PID}; "
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


class AskTheVip(Workload):
    """The client asks the VIP all the time; `stop` returns every request it made."""

    host = "client"

    def start(self, run: ScenarioRun) -> None:
        client = run.host(self.host)
        client.run_background(LOOP.format(vip=run.facts["vip"]), LOG)
        run.wait_for(lambda: " ok " in client.read_file(LOG), what="the first answer from the VIP", timeout=20)

    def stop(self, run: ScenarioRun) -> list[Op]:
        client = run.host(self.host)
        client.check_output(f"kill $(cat {PID})")
        return parse_requests(client.read_file(LOG))
