"""What runs beside a drbd scenario: the client writing numbered records through the floating IP.

`RecordWriter`: the client PUTs record 1, 2, 3 ... every 100 ms (0.5 s timeout each) to the service on the
floating IP; every attempt is an operation, acknowledged (`n=5 by=alpha`: the node that stored it) or not
(`n=6 error=...`). It only loads the service. `writes(ops)` turns the operations back into `Write`s for judges.
"""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass

from lab.scenario import ScenarioRun
from lab.workloads import Op, Workload

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


class RecordWriter(Workload):
    interval_s = 0.1

    def __init__(self, host: str = "client") -> None:
        self.host = host
        self.log = f"/tmp/writes-{secrets.token_hex(3)}.jsonl"

    def start(self, run: ScenarioRun) -> None:
        h = run.host(self.host)
        h.run_background(
            f"exec python3 {WRITER} write {run.facts['url']} {self.log} --interval {self.interval_s}", "/tmp/writer.out"
        )
        run.wait_for(
            lambda: '"ok": true' in h.run("cat %s", self.log).stdout,
            what="the client's first acknowledged write",
            timeout=15,
        )

    def stop(self, run: ScenarioRun) -> list[Op]:
        h = run.host(self.host)
        pid = h.run("cat %s", f"{self.log}.pid").stdout.strip()
        if pid.isdigit():  # by its pid: `pgrep -f` also matches the shell that runs it
            h.run(f"kill -TERM {pid}")
            # gone, or a zombie nobody has reaped yet: either way it writes no more
            alive = f"grep -q '^State:[[:space:]]*[^Z]' /proc/{pid}/status 2>/dev/null"
            run.wait_for(lambda: not h.run(alive).succeeded, what="the writer to stop", timeout=15)
        return parse_writer_log(h.read_file(self.log))

    def ops_so_far(self, run: ScenarioRun) -> list[Op]:
        """The operations logged until now (read from the client's log; nothing is sent)."""
        return parse_writer_log(run.host(self.host).run("cat %s", self.log).stdout)

    def acked_since(self, run: ScenarioRun, t: float, by: str | None = None) -> bool:
        return any(w.ok and w.t > t and (by is None or w.by == by) for w in writes(self.ops_so_far(run)))
