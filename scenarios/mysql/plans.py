"""What the mysql lab's runbooks are staged and judged with (see lab.plan): one plan for rebuilding slave1, used by
the rebuild scenarios and by `opslab rehearse mysql <procedure>`.

Staged: both slaves replicating, the writer writing to the master without pause and recording every acknowledged
write, and slave1 stopped with its database dropped (the slave to rebuild). After the procedure the writer goes on
until slave1 could have applied writes made after it, then stops. The goal: slave1 and slave2 replicating, no lag,
both equal to the master (chunked checksums), every acknowledged write on every slave. Metrics: the rows compared,
the chunks that differ, the acknowledged writes lost, the longest write stall during the procedure (the FTWRL
window, when there is one) and the replication lag. Before the writer stops, pt-table-checksum compares master and
slaves while it still writes (`LIVE_CHECKSUM`, judged by LiveChecksumsAgree); the comparison after it stopped
(SlavesMatchMaster) is the second opinion.

Robust (they hold whatever a fault schedule did, once healed; `opslab explore` judges by them and `WATCH`): the slaves
match the master after recovery, and no acknowledged write is missing from a slave.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from lab.checks import CheckResult
from lab.plan import Expect, Plan, settled
from lab.procedure import Step
from lab.scenario import ScenarioRun
from lab.workloads import silence
from scenarios.mysql.checks import (
    AckedWritesOnEverySlave,
    LagReachesZero,
    LiveChecksumsAgree,
    ReplicationWithoutErrors,
    SlaveReplicating,
    SlavesMatchMaster,
    sql,
)
from scenarios.mysql.lab import SLAVES
from scenarios.mysql.workloads import MysqlWriter

WATCH = [ReplicationWithoutErrors]

# pt-table-checksum from the writer's host while the writer writes: each chunk checksummed on the master in a
# replicated statement (checks.LiveChecksumsAgree judges the results); it writes only its own percona.checksums.
# It looks for no slave (--recursion-method none: it would wait forever on one stopped by an error); the checksum
# statements reach the slaves through the binary log all the same, and the check waits for them and compares.
LIVE_CHECKSUM = Step(
    "writer",
    "pt-table-checksum h={master_ip},u=root,p=root --databases {db} --replicate percona.checksums"
    " --no-check-binlog-format --recursion-method none --chunk-size 2000 --no-version-check",
    "pt-table-checksum the master while the writer writes (chunks checksummed in replicated statements)",
    expect_rc=None,
    timeout=120,
)
SLAVE1_LOST = Step("slave1", '{mysql} -e "STOP SLAVE; DROP DATABASE {db}"', "slave1 has lost its data: rebuild it")


@dataclass
class Stage:
    writer: MysqlWriter
    t0: float
    procedure_t0: float = field(default=0.0)


def replicating(run: ScenarioRun, slave: str) -> bool:
    st = sql(run.view, slave).slave_status()
    return st is not None and st.get("Slave_IO_Running") == "Yes" and st.get("Slave_SQL_Running") == "Yes"


def begin(run: ScenarioRun, *, lose_slave1: bool = True, first: int = 1) -> Stage:
    for slave in SLAVES:
        run.wait_for(partial(replicating, run, slave), what=f"{slave} to replicate from the master", timeout=20)
    writer = MysqlWriter(first=first)
    run.start(writer)
    if lose_slave1:
        run.step(SLAVE1_LOST)
    return Stage(writer, time.time())


def procedure(run: ScenarioRun, stage: Stage, name: str) -> None:
    t0 = time.time()
    run.procedure(name)
    settle(run, stage, t0)


def settle(run: ScenarioRun, stage: Stage, t0: float) -> None:
    """After a procedure begun at `t0`: its time and the longest write stall in it, then 30 more acknowledged
    writes, made after it, which slave1 must apply too."""
    t1 = time.time()
    run.metric("procedure_s", t1 - t0)
    ops = stage.writer.ops_so_far(run)
    run.metric("write_stall_s", silence(ops, since=t0, until=t1)[1])
    done = stage.writer.acked(run)
    run.wait_for(lambda: stage.writer.acked(run) >= done + 30, what="30 more writes after the procedure", timeout=30)


def finish(run: ScenarioRun, stage: Stage) -> None:
    """pt-table-checksum while the writer still writes, then stop the writer."""
    run.step(LIVE_CHECKSUM, check=False)
    ops = run.stop(stage.writer)
    run.metric("acked_writes", sum(op.ok for op in ops))
    run.metric("write_errors", sum(not op.ok for op in ops))


class Rebuild(Plan):
    """Rebuild slave1 under live writes; judged by replication, lag, checksums and the acknowledged writes."""

    title = "rebuild slave1: both slaves replicating, caught up, equal to the master, no acknowledged write lost"

    def before(self, run: ScenarioRun) -> Stage:
        stage = begin(run)
        stage.procedure_t0 = time.time()
        return stage

    def after(self, run: ScenarioRun, stage: Any) -> None:
        settled(run, lambda: settle(run, stage, stage.procedure_t0))
        finish(run, stage)

    def judgements(self, run: ScenarioRun, stage: Any) -> list[Expect]:
        return [
            Expect(LagReachesZero()),
            *(Expect(SlaveReplicating(s)) for s in SLAVES),
            Expect(SlavesMatchMaster(), robust=True),
            Expect(LiveChecksumsAgree()),
            Expect(AckedWritesOnEverySlave(), robust=True),
        ]

    def record(self, run: ScenarioRun, results: Mapping[str, CheckResult]) -> None:
        data, writes, lag = results["SlavesMatchMaster"], results["AckedWritesOnEverySlave"], results["LagReachesZero"]
        if "rows_compared" in data.evidence:
            run.metric("rows_compared", data.evidence["rows_compared"])
            run.metric("chunks_differing", data.evidence["chunks_differing"])
        if "lost" in writes.evidence:
            run.metric("acked_writes_lost", writes.evidence["lost"])
            run.metric("acked_writes_doubled", writes.evidence["doubled"])
        if "lag_s" in lag.evidence:
            run.metric("replication_lag_s", lag.evidence["lag_s"])


REBUILD = Rebuild()
PLANS: dict[str, Plan] = {
    name: REBUILD
    for name in (
        "rebuild_from_master",
        "rebuild_from_slave",
        "rebuild_lock_released_early",
        "rebuild_with_read_pos",
        "rebuild_wrong_binlog_file",
        "rebuild_with_gtid",
        "rebuild_gtid_trap",
    )
}
DEFAULT: Plan = REBUILD


def judge(
    run: ScenarioRun,
    *,
    replicating: str = "pass",
    lag: str = "pass",
    data: str = "pass",
    writes: str = "pass",
    live: str | None = None,
) -> dict[str, CheckResult]:
    """The rebuild's checks (`REBUILD`), slave1 (the rebuilt one) expected to give `replicating`, slave2 always
    replicating, the live checksums (`live`) as the stopped-writer comparison (`data`) unless told; results by
    short name: lag, slave1, slave2, data, live, writes."""
    expect = {
        "LagReachesZero": lag,
        "SlaveReplicating[slave1]": replicating,
        "SlavesMatchMaster": data,
        "LiveChecksumsAgree": data if live is None else live,
        "AckedWritesOnEverySlave": writes,
    }
    r = REBUILD.judge(run, None, expect)
    return {
        "lag": r["LagReachesZero"],
        **{s: r[f"SlaveReplicating[{s}]"] for s in SLAVES},
        "data": r["SlavesMatchMaster"],
        "live": r["LiveChecksumsAgree"],
        "writes": r["AckedWritesOnEverySlave"],
    }
