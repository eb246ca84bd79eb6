"""The mysql lab: a master with the binary log on, two slaves replicating from it, and a writer.

The engine is a parameter (`--param engine=mariadb`, the default and the only image built so far); it picks
the client program and the dialect (statement and column names) that `scenarios.mysql.db` speaks, so MySQL 8's
renamed statements and status columns fit without touching the procedures' callers. `engine=mysql8` is refused
as not available until the lab runs a real MySQL 8 server: the dialect alone would talk to MariaDB.

The seed (about 35,000 rows in three tables) is in the image's datadir, identical on every server; the master's
binary log starts empty, and each slave replicates from its first position as soon as it is up.
"""

from __future__ import annotations

from typing import Any

from lab.lifecycle import Lab
from lab.spec import LabSpec, Param

DATABASE = "shop"
TABLES = ("accounts", "order_lines", "documents")
SERVERS = ("master", "slave1", "slave2")
SLAVES = ("slave1", "slave2")


def facts(lab: Lab) -> dict[str, Any]:
    return {
        "engine": lab.env["MYSQL_ENGINE"],
        "db": DATABASE,
        "master_ip": lab.ip("master", "db"),
        "slave1_ip": lab.ip("slave1", "db"),
        "slave2_ip": lab.ip("slave2", "db"),
        "writer_ip": lab.ip("writer", "db"),
        "repl_user": "repl",
        "repl_password": "repl",
    }


SPEC = LabSpec(
    name="mysql",
    title="rebuild a MySQL slave from the master (FTWRL) or from a running slave, under live writes",
    params=(
        Param(
            "engine",
            "mariadb",
            "database engine: mariadb (Debian's MariaDB 10.11)",
            "MYSQL_ENGINE",
            choices=("mariadb",),
            unavailable=(
                (
                    "mysql8",
                    "the lab runs MariaDB 10.11 only; MySQL 8 is a dialect (scenarios/mysql/db.py) never run against "
                    "a real server",
                ),
            ),
        ),
    ),
    facts=facts,
    ready_timeout=60.0,
    scenario_timeout_s=300.0,
    groups={"servers": SERVERS, "slaves": SLAVES},
)
