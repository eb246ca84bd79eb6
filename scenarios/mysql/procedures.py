"""The mysql lab's procedures, as an engineer types them (the runbook's SQL through the `mysql` client).

The engineer works on the slave being rebuilt (slave1) and reaches the master or the healthy slave with
`mysql -h`; the root account's password is in ~/.my.cnf on every host. What a step records (File and Position,
SHOW SLAVE STATUS) goes to a file on slave1 which the CHANGE MASTER step reads back, where an engineer would copy
the numbers by hand.

The lock of FLUSH TABLES WITH READ LOCK lives as long as its session: `rebuild_from_master` keeps that session
open in the background (a `mysql` client reading a FIFO held open by `sleep`, its output in a file), sends the
lock and SHOW MASTER STATUS into it, dumps in another session, then sends UNLOCK TABLES and closes it.
The dump runs with `--skip-lock-tables`: the global read lock already holds every table still, and
mysqldump's own `LOCK TABLES ... READ` would hang behind the writer (the lab found it): on MariaDB ≥ 10.4 a write
waiting for the global lock already holds its table's metadata lock, so LOCK TABLES waits for the write, which
waits for UNLOCK TABLES, which waits for the dump. `rebuild_lock_released_early` is the classic mistake:
`mysql -e "FLUSH TABLES WITH READ LOCK; SHOW MASTER STATUS"`
exits at once, and the lock with it, long before the dump starts.

`rebuild_with_gtid` is the modern runbook (MariaDB GTID): one `--single-transaction --master-data=2 --gtid` dump
(its GTID position written in it as `SET GLOBAL gtid_slave_pos`), loaded, that position set on the slave, and
`CHANGE MASTER TO ... master_use_gtid=slave_pos`: no lock held by hand, no coordinates copied.
`rebuild_gtid_trap` is the old runbook finished the short way: after the dump is loaded, `CHANGE MASTER TO` names
the host and account only. Since MariaDB 10.10 that means `master_use_gtid=slave_pos`, and the slave's
gtid_slave_pos is still where it stopped before the rebuild, long before the dump.

Broken variants of the runbook, kept as procedures so a scenario shows their damage:
`rebuild_lock_released_early`, `rebuild_with_read_pos` (Master_Log_File/Read_Master_Log_Pos: what the slave had
fetched, not what it had applied), `rebuild_wrong_binlog_file` (a file name the master does not have).
"""

from lab.procedure import Procedure, Step

SESSION = "/tmp/lock-session"  # the FIFO; its output in /tmp/lock-session.out, the sleep's pid in .pid
DUMP = "/tmp/dump.sql"
SLAVE2_STATUS = "/tmp/slave2-status.txt"
# read-only checks of the state a step leaves (rehearse runs them after a person did the step by hand)
RECORDED = f"grep -Eq -- '-bin\\.[0-9]+[[:space:]]+[0-9]+' {SESSION}.out"
DUMPED = f"tail -1 {DUMP} | grep -q 'Dump completed'"


def sql_thread(state: str) -> str:
    return f"{{mysql}} -e 'SHOW SLAVE STATUS\\G' | grep -q 'Slave_SQL_Running: {state}$'"


