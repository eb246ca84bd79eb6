"""The application's writes to the master, every acknowledged one recorded.

`MysqlWriter` runs the lab's writer program (compose/mysql/writer.py) in the `writer` host against the
master. Each line of its log is one write: when the server answered, ok or error, table, key, value. As `Op`s,
`value` is "<table> <key> <value>", so checks can ask every slave for what was acknowledged.
"""

from __future__ import annotations

from dataclasses import dataclass

from lab.scenario import ScenarioRun
from lab.workloads import Op, Workload

LOG = "/tmp/writes.log"
PIDFILE = "/tmp/writer.pid"


@dataclass(frozen=True)
class Write:
    t: float
    ok: bool
    table: str
    key: str
    value: str


def parse_writes(text: str) -> list[Op]:
    ops = []
    for line in text.splitlines():
        parts = line.split("\t")
        if len(parts) < 5:
            continue  # a line cut short by the reader: the next read has it whole
        t, status, table, key, value = parts[:5]
        why = f" {parts[5]}" if len(parts) > 5 else ""
        ops.append(Op(float(t), status == "ok", f"{table} {key} {value}{why}"))
    return ops


def as_write(op: Op) -> Write:
    table, key, value = (op.value.split(" ", 2) + ["", "", ""])[:3]
    return Write(op.t, op.ok, table, key, value.split(" ", 1)[0])


class MysqlWriter(Workload):
    def __init__(
        self, host: str = "writer", target_fact: str = "master_ip", pause_s: float = 0.005, first: int = 1
    ) -> None:
        """`first`: the number of the first write; a second writer in one scenario starts past the first's keys."""
        self.host = host
        self.first = first
        self.target_fact = target_fact
        self.pause_s = pause_s

    def start(self, run: ScenarioRun) -> None:
        target = run.facts[self.target_fact]
        h = run.host(self.host)
        h.run("rm -f %s %s", LOG, PIDFILE)
        h.run_background(
            f"echo $$ > {PIDFILE}; exec python3 /usr/local/bin/opslab-writer --host {target} --log {LOG}"
            f" --pause {self.pause_s} --first {self.first}",
            "/tmp/writer.out",
        )
        run.wait_for(lambda: self.acked(run) >= 10, what=f"the writer's first writes to {target}", timeout=20)

    def ops(self, run: ScenarioRun) -> list[Op]:
        return parse_writes(run.host(self.host).run("cat %s", LOG).stdout)

    def acked(self, run: ScenarioRun) -> int:
        return sum(op.ok for op in self.ops(run))

    def stop(self, run: ScenarioRun) -> list[Op]:
        h = run.host(self.host)
        h.run(f"kill -TERM $(cat {PIDFILE})")
        run.wait_for(
            lambda: not h.run(f"kill -0 $(cat {PIDFILE})").succeeded,
            what="the writer to finish its last write and exit",
            timeout=30,
        )
        return self.ops(run)
