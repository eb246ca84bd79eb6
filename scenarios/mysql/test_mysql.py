"""Scenarios of the mysql lab: rebuilding a slave under live writes (see LABS.md, mysql).

Every scenario starts the same way (`scenarios.mysql.plans.begin`, the rebuild's plan, which `opslab rehearse`
walks too): both slaves replicating, the writer writing to the master without pause
and recording every acknowledged write, and slave1 stopped with its database dropped (the slave to rebuild).
After the procedure the writer goes on until slave1 has applied writes made after it, then stops; the checks
judge replication, catch-up, data (chunked checksums) and the acknowledged writes. Metrics: the rows
compared, the chunks that differ, the acknowledged writes lost, the longest write stall during the procedure
(the FTWRL window, when there is one) and the time the slaves took to catch up.
"""

from __future__ import annotations

from lab.scenario import ScenarioRun
from scenarios.mysql.checks import (
    DifferingRowsAre,
    LagReachesZero,
    SlaveReplicating,
    SlavesMatchMaster,
    SlaveStoppedOnError,
    sql,
)
from scenarios.mysql.faults import RowsChangedBehindReplication, SqlThreadStopped
from scenarios.mysql.plans import REBUILD, WATCH, begin, finish, judge, procedure


def test_rebuild_from_master(scenario: ScenarioRun) -> None:
    """The runbook: FLUSH TABLES WITH READ LOCK and SHOW MASTER STATUS in a session held open while mysqldump
    runs in another; UNLOCK TABLES; load on slave1 and CHANGE MASTER TO the recorded File and Position. Writes
    stall while the lock is held (measured), none is lost, and both slaves equal the master."""
    REBUILD.walk(scenario, "rebuild_from_master", watch=WATCH)


def test_rebuild_from_slave(scenario: ScenarioRun) -> None:
    """The runbook from a running slave: STOP SLAVE on slave2, record Relay_Master_Log_File and
    Exec_Master_Log_Pos, dump it, START SLAVE; load on slave1 and point it at the master there. The master's
    writes never stall; nothing is lost."""
    REBUILD.walk(scenario, "rebuild_from_slave", watch=WATCH)


def test_rebuild_with_read_pos(scenario: ScenarioRun) -> None:
    """slave2's SQL thread lags behind its IO thread; the coordinates are taken from Master_Log_File /
    Read_Master_Log_Pos (what it fetched) instead of Exec_Master_Log_Pos (what it applied). The events between
    the two are never applied on slave1: acknowledged writes are missing there and the checksums differ."""
    run = scenario
    stage = begin(run)
    run.inject(SqlThreadStopped("slave2"))

    def gap() -> int:
        st = sql(run.view, "slave2").slave_status() or {}
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
        lambda: (sql(run.view, "slave1").slave_status() or {}).get("Last_IO_Errno") not in (None, "0"),
        what="slave1's IO thread to report an error",
        timeout=20,
    )
    finish(run, stage)
    out = judge(run, replicating="fail", lag="fail", data="fail", writes="fail")
    errno = out["slave1"].evidence.get("last_io_errno")
    run.metric("slave1_io_errno", errno if errno is not None else -1)
    run.check(SlaveStoppedOnError("slave1", "IO", 1236))
    run.check(SlaveStoppedOnError("slave2", "IO", 1236), expect="fail")
