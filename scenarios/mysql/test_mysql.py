"""Scenarios of the mysql lab: rebuilding a slave under live writes (see LABS.md, mysql).

Every scenario starts the same way: both slaves replicating, the writer writing to the master without pause
and recording every acknowledged write, and slave1 stopped with its database dropped (the slave to rebuild).
After the procedure the writer goes on until slave1 has applied writes made after it, then stops; the checks
judge replication, catch-up, data (chunked checksums) and the acknowledged writes. Metrics: the rows
compared, the chunks that differ, the acknowledged writes lost, the longest write stall during the procedure
(the FTWRL window, when there is one) and the time the slaves took to catch up.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from functools import partial

from lab.checks import CheckResult
from lab.procedure import Step
from lab.scenario import ScenarioRun
from lab.workloads import longest_gap
from scenarios.mysql.checks import (
    AckedWritesOnEverySlave,
    DifferingRowsAre,
    LagReachesZero,
    SlaveReplicating,
    SlavesMatchMaster,
    SlaveStoppedOnError,
    sql,
)
from scenarios.mysql.faults import RowsChangedBehindReplication, SqlThreadStopped
from scenarios.mysql.lab import SLAVES
from scenarios.mysql.workloads import MysqlWriter

SLAVE1_LOST = Step("slave1", 'mysql -e "STOP SLAVE; DROP DATABASE {db}"', "slave1 has lost its data: rebuild it")


@dataclass
class Stage:
    writer: MysqlWriter
    t0: float


def replicating(run: ScenarioRun, slave: str) -> bool:
    st = sql(run, slave).slave_status()
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
    t1 = time.time()
    run.metric("procedure_s", t1 - t0)
    ops = stage.writer.ops(run)
    run.metric("write_stall_s", longest_gap(ops, start=t0, end=t1)[1])
    # writes acknowledged after the procedure: slave1 must apply them too
    done = stage.writer.acked(run)
    run.wait_for(lambda: stage.writer.acked(run) >= done + 30, what="30 more writes after the procedure", timeout=30)


def finish(run: ScenarioRun, stage: Stage) -> None:
    ops = run.stop(stage.writer)
    run.metric("acked_writes", sum(op.ok for op in ops))
    run.metric("write_errors", sum(not op.ok for op in ops))


def judge(
    run: ScenarioRun,
    *,
    replicating: str = "pass",
    lag: str = "pass",
    data: str = "pass",
    writes: str = "pass",
) -> dict[str, CheckResult]:
    """The four checks, slave1 (the rebuilt one) expected to give `replicating`, slave2 always replicating."""
    out = {"lag": run.check(LagReachesZero(), expect=lag)}
    for s in SLAVES:
        out[s] = run.check(SlaveReplicating(s), expect=replicating if s == "slave1" else "pass")
    out["data"] = run.check(SlavesMatchMaster(), expect=data)
    out["writes"] = run.check(AckedWritesOnEverySlave(), expect=writes)
    ev = out["data"].evidence
    if "rows_compared" in ev:
        run.metric("rows_compared", ev["rows_compared"])
        run.metric("chunks_differing", ev["chunks_differing"])
    if "lost" in out["writes"].evidence:
        run.metric("acked_writes_lost", out["writes"].evidence["lost"])
        run.metric("acked_writes_doubled", out["writes"].evidence["doubled"])
    if "lag_s" in out["lag"].evidence:
        run.metric("replication_lag_s", out["lag"].evidence["lag_s"])
    return out


def test_rebuild_from_master(scenario: ScenarioRun) -> None:
    """The runbook: FLUSH TABLES WITH READ LOCK and SHOW MASTER STATUS in a session held open while mysqldump
    runs in another; UNLOCK TABLES; load on slave1 and CHANGE MASTER TO the recorded File and Position. Writes
    stall while the lock is held (measured), none is lost, and both slaves equal the master."""
    run = scenario
    stage = begin(run)
    procedure(run, stage, "rebuild_from_master")
    finish(run, stage)
    judge(run)


def test_rebuild_from_slave(scenario: ScenarioRun) -> None:
    """The runbook from a running slave: STOP SLAVE on slave2, record Relay_Master_Log_File and
    Exec_Master_Log_Pos, dump it, START SLAVE; load on slave1 and point it at the master there. The master's
    writes never stall; nothing is lost."""
    run = scenario
    stage = begin(run)
    procedure(run, stage, "rebuild_from_slave")
    finish(run, stage)
    judge(run)


def test_rebuild_with_read_pos(scenario: ScenarioRun) -> None:
    """slave2's SQL thread lags behind its IO thread; the coordinates are taken from Master_Log_File /
    Read_Master_Log_Pos (what it fetched) instead of Exec_Master_Log_Pos (what it applied). The events between
    the two are never applied on slave1: acknowledged writes are missing there and the checksums differ."""
    run = scenario
    stage = begin(run)
    run.inject(SqlThreadStopped("slave2"))

    def gap() -> int:
        st = sql(run, "slave2").slave_status() or {}
        return int(st.get("Read_Master_Log_Pos") or 0) - int(st.get("Exec_Master_Log_Pos") or 0)

    run.wait_for(lambda: gap() > 20000, what="slave2 to have fetched 20 kB more than it applied", timeout=30)
    procedure(run, stage, "rebuild_with_read_pos")
    finish(run, stage)
    judge(run, data="fail", writes="fail")


def test_lock_released_early(scenario: ScenarioRun) -> None:
    """FLUSH TABLES WITH READ LOCK in a `mysql -e` that exits before the dump: the lock dies with the session,
    the writer goes on, and the dump holds writes made after the recorded position. slave1 replays them again
    and stops on a duplicate key (1062); what comes after is missing."""
    run = scenario
    stage = begin(run)
    procedure(run, stage, "rebuild_lock_released_early")
    finish(run, stage)
    out = judge(run, replicating="fail", lag="fail", data="fail", writes="fail")
    run.metric("slave1_sql_errno", out["slave1"].evidence.get("last_sql_errno", -1))
    run.check(SlaveStoppedOnError("slave1", "SQL", 1062))


def test_corrupted_slave(scenario: ScenarioRun) -> None:
    """Rows changed on slave1 behind replication's back (sql_log_bin=0): replication runs on without a
    complaint, and only the checksums see it, naming the chunks and the keys. Rebuilding slave1 from the
    master (the runbook) repairs it."""
    run = scenario
    stage = begin(run, lose_slave1=False)
    fault = RowsChangedBehindReplication("slave1")
    run.inject(fault)
    finish(run, stage)
    run.check(LagReachesZero())
    run.check(SlaveReplicating("slave1"))
    found = run.check(SlavesMatchMaster(when="corrupted"), expect="fail")
    run.metric("chunks_differing_before_rebuild", found.evidence.get("chunks_differing", -1))
    changed = {("accounts", str(fault.ACCOUNT)), ("documents", str(fault.DOCUMENT))}
    run.check(DifferingRowsAre("slave1", changed, when="corrupted"))
    stage = begin(run, first=10_000_000)
    procedure(run, stage, "rebuild_from_master")
    finish(run, stage)
    judge(run)
    run.check(DifferingRowsAre("slave1", changed, when="rebuilt"), expect="fail")


def test_wrong_binlog_file(scenario: ScenarioRun) -> None:
    """CHANGE MASTER TO a binary log file the master does not have (a typo: mysql-bin.00001): the IO thread
    stops at once with error 1236, reported as such, and slave1 never catches up."""
    run = scenario
    stage = begin(run)
    run.procedure("rebuild_wrong_binlog_file")
    run.wait_for(
        lambda: (sql(run, "slave1").slave_status() or {}).get("Last_IO_Errno") not in (None, "0"),
        what="slave1's IO thread to report an error",
        timeout=20,
    )
    finish(run, stage)
    out = judge(run, replicating="fail", lag="fail", data="fail", writes="fail")
    errno = out["slave1"].evidence.get("last_io_errno")
    run.metric("slave1_io_errno", errno if errno is not None else -1)
    run.check(SlaveStoppedOnError("slave1", "IO", 1236))
    run.check(SlaveStoppedOnError("slave2", "IO", 1236), expect="fail")