OPEN_SESSION = Step(
    "slave1",
    f"rm -f {SESSION} {SESSION}.out && mkfifo {SESSION}"
    f" && ({{mysql}} -h {{master_ip}} -N --unbuffered < {SESSION} > {SESSION}.out 2>&1 &)"
    f" && (sleep 3600 > {SESSION} 2>/dev/null < /dev/null & echo $! > {SESSION}.pid)",
    "open a session to the master and keep it open (a mysql client reading a FIFO)",
    verify=f"test -p {SESSION} && kill -0 $(cat {SESSION}.pid)",
)
LOCK_IN_SESSION = Step(
    "slave1",
    f'echo "FLUSH TABLES WITH READ LOCK; SHOW MASTER STATUS;" > {SESSION}'
    f" && timeout 60 sh -c 'until grep -q bin {SESSION}.out; do sleep 0.05; done' && cat {SESSION}.out",
    "in that session: FLUSH TABLES WITH READ LOCK; SHOW MASTER STATUS (record File and Position)",
    expect_output=r"-bin\.\d+\s+\d+",
    verify=RECORDED,
)
LOCK_AND_EXIT = Step(
    "slave1",
    f'{{mysql}} -h {{master_ip}} -N -e "FLUSH TABLES WITH READ LOCK; SHOW MASTER STATUS" > {SESSION}.out'
    f" && cat {SESSION}.out",
    "FLUSH TABLES WITH READ LOCK; SHOW MASTER STATUS in a client that exits at once (the lock goes with it)",
    expect_output=r"-bin\.\d+\s+\d+",
    verify=RECORDED,
)
DUMP_MASTER = Step(
    "slave1",
    f"{{mysqldump}} -h {{master_ip}} --skip-lock-tables --databases {{db}} > {DUMP}",
    "dump the master in another session while the lock is held",
    verify=DUMPED,
)
UNLOCK_AND_CLOSE = Step(
    "slave1",
    f'echo "UNLOCK TABLES;" > {SESSION} && kill $(cat {SESSION}.pid)',
    "in the held session: UNLOCK TABLES, then close it",
    verify=f"! kill -0 $(cat {SESSION}.pid) 2>/dev/null",
)
UNLOCK_NEW_SESSION = Step(
    "slave1", '{mysql} -h {master_ip} -e "UNLOCK TABLES"', "UNLOCK TABLES (in a new session: there is no lock left)"
)
RESET_SLAVE = Step(
    "slave1", '{mysql} -e "STOP SLAVE; RESET SLAVE;"', "on the slave: STOP SLAVE; RESET SLAVE", verify=sql_thread("No")
)
LOAD_DUMP = Step(
    "slave1",
    f"{{mysql}} < {DUMP}",
    "load the dump on the slave",
    verify='{mysql} -N -e "SHOW TABLES FROM {db}" | grep -q .',
)


def change_master(file: str, pos: str, title: str) -> Step:
    return Step(
        "slave1",
        "{mysql} -e \"CHANGE MASTER TO master_host='{master_ip}', master_user='{repl_user}',"
        f" master_password='{{repl_password}}', master_log_file='{file}', master_log_pos={pos}; START SLAVE;\"",
        title,
        verify=sql_thread("Yes") + " && {mysql} -e 'SHOW SLAVE STATUS\\G' | grep -q 'Master_Host: {master_ip}$'",
    )


CHANGE_MASTER_RECORDED = change_master(
    f"$(cut -f1 {SESSION}.out)",
    f"$(cut -f2 {SESSION}.out)",
    "point the slave at the master at the recorded File and Position; START SLAVE",
)
CHANGE_MASTER_WRONG_FILE = change_master(
    "mysql-bin.00001",
    f"$(cut -f2 {SESSION}.out)",
    "point the slave at the master, the file name mistyped (mysql-bin.00001); START SLAVE",
)


def from_slave2_status(file_field: str, pos_field: str, title: str) -> Step:
    return change_master(
        f"$(awk '/^ *{file_field}:/ {{{{print $2}}}}' {SLAVE2_STATUS})",
        f"$(awk '/^ *{pos_field}:/ {{{{print $2}}}}' {SLAVE2_STATUS})",
        title,
    )


STOP_SLAVE2 = Step("slave2", '{mysql} -e "STOP SLAVE"', "on the healthy slave: STOP SLAVE", verify=sql_thread("No"))
RECORD_SLAVE2 = Step(
    "slave1",
    f'{{mysql}} -h {{slave2_ip}} -e "SHOW SLAVE STATUS\\G" > {SLAVE2_STATUS} && cat {SLAVE2_STATUS}',
    "record the healthy slave's SHOW SLAVE STATUS",
    expect_output="Exec_Master_Log_Pos",
    verify=f"grep -q Exec_Master_Log_Pos {SLAVE2_STATUS}",
)
DUMP_SLAVE2 = Step(
    "slave1",
    f"{{mysqldump}} -h {{slave2_ip}} --databases {{db}} > {DUMP}",
    "dump the healthy slave (it is stopped)",
    verify=DUMPED,
)
START_SLAVE2 = Step("slave2", '{mysql} -e "START SLAVE"', "on the healthy slave: START SLAVE", verify=sql_thread("Yes"))
CHANGE_MASTER_EXEC = from_slave2_status(
    "Relay_Master_Log_File",
    "Exec_Master_Log_Pos",
    "point the slave at the master at Relay_Master_Log_File / Exec_Master_Log_Pos (what was applied); START SLAVE",
)
CHANGE_MASTER_READ = from_slave2_status(
    "Master_Log_File",
    "Read_Master_Log_Pos",
    "point the slave at the master at Master_Log_File / Read_Master_Log_Pos (what was fetched); START SLAVE",
)

