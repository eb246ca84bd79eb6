"""The mysql lab: a master with the binary log on, two slaves replicating from it, and a writer.

The engine is a parameter (`--param engine=mariadb-10.11`, the default: Debian bookworm's MariaDB;
`engine=mariadb-11.8`: Debian trixie's). It picks the image (compose variables MYSQL_ENGINE and MYSQL_SUITE: the
image is built from that suite's base image and refuses to build if the suite's server is another version), the
programs procedures are rendered with (`{mysql}`, `{mysqldump}`) and the dialect the judges speak
(scenarios.mysql.dialect). MySQL 8 is refused before a lab starts: Debian does not package it, so its dialect is
only unit-tested.

Facts: the addresses, the replication account, the engine and its programs, and `server_version` (the master's
`SELECT VERSION()`, asked once when a scenario first needs its facts, so every results entry names it).

The seed (about 35,000 rows in three tables) is in the image's datadir, identical on every server; the master's
binary log starts empty, and each slave replicates from its first position as soon as it is up.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from lab.lifecycle import Lab
from lab.spec import LabSpec, Param, Value
from scenarios.mysql.dialect import DEFAULT, DIALECTS, RUNNABLE, compose_env, procedure_facts

DATABASE = "shop"
TABLES = ("accounts", "order_lines", "documents")
SERVERS = ("master", "slave1", "slave2")
SLAVES = ("slave1", "slave2")


def facts(lab: Lab) -> dict[str, Any]:
    from scenarios.mysql.db import Sql

    engine = lab.env["MYSQL_ENGINE"]
    return {
        "engine": engine,
        "server_version": Sql(lab.host("master"), engine).version(),
        **procedure_facts(engine),
        "db": DATABASE,
        "master_ip": lab.ip("master", "db"),
        "slave1_ip": lab.ip("slave1", "db"),
        "slave2_ip": lab.ip("slave2", "db"),
        "writer_ip": lab.ip("writer", "db"),
        "repl_user": "repl",
        "repl_password": "repl",
    }


def derived_env(values: Mapping[str, Value]) -> dict[str, str]:
    return compose_env(str(values["engine"]))


SPEC = LabSpec(
    name="mysql",
    title="rebuild a MySQL slave from the master (FTWRL) or from a running slave, under live writes",
    params=(
        Param(
            "engine",
            DEFAULT,
            "database engine: " + ", ".join(f"{e} ({DIALECTS[e].server})" for e in RUNNABLE),
            "MYSQL_ENGINE",
            choices=RUNNABLE,
            unavailable=tuple(
                (e, f"{d.server} is not packaged by Debian; its dialect is only unit-tested")
                for e, d in DIALECTS.items()
                if d.suite is None
            ),
        ),
    ),
    facts=facts,
    derived_env=derived_env,
    ready_timeout=60.0,
    scenario_timeout_s=300.0,
    groups={"servers": SERVERS, "slaves": SLAVES},
)
