"""Faults of the mysql lab; each heals itself, and a read-only probe (`gone`) says whether it is still in place.

- `SqlThreadStopped`: a slave's SQL thread stops while its IO thread keeps fetching, so what it has read
  (Read_Master_Log_Pos) runs ahead of what it has applied (Exec_Master_Log_Pos): a lagging slave. Gone when the
  SQL thread runs again (Slave_SQL_Running = Yes).
- `RowsChangedBehindReplication`: rows on a slave changed with the binary log off for the session (a fix made
  by hand, a stray script): the "corrupted slave". The heal copies those rows back from the master; gone when
  the slave's rows equal the master's again.
- `DuplicateServerId`: a slave takes another slave's server-id and reconnects. Gone when its id is its own again.

`FAULTS` is the lab's fault library (lab.faults): stop_sql_thread, change_rows_behind_replication.
"""

from __future__ import annotations

from lab.faults import Fault, FaultKind, fault_arg
from lab.scenario import ScenarioRun
from scenarios.mysql import db

NO_BINLOG = "mariadb --init-command='SET sql_log_bin = 0'"


class SqlThreadStopped(Fault):
    def __init__(self, slave: str = "slave2") -> None:
        self.slave = slave

    def describe(self) -> str:
        return f"{self.slave}'s SQL thread stops; its IO thread keeps fetching the master's binlog"

    def invoke(self, run: ScenarioRun) -> None:
        run.host(self.slave).check_output('mariadb -e "STOP SLAVE SQL_THREAD"')

    def heal(self, run: ScenarioRun) -> None:
        # a thread already running is a note, not an error, for START SLAVE: safe after a half-done invoke
        run.host(self.slave).check_output('mariadb -e "START SLAVE SQL_THREAD"')

    def gone(self, run: ScenarioRun) -> tuple[bool, str]:
        st = db.Sql(run.host(self.slave), run.facts.get("engine", db.DEFAULT)).slave_status() or {}
        running = st.get("Slave_SQL_Running")
        error = (
            f"; SQL error {st.get('Last_SQL_Errno')}: {st.get('Last_SQL_Error')}" if st.get("Last_SQL_Error") else ""
        )
        return running == "Yes", f"{self.slave}: Slave_SQL_Running = {running}{error}"


class RowsChangedBehindReplication(Fault):
    """Changes rows of the seed the writer never touches: an account's balance, a document's title."""

    ACCOUNT = 8765
    DOCUMENT = 4321

    def __init__(self, slave: str = "slave2") -> None:
        self.slave = slave

    def describe(self) -> str:
        return (
            f"on {self.slave}, with sql_log_bin=0: accounts {self.ACCOUNT} balance + 100, "
            f"documents {self.DOCUMENT} title set to NULL"
        )

    def invoke(self, run: ScenarioRun) -> None:
        run.host(self.slave).check_output(
            f'{NO_BINLOG} -e "UPDATE {{db}}.accounts SET balance = balance + 100 WHERE id = {self.ACCOUNT};'
            f' UPDATE {{db}}.documents SET title = NULL WHERE id = {self.DOCUMENT}"'.format(db=run.facts["db"])
        )

    def heal(self, run: ScenarioRun) -> None:
        f = run.facts
        h = run.host(self.slave)
        for table, key in (("accounts", self.ACCOUNT), ("documents", self.DOCUMENT)):
            h.check_output(
                f"mariadb-dump -h {f['master_ip']} --no-create-info --replace --skip-triggers --where='id = {key}'"
                f" {f['db']} {table} | {NO_BINLOG} {f['db']}"
            )

    def gone(self, run: ScenarioRun) -> tuple[bool, str]:
        engine, name = run.facts.get("engine", db.DEFAULT), run.facts["db"]
        master, slave = (db.Sql(run.host(h), engine) for h in ("master", self.slave))
        differ = []
        # each row's checksum as the judges compute it (pt-table-checksum's): rows hold binary columns
        for shape in db.table_shapes(master, name, ("accounts", "documents")):
            key = self.ACCOUNT if shape.name == "accounts" else self.DOCUMENT
            query = f"SELECT {shape.row_crc()} AS crc FROM {name}.{db.q(shape.name)} WHERE id = {key}"
            if master.query(query) != slave.query(query):
                differ.append(f"{shape.name} {key}")
        return not differ, f"{self.slave}: " + (
            f"rows still differ from the master's: {', '.join(differ)}" if differ else "the rows equal the master's"
        )


class DuplicateServerId(Fault):
    """`slave` takes `like`'s server-id (a cloned config, a copied my.cnf) and reconnects to the master. The heal
    gives it its own id back and reconnects; gone when its @@server_id is its own again."""

    def __init__(self, slave: str = "slave2", like: str = "slave1") -> None:
        self.slave = slave
        self.like = like
        self.own: str | None = None

    def describe(self) -> str:
        return f"{self.slave} gets {self.like}'s server-id (SET GLOBAL server_id) and reconnects to the master"

    def _sql(self, run: ScenarioRun, host: str) -> db.Sql:
        return db.Sql(run.host(host), run.facts.get("engine", db.DEFAULT))

    def invoke(self, run: ScenarioRun) -> None:
        self.own = str(self._sql(run, self.slave).variable("server_id"))
        theirs = str(self._sql(run, self.like).variable("server_id"))
        run.host(self.slave).check_output(f'mariadb -e "STOP SLAVE; SET GLOBAL server_id = {theirs}; START SLAVE"')

    def heal(self, run: ScenarioRun) -> None:
        if self.own is not None:
            run.host(self.slave).check_output(
                f'mariadb -e "STOP SLAVE; SET GLOBAL server_id = {self.own}; START SLAVE"'
            )

    def gone(self, run: ScenarioRun) -> tuple[bool, str]:
        now = str(self._sql(run, self.slave).variable("server_id"))
        return self.own is None or now == self.own, f"{self.slave}: server_id = {now} (its own: {self.own})"


SLAVE = fault_arg("slave", "slave2", "which slave", choices=("slave1", "slave2"))
FAULTS = (
    FaultKind(
        "stop_sql_thread",
        "a slave's SQL thread stops while its IO thread keeps fetching (a lagging slave); healed by starting it",
        SqlThreadStopped,
        (SLAVE,),
    ),
    FaultKind(
        "change_rows_behind_replication",
        "rows on a slave changed with the binary log off (a hand-made fix); healed by copying the master's rows back",
        RowsChangedBehindReplication,
        (SLAVE,),
    ),
)
