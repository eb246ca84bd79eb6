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

import re
import time
from dataclasses import replace

from lab.checks import StepFailedWith
from lab.procedure import Step
from lab.scenario import ScenarioRun
from scenarios.mysql.checks import (
    RECONNECTS,
    DifferingRowsAre,
    DumpRecreatesDatabase,
    LagReachesZero,
    LiveChecksumsAgree,
    MasterUserMayReplicate,
    ReplicationStartsAtTheDump,
    SlaveReplicating,
    SlavesMatchMaster,
    SlavesReadOnly,
    SlavesRegisteredOnce,
    SlaveStoppedOnError,
    sql,
)
from scenarios.mysql.faults import DuplicateServerId, RowsChangedBehindReplication, SqlThreadStopped
from scenarios.mysql.plans import REBUILD, WATCH, begin, finish, judge, procedure, settle


def test_rebuild_from_master(scenario: ScenarioRun) -> None:
    """The runbook: FLUSH TABLES WITH READ LOCK and SHOW MASTER STATUS in a session held open while mysqldump
    runs in another; UNLOCK TABLES; load on slave1 and CHANGE MASTER TO the recorded File and Position. Writes
    stall while the lock is held (measured), none is lost, both slaves equal the master (pt-table-checksum while
    the writer writes, and chunk by chunk after it stopped), and slave1 began replicating where its dump ends."""
    REBUILD.walk(scenario, "rebuild_from_master", watch=WATCH)
    scenario.check(ReplicationStartsAtTheDump("slave1", "coordinates"))
    scenario.check(SlavesRegisteredOnce())
    scenario.check(MasterUserMayReplicate("slave1"))


def test_rebuild_with_gtid(scenario: ScenarioRun) -> None:
    """The modern runbook (MariaDB GTID): one consistent `--single-transaction --master-data=2 --gtid` dump with
    its GTID position in it, loaded on slave1, `SET GLOBAL gtid_slave_pos` to that position and `CHANGE MASTER
    TO ... master_use_gtid=slave_pos`. No lock held by hand, no coordinates copied; the master's writes never
    stall, nothing is lost, and slave1 begins at the dump's GTID position."""
    REBUILD.walk(scenario, "rebuild_with_gtid", watch=WATCH)
    scenario.check(ReplicationStartsAtTheDump("slave1", "gtid-dump"))


def test_gtid_trap(scenario: ScenarioRun) -> None:
    """The old runbook finished the short way: the dump is loaded and CHANGE MASTER TO names only the host and
    account. Since MariaDB 10.10 that means master_use_gtid=slave_pos, and slave1's gtid_slave_pos is still where
    it stopped before the rebuild: it fetches again transactions its dump already holds, and stops on a
    duplicate key (1062). The server's log names the GTID it began at; the master's BINLOG_GTID_POS of the
    recorded coordinates names where the dump ends."""
    run = scenario
    stage = begin(run)
    procedure(run, stage, "rebuild_gtid_trap")
    finish(run, stage)
    status = sql(run.view, "slave1").slave_status() or {}
    run.note(f"slave1 Using_Gtid = {status.get('Using_Gtid')}, Gtid_IO_Pos = {status.get('Gtid_IO_Pos')}")
    started = run.check(ReplicationStartsAtTheDump("slave1", "coordinates"), expect="fail")
    run.metric("transactions_fetched_again", started.evidence.get("transactions_again", -1))
    judge(run, replicating="fail", lag="fail", data="fail", writes="fail")
    run.check(SlaveStoppedOnError("slave1", "SQL", 1062))


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
    run.check(LiveChecksumsAgree(when="corrupted"), expect="fail")
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


SEED_STOP, SEED_START, SEED_LOAD, SEED_DUMP = "SLAVE STOP;", "SLAVE START;", "databasename < masterdump", "mysqldump"


def seed_steps(run: ScenarioRun) -> None:
    """The seed's runbook, every step run whatever the one before did (as an engineer who reads on would), each
    outcome recorded as a note: the scenario reports step by step what this engine does with it."""
    for step in run.procedures["seed_runbook"].steps:
        rec = run.step(step, check=False)
        said = next((line for line in (rec.stderr + rec.stdout).splitlines() if "ERROR" in line), "")
        run.note(f"seed step [{rec.host}] {rec.title}: " + ("ok" if rec.ok else f"exit {rec.rc} {rec.why} {said}"))


