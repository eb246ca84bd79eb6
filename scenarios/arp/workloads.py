"""What runs beside an arp scenario: the client's traffic, and a watch on when an address really moved.

`PingService`: the client pings the service IP every 100 ms; every answer and every silence is an operation.
`AddressWatch`: `ip -ts monitor address` on a server records when the service IP was added or deleted there,
so an outage can be measured from the moment the new server really held the address, whoever moved it (a
built-in procedure or a user's script). Both only observe.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

from lab.scenario import ScenarioRun
from lab.workloads import BackgroundWorkload, Op

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


class PingService(BackgroundWorkload):
    interval_s = 0.1
    stop_signal = "INT"  # ping's own way to stop: it prints its summary

    def __init__(self, host: str = "client", target_fact: str = "vip") -> None:
        super().__init__(host)
        self.target_fact = target_fact

    def command(self, run: ScenarioRun) -> str:
        return f"ping -D -O -n -i {self.interval_s} -W 1 {run.facts[self.target_fact]}"

    def parse(self, text: str) -> list[Op]:
        return parse_ping(text)

    def describe_start(self, run: ScenarioRun) -> str:
        return f"the first answer to the client's ping of {run.facts[self.target_fact]}"

    def answered_since(self, run: ScenarioRun, t: float) -> bool:
        """Whether the client has had an answer after time t (read from its log, nothing is sent)."""
        return any(op.ok and op.t > t for op in self.ops_so_far(run))


ADDR_EVENT = re.compile(r"^\[([\d\-T:.]+)\] (Deleted )?\d+: \S+\s+inet (\S+)/\d+")


def parse_addr_events(text: str) -> list[Op]:
    """Ops from `ip -ts monitor address`: value 'added <ip>' or 'deleted <ip>' at the kernel's time (UTC)."""
    ops = []
    for line in text.splitlines():
        if m := ADDR_EVENT.match(line):
            t = datetime.fromisoformat(m.group(1)).replace(tzinfo=UTC).timestamp()
            ops.append(Op(t, True, f"{'deleted' if m.group(2) else 'added'} {m.group(3)}"))
    return ops


def added_at(ops: list[Op], ip: str) -> float | None:
    """When `ip` was first added, per an AddressWatch's ops."""
    return next((op.t for op in ops if op.value == f"added {ip}"), None)


class AddressWatch(BackgroundWorkload):
    started_after = 0  # it records changes: there is nothing to wait for but the process
    start_timeout_s = 5.0

    def __init__(self, host: str = "new") -> None:
        super().__init__(host)
        self.label = f"AddressWatch({host})"

    @property
    def name(self) -> str:
        return self.label

    def command(self, run: ScenarioRun) -> str:
        return "ip -ts monitor address dev eth0"

    def parse(self, text: str) -> list[Op]:
        return parse_addr_events(text)