# -- GTID (MariaDB): the dump carries its GTID position; the slave starts there with master_use_gtid=slave_pos
GTID_DUMP = "/tmp/gtid-dump.sql"
DUMP_WITH_GTID = Step(
    "slave1",
    f"{{mysqldump}} -h {{master_ip}} --single-transaction --master-data=2 --gtid --databases {{db}} > {GTID_DUMP}",
    "dump the master in one consistent snapshot, its GTID position in the dump (--gtid --master-data=2)",
    verify=f"grep -q gtid_slave_pos {GTID_DUMP} && tail -1 {GTID_DUMP} | grep -q 'Dump completed'",
)
LOAD_GTID_DUMP = Step(
    "slave1",
    f"{{mysql}} < {GTID_DUMP}",
    "load the dump on the slave",
    verify='{mysql} -N -e "SHOW TABLES FROM {db}" | grep -q .',
)
GTID_OF_DUMP = f"$(sed -n \"s/.*gtid_slave_pos='\\([^']*\\)'.*/\\1/p\" {GTID_DUMP} | head -1)"
SET_GTID_SLAVE_POS = Step(
    "slave1",
    f"{{mysql}} -e \"SET GLOBAL gtid_slave_pos = '{GTID_OF_DUMP}'; SELECT @@GLOBAL.gtid_slave_pos\"",
    "SET GLOBAL gtid_slave_pos to the dump's GTID position",
    expect_output=r"\d+-\d+-\d+",
)
CHANGE_MASTER_GTID = Step(
    "slave1",
    "{mysql} -e \"CHANGE MASTER TO master_host='{master_ip}', master_user='{repl_user}',"
    " master_password='{repl_password}', master_use_gtid=slave_pos; START SLAVE;\"",
    "point the slave at the master with master_use_gtid=slave_pos; START SLAVE",
    verify=sql_thread("Yes"),
)
CHANGE_MASTER_HOST_ONLY = Step(
    "slave1",
    "{mysql} -e \"CHANGE MASTER TO master_host='{master_ip}', master_user='{repl_user}',"
    " master_password='{repl_password}'; START SLAVE;\"",
    "point the slave at the master, host and account only (no file, no position); START SLAVE",
)

# -- the seed's runbook, verbatim ------------------------------------------------------------------------------
# The seed, as written (mysql> lines typed in a client on the master, then on the slave):
#   mysql> FLUSH TABLES WITH READ LOCK;
#   mysql> SHOW MASTER STATUS;
#   mysqldump -u root -p --add-drop-database databasename table1 table2 > masterdump.sql
#   mysql> UNLOCK TABLES;
#   scp masterdump.sql slave:
#   (on the slave) mysql> SLAVE STOP;
#   mysql -u root -p databasename < masterdump.sql
#   mysql> CHANGE MASTER TO MASTER_HOST='master', MASTER_USER='repl', MASTER_PASSWORD='...',
#          MASTER_LOG_FILE='<File>', MASTER_LOG_POS=<Position>;
#   mysql> SLAVE START;
# Filled in: the hosts (the master's and slave1's addresses), the passwords, the database and its tables, and
# the coordinates (read back from the master's session output, where the engineer copies them by hand). The
# session on the master is a `mysql` client reading a FIFO (as OPEN_SESSION), the engineer's home is where the
# files are (`cd ~`), and nothing else is changed: the old SLAVE STOP/START words, the table list without
# --databases, mysqldump's own LOCK TABLES.
SEED_SESSION = "/tmp/seed-session"
SEED_COORDINATES = f"ssh {{master_ip}} cat {SEED_SESSION}.out"


def in_seed_session(sql: str, title: str, wait_for: str = "") -> Step:
    wait = (
        f" && timeout 30 sh -c 'until grep -q {wait_for} {SEED_SESSION}.out; do sleep 0.05; done'" if wait_for else ""
    )
    return Step("master", f'echo "{sql}" > {SEED_SESSION}{wait} && cat {SEED_SESSION}.out', f"mysql> {sql}  ({title})")