def test_seed_runbook(scenario: ScenarioRun) -> None:
    """The seed's runbook verbatim on the night, the writer writing: FLUSH TABLES WITH READ LOCK in a client on
    the master, then the seed's `mysqldump --add-drop-database shop accounts order_lines documents`, whose own
    LOCK TABLES waits behind the writer's statement queued on the global read lock: it never finishes (killed
    after 30 s, the writes stalled all along). On the slave `SLAVE STOP;` and `SLAVE START;` are syntax errors
    (1064), and the table-list dump, which creates no database, cannot be loaded into the lost one (1049).
    slave1 ends with no data and no replication."""
    run = scenario
    stage = begin(run)
    t0 = time.time()
    seed_steps(run)
    settle(run, stage, t0)
    finish(run, stage)
    run.check(StepFailedWith(SEED_DUMP, "timed out"))
    run.check(StepFailedWith(SEED_STOP, "ERROR 1064"))
    run.check(StepFailedWith(SEED_LOAD, "ERROR 1049"))
    run.check(StepFailedWith(SEED_START, "ERROR 1064"))
    run.check(DumpRecreatesDatabase("slave1", "/root/masterdump.sql"), expect="fail")
    run.check(SlaveReplicating("slave1"), expect="fail")
    run.check(SlaveReplicating("slave2"))
    run.check(LagReachesZero(), expect="fail")
    run.check(LiveChecksumsAgree(), expect="fail")  # slave1 has no database: no chunk applied


def test_seed_runbook_quiet(scenario: ScenarioRun) -> None:
    """The seed's runbook verbatim in a quiet window (the writer stopped first): the dump completes now, and what
    the table-list dump leaves behind shows: DROP TABLE/CREATE TABLE for the three tables, no DROP DATABASE,
    CREATE DATABASE or USE (`--add-drop-database` without `--databases` does nothing), so loading it into the
    lost database fails (1049); `SLAVE STOP;` and `SLAVE START;` are syntax errors (1064)."""
    run = scenario
    stage = begin(run)
    run.stop(stage.writer)
    seed_steps(run)
    run.check(StepFailedWith(SEED_DUMP, "timed out"), expect="fail")
    run.metric("dump_s", next(s.duration_s for s in run.steps if SEED_DUMP in s.title))
    run.check(StepFailedWith(SEED_STOP, "ERROR 1064"))
    run.check(StepFailedWith(SEED_LOAD, "ERROR 1049"))
    run.check(StepFailedWith(SEED_START, "ERROR 1064"))
    dump = run.check(DumpRecreatesDatabase("slave1", "/root/masterdump.sql"), expect="fail")
    for k, n in (dump.evidence.get("statements") or {}).items():
        run.metric(f"dump_{k}", n)
    run.check(SlaveReplicating("slave1"), expect="fail")
    run.check(SlaveReplicating("slave2"))


# -- the failure modes DBAs meet ----------------------------------------------------------------------------------


def test_duplicate_server_id(scenario: ScenarioRun) -> None:
    """slave2 gets slave1's server-id. The master keeps one binlog dump per server-id: each slave that registers
    drops the other ("A slave with the same server_uuid/server_id is already connected", server_errno 4052), so
    the two take turns reconnecting and only one is listed by SHOW SLAVE HOSTS. SlavesRegisteredOnce names the
    shared id, with the reconnections and refusals counted from the slaves' logs."""
    run = scenario
    stage = begin(run, lose_slave1=False)
    fault = DuplicateServerId("slave2", like="slave1")
    run.inject(fault)

    def turns() -> int:
        return len(RECONNECTS.findall(run.lab.logs().get("slave1", "")))

    first = turns()
    run.wait_for(lambda: turns() >= first + 2, what="slave1 to be dropped by the master twice", timeout=30)
    found = run.check(SlavesRegisteredOnce(), expect="fail")
    run.metric("slave1_reconnections", found.evidence.get("connections", {}).get("slave1", -1))
    run.metric("slave1_refused_same_id", found.evidence.get("refused_same_id", {}).get("slave1", -1))
    finish(run, stage)


