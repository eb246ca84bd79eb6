"""Faults of the mysql lab; each heals itself.

- `SqlThreadStopped`: a slave's SQL thread stops while its IO thread keeps fetching, so what it has read
  (Read_Master_Log_Pos) runs ahead of what it has applied (Exec_Master_Log_Pos): a lagging slave.
- `RowsChangedBehindReplication`: rows on a slave changed with the binary log off for the session (a fix made
  by hand, a stray script): the "corrupted slave". The heal copies those rows back from the master.
"""

from __future__ import annotations

from lab.faults import Fault
from lab.scenario import ScenarioRun

NO_BINLOG = "mysql --init-command='SET sql_log_bin = 0'"


class SqlThreadStopped(Fault):
    def __init__(self, slave: str = "slave2") -> None:
        self.slave = slave

    def describe(self) -> str:
        return f"{self.slave}'s SQL thread stops; its IO thread keeps fetching the master's binlog"

    def invoke(self, run: ScenarioRun) -> None:
        run.host(self.slave).check_output('mysql -e "STOP SLAVE SQL_THREAD"')

    def heal(self, run: ScenarioRun) -> None:
        run.host(self.slave).run('mysql -e "START SLAVE SQL_THREAD"')


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
                f"mysqldump -h {f['master_ip']} --no-create-info --replace --skip-triggers --where='id = {key}'"
                f" {f['db']} {table} | {NO_BINLOG} {f['db']}"
            )
