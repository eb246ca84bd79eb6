"""The client's traffic to the service IP: ping every 100 ms, every answer and every silence recorded."""

from __future__ import annotations

import re
import secrets

from lab.scenario import ScenarioRun
from lab.workloads import Op, Workload

REPLY = re.compile(r"^\[(\d+\.\d+)\] \d+ bytes from .*icmp_seq=(\d+)")
SILENCE = re.compile(r"^\[(\d+\.\d+)\] (?:no answer yet for icmp_seq=(\d+)|From .* icmp_seq=(\d+) (.+))")


def parse_ping(text: str) -> list[Op]:
    """Ops from `ping -D -O` output: an answered request is ok, an unanswered or refused one is not."""
    ops = []
    for line in text.splitlines():
        if m := REPLY.match(line):
            ops.append(Op(float(m.group(1)), True, f"icmp_seq={m.group(2)}"))
        elif m := SILENCE.match(line):
            seq = m.group(2) or m.group(3)
            ops.append(Op(float(m.group(1)), False, f"icmp_seq={seq} {m.group(4) or 'no answer'}"))
    return ops


class PingService(Workload):
    interval_s = 0.1

    def __init__(self, host: str = "client", target_fact: str = "vip") -> None:
        self.host = host
        self.target_fact = target_fact
        self.log = f"/tmp/ping-{secrets.token_hex(3)}.log"

    def start(self, run: ScenarioRun) -> None:
        target = run.facts[self.target_fact]
        run.host(self.host).run_background(f"exec ping -D -O -n -i {self.interval_s} -W 1 {target}", self.log)
        run.wait_for(
            lambda: "bytes from" in run.host(self.host).read_file(self.log),
            what=f"the first answer to the client's ping of {target}",
            timeout=10,
        )

    def stop(self, run: ScenarioRun) -> list[Op]:
        h = run.host(self.host)
        h.run("pkill -INT -x ping")
        return parse_ping(h.read_file(self.log))

    def answered_since(self, run: ScenarioRun, t: float) -> bool:
        """Whether the client has had an answer after time t (read from its log, nothing is sent)."""
        ops = parse_ping(run.host(self.host).read_file(self.log))
        return any(op.ok and op.t > t for op in ops)