def test_purged_binlog(scenario: ScenarioRun) -> None:
    """slave1 is stopped while the master goes on, and the master's binary logs are purged before it catches up
    (FLUSH BINARY LOGS; PURGE BINARY LOGS TO the new one, once slave2 reads it). START SLAVE: the IO thread stops
    with error 1236, 'Could not find first log file name in binary log index file'; slave1 never catches up."""
    run = scenario
    stage = begin(run, lose_slave1=False)
    run.step(Step("slave1", '{mysql} -e "STOP SLAVE"', "slave1 stops (maintenance) while the master goes on"))
    stopped_at = stage.writer.acked(run)
    run.wait_for(
        lambda: stage.writer.acked(run) >= stopped_at + 50, what="50 writes while slave1 is stopped", timeout=30
    )
    run.step(Step("master", '{mysql} -e "FLUSH BINARY LOGS"', "on the master: FLUSH BINARY LOGS"))
    master = sql(run.view, "master")
    current = master.master_status()[0]
    run.wait_for(
        lambda: (sql(run.view, "slave2").slave_status() or {}).get("Master_Log_File") == current,
        what=f"slave2 to read {current} (a log a slave reads is not purged)",
        timeout=30,
    )
    # PURGE right after FLUSH may keep the old log with only a warning ("... is not purged because it is in use"):
    # the server still needs it for crash recovery until InnoDB has made its transactions durable, which the
    # Binlog_checkpoint event in the new log announces (seen on MariaDB 11.8: the purge left mysql-bin.000001 and
    # slave1 went on from it)
    run.wait_for(
        lambda: master.binlog_checkpoint(current) == current,
        what=f"the master's binlog checkpoint to reach {current} (the older logs no longer needed for recovery)",
        timeout=30,
    )
    run.step(
        Step(
            "master",
            "{mysql} --show-warnings -e \"PURGE BINARY LOGS TO '$({mysql} -N -e 'SHOW MASTER STATUS' | cut -f1)';"
            ' SHOW BINARY LOGS"',
            "on the master: PURGE BINARY LOGS TO the current log (disk full, a cron job)",
            expect_output=rf"^Log_name\tFile_size\n{re.escape(current)}\t",  # the current log is now the oldest
        )
    )
    run.step(Step("slave1", '{mysql} -e "START SLAVE"', "slave1: START SLAVE"))
    run.wait_for(
        lambda: (sql(run.view, "slave1").slave_status() or {}).get("Last_IO_Errno") not in (None, "0"),
        what="slave1's IO thread to report an error",
        timeout=20,
    )
    finish(run, stage)
    stopped = run.check(SlaveStoppedOnError("slave1", "IO", 1236))
    run.note(f"slave1: {stopped.evidence.get('error')}")
    run.check(SlaveReplicating("slave1"), expect="fail")
    run.check(LagReachesZero(), expect="fail")


def test_stray_write_on_slave(scenario: ScenarioRun) -> None:
    """slave1 is not read_only, and a stray INSERT lands on it (an application pointed at the wrong host): it takes
    the next auto-increment id of documents, the master's next insert arrives with the same id, and slave1's SQL
    thread stops on a duplicate key (1062). SlavesReadOnly names the writable slaves; with read_only=ON (the fix)
    the same stray write is refused (1290)."""
    run = scenario
    stage = begin(run, lose_slave1=False)
    stray = Step(
        "slave1",
        '{mysql} -u app -papp -h 127.0.0.1 {db} -e "INSERT INTO documents (token, title, body) VALUES'
        " ('stray', 'written on a slave', 'x')\"",
        "a stray write on slave1 (the application's account, the wrong host)",
    )
    run.check(SlavesReadOnly(when="before"), expect="fail")
    run.step(stray)
    run.wait_for(
        lambda: (sql(run.view, "slave1").slave_status() or {}).get("Last_SQL_Errno") not in (None, "0"),
        what="slave1's SQL thread to stop on the master's insert",
        timeout=30,
    )
    run.check(SlaveStoppedOnError("slave1", "SQL", 1062))
    run.step(Step("slave2", '{mysql} -e "SET GLOBAL read_only = ON"', "the fix, on slave2: SET GLOBAL read_only = ON"))
    run.step(replace(stray, host="slave2", title="the same stray write on slave2, now read_only"), check=False)
    run.check(StepFailedWith("now read_only", "ERROR 1290"))
    run.check(SlavesReadOnly(slaves=("slave2",), when="fixed"))
    finish(run, stage)


def test_repl_user_without_grant(scenario: ScenarioRun) -> None:
    """slave1 is pointed at the master through an account without REPLICATION SLAVE (the application's): it logs
    in, but the master refuses to register it as a slave (IO error 1597, "Master command COM_REGISTER_SLAVE
    failed: Access denied for user 'app'@'%' (Errno: 1045)", on both engines), and the IO thread keeps retrying
    (Slave_IO_Running: Connecting). MasterUserMayReplicate reads the account's grants on the master."""
    run = scenario
    stage = begin(run, lose_slave1=False)
    run.step(
        Step(
            "slave1",
            "{mysql} -e \"STOP SLAVE; CHANGE MASTER TO master_user='app', master_password='app'; START SLAVE\"",
            "point slave1 at the master through the application's account (no REPLICATION SLAVE)",
        )
    )
    run.wait_for(
        lambda: (sql(run.view, "slave1").slave_status() or {}).get("Last_IO_Errno") not in (None, "0"),
        what="slave1's IO thread to report an error",
        timeout=30,
    )
    finish(run, stage)
    run.check(MasterUserMayReplicate("slave1"), expect="fail")
    st = run.check(SlaveReplicating("slave1"), expect="fail")
    run.note(f"slave1: {', '.join(st.evidence.get('errors', []))}")
    run.check(SlaveStoppedOnError("slave1", "IO", 1597))
