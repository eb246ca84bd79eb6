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
            "rebuild_wrong_binlog_file",
            "rebuild slave1 from the master, pointing it at a binary log file the master does not have",
            (*FROM_MASTER, CHANGE_MASTER_WRONG_FILE),
        ),
    )
}
