"""The mysql lab's judges on canned data: each one shown passing and failing, no Docker.

The fake hosts answer the `mariadb --batch -e ...` commands the judges send with tab-separated output, as the
real client prints it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import pytest

from lab.checks import Verdict
from lab.errors import UsageError
from lab.host import FakeTransport, Host
from lab.scenario import ScenarioRun
from lab.workloads import Op
from scenarios.mysql import db
from scenarios.mysql.checks import (
    AckedWritesOnEverySlave,
    DifferingRowsAre,
    LagReachesZero,
    SlaveReplicating,
    SlavesMatchMaster,
    SlaveStoppedOnError,
)
from scenarios.mysql.workloads import as_write, parse_writes

Reply = tuple[int, str] | Callable[[str], tuple[int, str]]


def tsv(names: list[str], *rows: Sequence[object]) -> tuple[int, str]:
    lines = ["\t".join(names)] + ["\t".join("NULL" if v is None else str(v) for v in r) for r in rows]
    return 0, "\n".join(lines) + "\n"


def slave_status(io: str = "Yes", sql: str = "Yes", exec_pos: int = 1000, behind: str = "0", **errors: Any) -> Any:
    names = [
        "Slave_IO_State", "Master_Host", "Master_Log_File", "Read_Master_Log_Pos", "Relay_Master_Log_File",
        "Slave_IO_Running", "Slave_SQL_Running", "Exec_Master_Log_Pos", "Seconds_Behind_Master",
        "Last_IO_Errno", "Last_IO_Error", "Last_SQL_Errno", "Last_SQL_Error",
    ]  # fmt: skip
    row = [
        "Waiting for master to send event", "10.9.0.10", "mysql-bin.000001", exec_pos, "mysql-bin.000001",
        io, sql, exec_pos, behind if behind != "NULL" else None,
        errors.get("io_errno", 0), errors.get("io_error", ""), errors.get("sql_errno", 0), errors.get("sql_error", ""),
    ]  # fmt: skip
    return tsv(names, row)


MASTER_STATUS = tsv(["File", "Position", "Binlog_Do_DB", "Binlog_Ignore_DB"], ["mysql-bin.000001", 1000, "", ""])


@pytest.fixture
def lab(fake_lab: Any) -> Any:
    """The conftest's fake lab, given the mysql lab's hosts."""
    for name in ("master", "slave1", "slave2", "writer"):
        t = FakeTransport()
        fake_lab.transports[name] = t
        fake_lab._hosts[name] = Host(name, f"{fake_lab.project}-{name}-1", t)
    fake_lab._facts.update({"db": "shop", "engine": "mariadb-10.11", "master_ip": "10.9.0.10"})
    return fake_lab


@pytest.fixture
def run(lab: Any) -> ScenarioRun:
    return ScenarioRun("mysql/x", lab)


# what each canned reply answers: a piece of the SQL the judges send
SQL_OF = {
    "information_schema_COLUMNS": "information_schema.COLUMNS",
    "FROM_shop_documents": "FROM shop.documents",
    "percona_checksums": "FROM percona.checksums",
}


def answer(lab: Any, host: str, **replies: Reply) -> None:
    lab.transports[host].replies.update({SQL_OF.get(k, k.replace("_", " ")): v for k, v in replies.items()})


# -- parsing ---------------------------------------------------------------------------------------------------


def test_batch_output_is_read_by_column_name_with_escapes_and_nulls() -> None:
    rows = db.parse_batch("a\tb\tc\nx\\ty\tNULL\tline\\nnext\n")
    assert rows == [{"a": "x\ty", "b": None, "c": "line\nnext"}]


def test_mysql8_status_columns_are_read_under_the_old_names() -> None:
    row = db.canonical({"Replica_IO_Running": "Yes", "Exec_Source_Log_Pos": "4", "Relay_Source_Log_File": "b.1"})
    assert row == {"Slave_IO_Running": "Yes", "Exec_Master_Log_Pos": "4", "Relay_Master_Log_File": "b.1"}


def test_writer_log_becomes_operations() -> None:
    ops = parse_writes(
        "1700000000.5\tok\tdocuments\tw000000000000003\t20001\n"
        "1700000000.6\terr\t-\t-\t4\t(2013, 'Lost connection')\n"
        "1700000000.7\tok\taccounts\t17\t5\n"
        "1700000000.8\tok\tdocu"  # cut short while the writer writes it
    )
    assert [(o.t, o.ok) for o in ops] == [(1700000000.5, True), (1700000000.6, False), (1700000000.7, True)]
    assert as_write(ops[2]).table == "accounts" and as_write(ops[2]).value == "5"
    assert "Lost connection" in ops[1].value


# -- SlaveReplicating ------------------------------------------------------------------------------------------


def test_slave_replicating_passes_with_both_threads_running(lab: Any, run: ScenarioRun) -> None:
    answer(lab, "slave1", SHOW_SLAVE_STATUS=slave_status())
    assert SlaveReplicating("slave1").evaluate(run.view).verdict == Verdict.PASS


def test_slave_replicating_fails_naming_io_error_1236(lab: Any, run: ScenarioRun) -> None:
    err = "Got fatal error 1236 from master when reading data from binary log: 'Could not find first log file name'"
    answer(lab, "slave1", SHOW_SLAVE_STATUS=slave_status(io="No", behind="NULL", io_errno=1236, io_error=err))
    r = SlaveReplicating("slave1").evaluate(run.view)
    assert r.verdict == Verdict.FAIL
    assert r.evidence["last_io_errno"] == 1236 and "1236" in r.detail and "first log file" in r.detail


def test_slave_replicating_fails_when_the_host_is_not_a_slave(lab: Any, run: ScenarioRun) -> None:
    answer(lab, "slave1", SHOW_SLAVE_STATUS=(0, ""))
    assert SlaveReplicating("slave1").evaluate(run.view).verdict == Verdict.FAIL


# -- LagReachesZero --------------------------------------------------------------------------------------------


def test_lag_reaches_zero_when_every_slave_applied_the_masters_position(lab: Any, run: ScenarioRun) -> None:
    answer(lab, "master", SHOW_MASTER_STATUS=MASTER_STATUS)
    for s in ("slave1", "slave2"):
        answer(lab, s, SHOW_SLAVE_STATUS=slave_status(exec_pos=1000))
    r = LagReachesZero(within_s=1).evaluate(run.view)
    assert r.verdict == Verdict.PASS and "lag_s" in r.evidence


def test_lag_fails_at_once_for_a_slave_stopped_on_an_error(lab: Any, run: ScenarioRun) -> None:
    answer(lab, "master", SHOW_MASTER_STATUS=MASTER_STATUS)
    answer(lab, "slave1", SHOW_SLAVE_STATUS=slave_status(exec_pos=1000))
    dup = "Duplicate entry '20001' for key 'PRIMARY'"
    answer(
        lab,
        "slave2",
        SHOW_SLAVE_STATUS=slave_status(sql="No", exec_pos=400, behind="NULL", sql_errno=1062, sql_error=dup),
    )
    r = LagReachesZero(within_s=30).evaluate(run.view)
    assert r.verdict == Verdict.FAIL and "slave2" in r.detail and "1062" in r.detail and "slave1" not in r.detail


# -- SlavesMatchMaster -----------------------------------------------------------------------------------------

SHAPE = tsv(
    ["tbl", "col", "nullable", "pk"],
    ["accounts", "id", "NO", 1],
    ["accounts", "balance", "NO", None],
    ["accounts", "note", "YES", None],
)


def chunks(*rows: tuple[int, int, str]) -> tuple[int, str]:
    return tsv(["tbl", "chunk", "cnt", "crc"], *[["accounts", *r] for r in rows])


def test_the_checksum_query_is_pt_table_checksums(lab: Any, run: ScenarioRun) -> None:
    answer(lab, "master", information_schema_COLUMNS=SHAPE)
    [shape] = db.table_shapes(db.Sql(run.host("master")), "shop", ("accounts",))
    assert shape.key == ("id",) and shape.nullable == ("note",)
    assert shape.row_crc() == "CRC32(CONCAT_WS('#', `id`, `balance`, `note`, CONCAT(ISNULL(`note`))))"


def test_a_table_without_primary_key_cannot_be_chunked(lab: Any, run: ScenarioRun) -> None:
    answer(lab, "master", information_schema_COLUMNS=tsv(["tbl", "col", "nullable", "pk"], ["log", "x", "NO", None]))
    r = run.check(SlavesMatchMaster(tables=("log",)))
    assert r.verdict == Verdict.UNKNOWN and "no primary key" in r.detail


def test_slaves_match_master_passes_on_equal_chunks(lab: Any, run: ScenarioRun) -> None:
    same = chunks((0, 1999, "123"), (1, 2000, "456"))
    answer(lab, "master", information_schema_COLUMNS=SHAPE)
    for h in ("master", "slave1", "slave2"):
        answer(lab, h, GROUP_BY_chunk=same)
    r = SlavesMatchMaster(tables=("accounts",)).evaluate(run.view)
    assert r.verdict == Verdict.PASS
    assert r.evidence["rows_compared"] == 2 * 3999 and r.evidence["chunks_differing"] == 0


def test_slaves_match_master_names_the_differing_chunk_and_keys(lab: Any, run: ScenarioRun) -> None:
    rows = tsv(["tbl", "chunk", "k", "crc"], ["accounts", 1, 2000, "11"], ["accounts", 1, 2001, "12"],
               ["accounts", 1, 2002, "13"])  # fmt: skip
    changed = tsv(["tbl", "chunk", "k", "crc"], ["accounts", 1, 2000, "11"], ["accounts", 1, 2001, "99"])
    answer(lab, "master", information_schema_COLUMNS=SHAPE)
    answer(lab, "master", GROUP_BY_chunk=chunks((0, 1999, "1"), (1, 2000, "2")), AS_k=rows)
    answer(lab, "slave1", GROUP_BY_chunk=chunks((0, 1999, "1"), (1, 1999, "7")), AS_k=changed)
    answer(lab, "slave2", GROUP_BY_chunk=chunks((0, 1999, "1"), (1, 2000, "2")))
    r = SlavesMatchMaster(tables=("accounts",)).evaluate(run.view)
    assert r.verdict == Verdict.FAIL and r.evidence["chunks_differing"] == 1
    d = r.evidence["differences"][0]
    assert (d["slave"], d["table"], d["chunk"], d["range"]) == ("slave1", "accounts", 1, "id 2000..3999")
    assert d["missing"] == ["2002"] and d["changed"] == ["2001"] and d["extra"] == []
    assert "slave1 accounts chunk 1" in r.detail and "2001" in r.detail


# -- DifferingRowsAre ------------------------------------------------------------------------------------------

MASTER_ROWS = tsv(["tbl", "chunk", "k", "crc"], ["accounts", 1, 2000, "11"], ["accounts", 1, 2001, "12"],
                  ["accounts", 1, 2002, "13"])  # fmt: skip


def slave1_rows(lab: Any, *rows: tuple[int, str]) -> None:
    """slave1's chunk 1 (its checksum differs from the master's) holding these (key, row checksum)."""
    answer(lab, "master", information_schema_COLUMNS=SHAPE)
    answer(lab, "master", GROUP_BY_chunk=chunks((0, 1999, "1"), (1, 3, "2")), AS_k=MASTER_ROWS)
    answer(lab, "slave1", GROUP_BY_chunk=chunks((0, 1999, "1"), (1, len(rows), "7")))
    answer(lab, "slave1", AS_k=tsv(["tbl", "chunk", "k", "crc"], *[["accounts", 1, k, c] for k, c in rows]))


def test_differing_rows_are_passes_when_exactly_the_named_rows_changed(lab: Any, run: ScenarioRun) -> None:
    slave1_rows(lab, (2000, "11"), (2001, "99"), (2002, "13"))
    r = DifferingRowsAre("slave1", {("accounts", "2001")}, tables=("accounts",)).evaluate(run.view)
    assert r.verdict == Verdict.PASS and "exactly accounts 2001 (changed)" in r.detail
    assert lab.transports["slave2"].commands == []  # only the slave it judges is read


def test_differing_rows_are_fails_naming_a_row_that_also_differs(lab: Any, run: ScenarioRun) -> None:
    slave1_rows(lab, (2000, "11"), (2001, "99"))
    r = DifferingRowsAre("slave1", {("accounts", "2001")}, tables=("accounts",)).evaluate(run.view)
    assert r.verdict == Verdict.FAIL and "also: accounts 2002 (missing)" in r.detail
    assert r.evidence["unexpected"] == 1 and r.evidence["unseen"] == 0


def test_differing_rows_are_fails_when_the_named_rows_equal_the_masters(lab: Any, run: ScenarioRun) -> None:
    answer(lab, "master", information_schema_COLUMNS=SHAPE)
    same = chunks((0, 1999, "1"), (1, 3, "2"))
    answer(lab, "master", GROUP_BY_chunk=same)
    answer(lab, "slave1", GROUP_BY_chunk=same)
    changed = {("accounts", "2001"), ("documents", "4321")}
    r = DifferingRowsAre("slave1", changed, tables=("accounts",), when="rebuilt").evaluate(run.view)
    assert r.verdict == Verdict.FAIL and r.name == "DifferingRowsAre[slave1]@rebuilt"
    assert "not found: accounts 2001 (changed), documents 4321 (changed)" in r.detail


# -- SlaveStoppedOnError ---------------------------------------------------------------------------------------

ERR_1236 = "Got fatal error 1236 from master when reading data from binary log: 'Could not find first log file name'"


def test_slave_stopped_on_error_passes_on_the_named_error_with_its_message(lab: Any, run: ScenarioRun) -> None:
    answer(lab, "slave1", SHOW_SLAVE_STATUS=slave_status(io="No", behind="NULL", io_errno=1236, io_error=ERR_1236))
    r = SlaveStoppedOnError("slave1", "IO", 1236).evaluate(run.view)
    assert r.verdict == Verdict.PASS and "Last_IO_Errno 1236: Got fatal error 1236" in r.detail
    assert r.evidence["errno"] == 1236 and r.name == "SlaveStoppedOnError[slave1, IO 1236]"


def test_slave_stopped_on_error_fails_on_a_slave_that_replicates(lab: Any, run: ScenarioRun) -> None:
    answer(lab, "slave2", SHOW_SLAVE_STATUS=slave_status())
    r = SlaveStoppedOnError("slave2", "IO", 1236).evaluate(run.view)
    assert r.verdict == Verdict.FAIL and "IO thread running, Last_IO_Errno 0" in r.detail


def test_slave_stopped_on_error_fails_on_another_error(lab: Any, run: ScenarioRun) -> None:
    dup = "Could not execute Write_rows_v1 event on table shop.documents; Duplicate entry 'w7' for key 'token'"
    answer(lab, "slave1", SHOW_SLAVE_STATUS=slave_status(sql="No", behind="NULL", sql_errno=1062, sql_error=dup))
    assert SlaveStoppedOnError("slave1", "SQL", 1062).evaluate(run.view).verdict == Verdict.PASS
    r = SlaveStoppedOnError("slave1", "SQL", 1032).evaluate(run.view)
    assert r.verdict == Verdict.FAIL and "1062: Could not execute" in r.detail and "expected" in r.detail


def test_slave_stopped_on_error_fails_on_a_host_that_is_not_a_slave(lab: Any, run: ScenarioRun) -> None:
    answer(lab, "slave1", SHOW_SLAVE_STATUS=(0, ""))
    assert SlaveStoppedOnError("slave1", "SQL", 1062).evaluate(run.view).verdict == Verdict.FAIL


# -- AckedWritesOnEverySlave -----------------------------------------------------------------------------------

WRITES = [
    Op(1.0, True, "documents w000000000000003 20001"),
    Op(1.1, True, "order_lines 1000001,1 2"),
    Op(1.2, True, "accounts 17 5"),
    Op(1.3, True, "accounts 17 8"),
    Op(1.4, False, "- - 9 (2013, 'Lost connection')"),
]


def slave_writes(lab: Any, host: str, docs: int = 1, orders: int = 1, version: int = 8) -> None:
    rows: list[list[object]] = [["accounts", 17, version]]
    if docs:
        rows.append(["documents", "w000000000000003", docs])
    if orders:
        rows.append(["order_lines", 1000001, orders])
    answer(lab, host, FROM_shop_documents=tsv(["tbl", "k", "n"], *rows))


def test_acked_writes_on_every_slave_passes_when_each_is_there_once(lab: Any, run: ScenarioRun) -> None:
    run.ops["MysqlWriter"] = WRITES
    slave_writes(lab, "slave1")
    slave_writes(lab, "slave2", version=9)  # the unacknowledged write committed after all: not a loss
    r = AckedWritesOnEverySlave().evaluate(run.view)
    assert r.verdict == Verdict.PASS and r.evidence["acked"] == 4 and r.evidence["lost"] == 0


def test_acked_writes_lost_or_doubled_fail(lab: Any, run: ScenarioRun) -> None:
    run.ops["MysqlWriter"] = WRITES
    slave_writes(lab, "slave1", docs=0, version=5)
    slave_writes(lab, "slave2", orders=2)
    r = AckedWritesOnEverySlave().evaluate(run.view)
    assert r.verdict == Verdict.FAIL
    assert r.evidence["lost"] == 2 and r.evidence["doubled"] == 1
    assert "slave1: 2 lost" in r.detail and "slave2: 0 lost, 1 doubled" in r.detail


def test_acked_writes_unknown_without_the_writers_record(run: ScenarioRun) -> None:
    assert AckedWritesOnEverySlave().evaluate(run.view).verdict == Verdict.UNKNOWN


def test_an_unknown_engine_is_a_clear_error(lab: Any) -> None:
    with pytest.raises(UsageError, match="no SQL dialect for the engine 'oracle'"):
        db.Sql(lab.host("master"), "oracle")


def test_mysql8_dialect_speaks_the_new_statements(lab: Any) -> None:
    answer(lab, "slave1", SHOW_REPLICA_STATUS=tsv(["Replica_IO_Running", "Replica_SQL_Running"], ["Yes", "No"]))
    st = db.Sql(lab.host("slave1"), "mysql8").slave_status()
    assert st == {"Slave_IO_Running": "Yes", "Slave_SQL_Running": "No"}
    assert lab.transports["slave1"].commands[-1].startswith("mysql --batch -e 'SHOW REPLICA STATUS'")


def test_replication_without_errors_holds_for_a_stopped_slave_and_fails_on_an_errored_one(
    lab: Any, run: ScenarioRun
) -> None:
    from scenarios.mysql.checks import ReplicationWithoutErrors

    lab.transports["slave1"].replies["SLAVE STATUS"] = slave_status(io="No", sql="No")  # STOP SLAVE on purpose
    lab.transports["slave2"].replies["SLAVE STATUS"] = slave_status()
    assert ReplicationWithoutErrors().evaluate(run.view).verdict == Verdict.PASS
    lab.transports["slave1"].replies["SLAVE STATUS"] = slave_status(
        io="No", io_errno=1236, io_error="Could not find first log file name in binary log index file"
    )
    r = ReplicationWithoutErrors().evaluate(run.view)
    assert r.verdict == Verdict.FAIL and "slave1: IO error 1236" in r.detail


# -- the engines ------------------------------------------------------------------------------------------------


def test_each_engine_names_its_programs_words_and_suite() -> None:
    from scenarios.mysql.dialect import DIALECTS, RUNNABLE, compose_env, procedure_facts

    assert RUNNABLE == ("mariadb-10.11", "mariadb-11.8")
    assert compose_env("mariadb-11.8") == {"MYSQL_SUITE": "trixie"}
    assert procedure_facts("mariadb-11.8") == {"mysql": "mariadb", "mysqldump": "mariadb-dump"}
    assert procedure_facts("mariadb-10.11") == {"mysql": "mysql", "mysqldump": "mysqldump"}
    assert DIALECTS["mariadb-11.8"].show_slave_status == "SHOW REPLICA STATUS"
    assert DIALECTS["mysql8"].suite is None and DIALECTS["mysql8"].change_master == "CHANGE REPLICATION SOURCE TO"


def test_mariadb_11_8_is_asked_in_the_replica_words_and_read_under_the_old_columns(lab: Any) -> None:
    answer(lab, "slave1", SHOW_REPLICA_STATUS=slave_status())
    st = db.Sql(lab.host("slave1"), "mariadb-11.8").slave_status()
    assert st is not None and st["Slave_SQL_Running"] == "Yes" and st["Exec_Master_Log_Pos"] == "1000"
    assert lab.transports["slave1"].commands[-1].startswith("mariadb --batch -e 'SHOW REPLICA STATUS'")


# -- where replication began -------------------------------------------------------------------------------------
LOG_FILE_START = (
    "2026-12-02  8:47:35 6 [Note] Slave I/O thread: connected to master 'repl@10.9.0.10:3306',"
    "replication started in log 'mysql-bin.000001' at position 4\n"
)
LOG_GTID_START = (
    "2026-12-02  8:52:01 9 [Note] Slave I/O thread: connected to master 'repl@10.9.0.10:3306',"
    "replication starts at GTID position '0-1-812'\n"
)


LOG_SAME_ID = (
    "2026-12-02  9:10:16 6 [ERROR] Error reading packet from server: A slave with the same server_uuid/server_id is"
    " already connected; the first event 'mysql-bin.000001' at 110117 (server_errno=4052)\n"
    "2026-12-02  9:10:16 6 [Note] Slave I/O thread: Failed reading log event, reconnecting to retry, log"
    " 'mysql-bin.000001' at position 110117\n"
)

LOG_SAME_ID_11_8 = (
    "2026-12-02  9:16:08 6 [ERROR] Error reading packet from server: A slave with the same server_id is already"
    " connected; the first event 'mysql-bin.000001' at 4, the last event read from 'mysql-bin.000001' at 90827,"
    " the last byte read from 'mysql-bin.000001' at 90858. (server_errno=4052)\n"
)


def test_the_last_start_in_the_servers_log_is_where_replication_began() -> None:
    from scenarios.mysql.checks import last_start

    assert last_start("nothing\n") is None
    assert last_start(LOG_FILE_START) == ("file", "mysql-bin.000001:4")
    assert last_start(LOG_FILE_START + LOG_GTID_START) == ("gtid", "0-1-812")
    assert last_start(LOG_GTID_START + LOG_FILE_START) == ("file", "mysql-bin.000001:4")


def test_a_start_at_the_dump_passes_and_an_old_gtid_says_how_much_is_fetched_again() -> None:
    from scenarios.mysql.checks import gtid_seqs, judge_start

    assert gtid_seqs("0-1-812,1-3-5") == {"0": 812, "1": 5}
    ok, detail, _ = judge_start(("file", "mysql-bin.000001:5000"), "mysql-bin.000001:5000", "0-1-900")
    assert ok and "ends at mysql-bin.000001:5000" in detail
    ok, _, _ = judge_start(("file", "mysql-bin.000001:4"), "mysql-bin.000001:5000", "0-1-900")
    assert not ok
    ok, detail, _ = judge_start(("gtid", "0-1-900"), "mysql-bin.000001:5000", "0-1-900")
    assert ok
    ok, detail, ev = judge_start(("gtid", "0-1-812"), "mysql-bin.000001:5000", "0-1-900")
    assert not ok and ev["transactions_again"] == 88 and "88 transaction(s) the dump holds are fetched again" in detail
    ok, detail, ev = judge_start(("gtid", "0-1-950"), "", "0-1-900")
    assert not ok and ev["transactions_skipped"] == 50
    ok, detail, _ = judge_start(None, "mysql-bin.000001:5000", "0-1-900")
    assert not ok and "never connected" in detail


# -- pt-table-checksum's results -------------------------------------------------------------------------------
def chunk(tbl: str, n: int, cnt: int = 2000, crc: str = "ab12", master: tuple[int, str] | None = None) -> db.Row:
    mc, mcrc = master or (cnt, crc)
    return {"db": "shop", "tbl": tbl, "chunk": str(n), "lower_boundary": str(n * 10), "upper_boundary": str(n * 10 + 9),
            "this_cnt": str(cnt), "this_crc": crc, "master_cnt": str(mc), "master_crc": mcrc}  # fmt: skip


def test_live_checksums_agree_only_when_every_chunk_was_applied_alike() -> None:
    from scenarios.mysql.checks import checksum_differences

    master = [chunk("accounts", 1), chunk("accounts", 2)]
    assert checksum_differences(master, [chunk("accounts", 1), chunk("accounts", 2)]) == []
    differs = checksum_differences(master, [chunk("accounts", 1), chunk("accounts", 2, 1999, "ff00", (2000, "ab12"))])
    assert differs == ["accounts chunk 2 (20..29): 1999 rows crc ff00, master 2000 rows crc ab12"]
    assert checksum_differences(master, [chunk("accounts", 1)]) == ["accounts chunk 2 (20..29) not applied"]
    assert checksum_differences(master, None) == ["accounts chunk 1 not applied", "accounts chunk 2 not applied"]


def test_live_checksums_agree_judges_every_slave(lab: Any, run: ScenarioRun) -> None:
    from scenarios.mysql.checks import LiveChecksumsAgree

    names = list(chunk("accounts", 1))
    master = tsv(names, list(chunk("accounts", 1).values()))
    answer(lab, "master", percona_checksums=master, SHOW_MASTER_STATUS=MASTER_STATUS)
    answer(lab, "slave1", percona_checksums=master, SLAVE_STATUS=slave_status())
    bad = tsv(names, list(chunk("accounts", 1, 1, "0", (2000, "ab12")).values()))
    answer(lab, "slave2", percona_checksums=bad, SLAVE_STATUS=slave_status())
    r = LiveChecksumsAgree(within_s=1).evaluate(run.view)
    assert r.verdict == Verdict.FAIL and "slave2: 1 of 1 chunk(s): accounts chunk 1 (10..19): 1 rows" in r.detail
    answer(lab, "slave2", percona_checksums=master)
    assert LiveChecksumsAgree(within_s=1).evaluate(run.view).verdict == Verdict.PASS


# -- the seed's steps and its dump ------------------------------------------------------------------------------
TABLE_LIST_DUMP = """-- MariaDB dump 10.19  Distrib 10.11.14-MariaDB
DROP TABLE IF EXISTS `accounts`;
CREATE TABLE `accounts` (id int);
INSERT INTO `accounts` VALUES (1);
-- Dump completed on 2026-12-02  8:50:00
"""
DATABASES_DUMP = """-- MariaDB dump
/*!40000 DROP DATABASE IF EXISTS `shop`*/;
DROP DATABASE IF EXISTS `shop`;
CREATE DATABASE /*!32312 IF NOT EXISTS*/ `shop`;
USE `shop`;
DROP TABLE IF EXISTS `accounts`;
CREATE TABLE `accounts` (id int);
-- Dump completed on 2026-12-02  8:50:00
"""


def test_a_table_list_dump_does_not_recreate_its_database(lab: Any, run: ScenarioRun) -> None:
    from scenarios.mysql.checks import DumpRecreatesDatabase

    lab.transports["slave1"].replies["/root/masterdump.sql"] = (0, "180\n" + TABLE_LIST_DUMP)
    r = DumpRecreatesDatabase("slave1", "/root/masterdump.sql").evaluate(run.view)
    assert r.verdict == Verdict.FAIL and "no drop_database, create_database, use" in r.detail
    assert r.evidence["statements"]["drop_table"] == 1 and r.evidence["completed"] and r.evidence["bytes"] == 180
    lab.transports["slave1"].replies["/root/masterdump.sql"] = (0, "250\n" + DATABASES_DUMP)
    assert DumpRecreatesDatabase("slave1", "/root/masterdump.sql").evaluate(run.view).verdict == Verdict.PASS
    lab.transports["slave1"].replies["/root/masterdump.sql"] = (0, "200\n" + DATABASES_DUMP.rsplit("--", 1)[0])
    r = DumpRecreatesDatabase("slave1", "/root/masterdump.sql").evaluate(run.view)
    assert r.verdict == Verdict.FAIL and "NOT completed" in r.detail


def test_step_failed_with_reads_the_steps_outcome(run: ScenarioRun) -> None:
    from lab.checks import StepFailedWith
    from lab.scenario import StepRecord

    err = "ERROR 1064 (42000) at line 1: You have an error in your SQL syntax ... near 'SLAVE STOP' at line 1"
    run.steps.append(StepRecord("slave1", 'mysql -e "SLAVE STOP;"', "mysql> SLAVE STOP;", 1, False, 0, 0.1, "", err))
    r = StepFailedWith("SLAVE STOP;", "ERROR 1064").evaluate(run.view)
    assert r.verdict == Verdict.PASS and "ERROR 1064" in r.detail
    assert StepFailedWith("SLAVE STOP;", "ERROR 1049").evaluate(run.view).verdict == Verdict.FAIL
    assert StepFailedWith("SLAVE START;", "ERROR 1064").evaluate(run.view).verdict == Verdict.FAIL  # never ran
    run.steps.append(StepRecord("slave1", 'mysql -e "STOP SLAVE"', "STOP SLAVE", 0, True, 0, 0.1, "", ""))
    assert StepFailedWith("STOP SLAVE", "ERROR").evaluate(run.view).verdict == Verdict.FAIL  # it succeeded


# -- the failure modes ------------------------------------------------------------------------------------------
def test_slaves_registered_once_names_a_shared_server_id_and_counts_the_turns(lab: Any, run: ScenarioRun) -> None:
    from scenarios.mysql.checks import SlavesRegisteredOnce

    for host, server_id in (("master", 1), ("slave1", 2), ("slave2", 3)):
        lab.transports[host].replies["@@GLOBAL.server_id"] = tsv(["v"], [server_id])
    hosts = tsv(["Server_id", "Host", "Port", "Master_id"], [2, "", 3306, 1], [3, "", 3306, 1])
    answer(lab, "master", SHOW_SLAVE_HOSTS=hosts)
    r = SlavesRegisteredOnce().evaluate(run.view)
    assert r.verdict == Verdict.PASS and r.evidence["connections"] == {"slave1": 0, "slave2": 0}
    lab.host_logs.update({"slave1": LOG_SAME_ID * 3, "slave2": LOG_SAME_ID_11_8})
    lab.transports["slave2"].replies["@@GLOBAL.server_id"] = tsv(["v"], [2])
    answer(lab, "master", SHOW_SLAVE_HOSTS=tsv(["Server_id", "Host", "Port", "Master_id"], [2, "", 3306, 1]))
    r = SlavesRegisteredOnce().evaluate(run.view)
    assert r.verdict == Verdict.FAIL and "server-id 2 held by slave1 and slave2" in r.detail
    assert r.evidence["connections"] == {"slave1": 3, "slave2": 0}
    assert r.evidence["refused_same_id"] == {"slave1": 3, "slave2": 1}


def test_slaves_read_only(lab: Any, run: ScenarioRun) -> None:
    from scenarios.mysql.checks import SlavesReadOnly

    lab.transports["slave1"].replies["@@GLOBAL.read_only"] = tsv(["v"], [1])
    lab.transports["slave2"].replies["@@GLOBAL.read_only"] = tsv(["v"], [0])
    r = SlavesReadOnly().evaluate(run.view)
    assert r.verdict == Verdict.FAIL and r.detail.startswith("writable: slave2;")
    assert SlavesReadOnly(slaves=("slave1",)).evaluate(run.view).verdict == Verdict.PASS


def test_master_user_may_replicate_reads_the_accounts_grants_on_the_master(lab: Any, run: ScenarioRun) -> None:
    from scenarios.mysql.checks import MasterUserMayReplicate

    answer(lab, "slave1", SLAVE_STATUS=tsv(["Master_User", "Slave_IO_Running"], ["app", "No"]))
    grants = tsv(
        ["Grants for app@%"], ["GRANT USAGE ON *.* TO `app`@`%`"], ["GRANT ALL PRIVILEGES ON `shop`.* TO `app`@`%`"]
    )
    answer(lab, "master", SHOW_GRANTS=grants)
    r = MasterUserMayReplicate("slave1").evaluate(run.view)
    assert r.verdict == Verdict.FAIL and "slave1 connects as app" in r.detail
    answer(
        lab,
        "master",
        SHOW_GRANTS=tsv(["Grants for repl@%"], ["GRANT REPLICATION SLAVE, REPLICATION CLIENT ON *.* TO `repl`@`%`"]),
    )
    assert MasterUserMayReplicate("slave1").evaluate(run.view).verdict == Verdict.PASS
