"""What runs beside a drbd scenario: the client writing numbered records through the floating IP.

`RecordWriter`: the client PUTs record 1, 2, 3 ... every 100 ms (0.5 s timeout each) to the service on the
floating IP; every attempt is an operation, acknowledged (`n=5 by=alpha`: the node that stored it) or not
(`n=6 error=...`). It only loads the service. `writes(ops)` turns the operations back into `Write`s for judges.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass

from lab.scenario import ScenarioRun
from lab.workloads import BackgroundWorkload, Op

WRITER = "/opt/opslab/node/writer.py"
RECORDS_PER_BLOCK = 64  # the service's layout: record n lives in block 1 + n // 64


def block_of(n: int) -> int:
    return 1 + n // RECORDS_PER_BLOCK


@dataclass(frozen=True)
class Write:
    t: float
    n: int
    ok: bool
    by: str = ""
    error: str = ""


def parse_writer_log(text: str) -> list[Op]:
    """Ops from the writer's JSON lines (a torn last line is skipped)."""
    ops = []
    for line in text.splitlines():
        try:
            rec = json.loads(line)
        except json.JSONDecodeError:
            continue
        if rec.get("ok"):
            ops.append(Op(float(rec["t"]), True, f"n={rec['n']} by={rec.get('by', '?')}"))
        else:
            ops.append(Op(float(rec["t"]), False, f"n={rec['n']} error={rec.get('error', '?')}"))
    return ops


OP_VALUE = re.compile(r"^n=(\d+) (?:by=(\S*)|error=(.*))$")


def writes(ops: Sequence[Op]) -> list[Write]:
    out = []
    for op in ops:
        if m := OP_VALUE.match(op.value):
            out.append(Write(op.t, int(m.group(1)), op.ok, m.group(2) or "", m.group(3) or ""))
    return out


class RecordWriter(BackgroundWorkload):
    interval_s = 0.1
    logs_itself = True  # writer.py writes one JSON line per attempt to the log it is given
    start_timeout_s = 15.0

    def __init__(self, host: str = "client") -> None:
        super().__init__(host)

    def command(self, run: ScenarioRun) -> str:
        return f"python3 {WRITER} write {run.facts['url']} {self.log} --interval {self.interval_s}"

    def parse(self, text: str) -> list[Op]:
        return parse_writer_log(text)

    def describe_start(self, run: ScenarioRun) -> str:
        return "the client's first acknowledged write"

    def acked_since(self, run: ScenarioRun, t: float, by: str | None = None) -> bool:
        return any(w.ok and w.t > t and (by is None or w.by == by) for w in writes(self.ops_so_far(run)))