SEED_STEPS = (
    Step(
        "master",
        f"rm -f {SEED_SESSION} {SEED_SESSION}.out && mkfifo {SEED_SESSION}"
        f" && (mysql -u root -proot -N --unbuffered < {SEED_SESSION} > {SEED_SESSION}.out 2>&1 &)"
        f" && (sleep 3600 > {SEED_SESSION} 2>/dev/null < /dev/null & echo $! > {SEED_SESSION}.pid)",
        "mysql -u root -p  (a client on the master, kept open)",
        verify=f"test -p {SEED_SESSION} && kill -0 $(cat {SEED_SESSION}.pid)",
    ),
    in_seed_session("FLUSH TABLES WITH READ LOCK;", "the seed"),
    in_seed_session("SHOW MASTER STATUS;", "the seed: note File and Position", wait_for="bin"),
    Step(
        "master",
        "cd ~ && mysqldump -u root -proot --add-drop-database {db} accounts order_lines documents > masterdump.sql",
        "mysqldump -u root -p --add-drop-database databasename table1 table2 > masterdump.sql  (the seed)",
        timeout=30,
    ),
    in_seed_session("UNLOCK TABLES;", "the seed"),
    Step("master", "cd ~ && scp masterdump.sql {slave1_ip}:", "scp masterdump.sql slave:  (the seed)"),
    Step("slave1", 'mysql -u root -proot -e "SLAVE STOP;"', "mysql> SLAVE STOP;  (the seed, on the slave)"),
    Step(
        "slave1",
        "cd ~ && mysql -u root -proot {db} < masterdump.sql",
        "mysql -u root -p databasename < masterdump.sql  (the seed)",
    ),
    Step(
        "slave1",
        "mysql -u root -proot -e \"CHANGE MASTER TO MASTER_HOST='{master_ip}', MASTER_USER='{repl_user}',"
        " MASTER_PASSWORD='{repl_password}',"
        f" MASTER_LOG_FILE='$({SEED_COORDINATES} | cut -f1)', MASTER_LOG_POS=$({SEED_COORDINATES} | cut -f2);\"",
        "mysql> CHANGE MASTER TO MASTER_HOST=..., MASTER_LOG_FILE=<File>, MASTER_LOG_POS=<Position>;  (the seed)",
    ),
    Step("slave1", 'mysql -u root -proot -e "SLAVE START;"', "mysql> SLAVE START;  (the seed)"),
    Step("master", f"kill $(cat {SEED_SESSION}.pid)", "quit the client on the master"),
)

FROM_MASTER = (OPEN_SESSION, LOCK_IN_SESSION, DUMP_MASTER, UNLOCK_AND_CLOSE, RESET_SLAVE, LOAD_DUMP)
FROM_SLAVE2 = (STOP_SLAVE2, RECORD_SLAVE2, DUMP_SLAVE2, START_SLAVE2, RESET_SLAVE, LOAD_DUMP)

PROCEDURES = {
    p.name: p
    for p in (
        Procedure(
            "rebuild_from_master",
            "rebuild slave1 from the master: FTWRL held in an open session while the dump runs (the runbook)",
            (*FROM_MASTER, CHANGE_MASTER_RECORDED),
        ),
        Procedure(
            "rebuild_from_slave",
            "rebuild slave1 from slave2: stop it, record Relay_Master_Log_File/Exec_Master_Log_Pos, dump (runbook)",
            (*FROM_SLAVE2, CHANGE_MASTER_EXEC),
        ),
        Procedure(
            "rebuild_lock_released_early",
            "rebuild slave1 from the master with FTWRL in a `mysql -e` that exits before the dump",
            (LOCK_AND_EXIT, DUMP_MASTER, UNLOCK_NEW_SESSION, RESET_SLAVE, LOAD_DUMP, CHANGE_MASTER_RECORDED),
        ),
        Procedure(
            "rebuild_with_read_pos",
            "rebuild slave1 from slave2 at Master_Log_File/Read_Master_Log_Pos instead of Exec_Master_Log_Pos",
            (*FROM_SLAVE2, CHANGE_MASTER_READ),
        ),
        Procedure(
            "rebuild_with_gtid",
            "rebuild slave1 with GTID: mariadb-dump --gtid, SET GLOBAL gtid_slave_pos, master_use_gtid=slave_pos",
            (RESET_SLAVE, DUMP_WITH_GTID, LOAD_GTID_DUMP, SET_GTID_SLAVE_POS, CHANGE_MASTER_GTID),
        ),
        Procedure(
            "rebuild_gtid_trap",
            "rebuild slave1 from the master (FTWRL, dump, load), then CHANGE MASTER TO with the host only",
            (*FROM_MASTER, CHANGE_MASTER_HOST_ONLY),
        ),
        Procedure(
            "seed_runbook",
            "the seed's runbook as written (SLAVE STOP/START, a table-list mysqldump, scp); hosts, numbers filled in",
            SEED_STEPS,
        ),
        Procedure(
            "rebuild_wrong_binlog_file",
            "rebuild slave1 from the master, pointing it at a binary log file the master does not have",
            (*FROM_MASTER, CHANGE_MASTER_WRONG_FILE),
        ),
    )
}
