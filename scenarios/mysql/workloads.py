"""The application's writes to the master, every acknowledged one recorded.

`MysqlWriter` runs the lab's writer program (compose/mysql/writer.py) in the `writer` host against the
master. Each line of its log is one write: when the server answered, ok or error, table, key, value. As `Op`s,
`value` is "<table> <key> <value>", so checks can ask every slave for what was acknowledged.
"""

from __future__ import annotations

from dataclasses import dataclass

from lab.scenario import ScenarioRun
from lab.workloads import BackgroundWorkload, Op


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


class MysqlWriter(BackgroundWorkload):
    logs_itself = True  # the writer program logs one line per write to the log it is given
    started_after = 10
    start_timeout_s = 20.0
    stop_timeout_s = 30.0  # TERM: it finishes its last write, then exits

    def __init__(
        self, host: str = "writer", target_fact: str = "master_ip", pause_s: float = 0.005, first: int = 1
    ) -> None:
        """`first`: the number of the first write; a second writer in one scenario starts past the first's keys."""
        super().__init__(host)
        self.first = first
        self.target_fact = target_fact
        self.pause_s = pause_s

    def command(self, run: ScenarioRun) -> str:
        return (
            f"python3 /usr/local/bin/opslab-writer --host {run.facts[self.target_fact]} --log {self.log}"
            f" --pause {self.pause_s} --first {self.first}"
        )

    def parse(self, text: str) -> list[Op]:
        return parse_writes(text)

    def describe_start(self, run: ScenarioRun) -> str:
        return f"the writer's first writes to {run.facts[self.target_fact]}"
