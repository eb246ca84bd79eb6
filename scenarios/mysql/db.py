"""What the judges ask a database host, engine differences kept here (testinfra style: `Sql(host).slave_status()`).

Queries go through the engine's command-line client inside the host (`mariadb --batch`), so the fake transport of
the unit tests can answer them. Status rows are read by column name and returned under MariaDB's (MySQL 5.7's)
names: MySQL 8.0.22+ renamed `Slave_*`/`*_Master_*` columns to `Replica_*`/`*_Source_*`, and `canonical()` maps
them back, so callers never branch on the engine.

Checksums follow pt-table-checksum: per chunk of the primary key's first column, `COUNT(*)` and
`BIT_XOR(CRC32(CONCAT_WS('#', cols..., CONCAT(ISNULL(nullable cols)...))))`; a differing chunk is then compared
row by row (a CRC32 per row) to name the keys that differ.
"""

from __future__ import annotations

from dataclasses import dataclass

from lab.errors import CommandError
from lab.host import Host

Row = dict[str, str | None]


@dataclass(frozen=True)
class Dialect:
    client: str
    show_slave_status: str
    show_master_status: str


DIALECTS = {
    "mariadb": Dialect("mariadb", "SHOW SLAVE STATUS", "SHOW MASTER STATUS"),
    "mysql8": Dialect("mysql", "SHOW REPLICA STATUS", "SHOW BINARY LOG STATUS"),
}

# MySQL 8's names → the names this code reads (MariaDB's, MySQL 5.7's).
RENAMED = {
    "Replica_IO_Running": "Slave_IO_Running",
    "Replica_SQL_Running": "Slave_SQL_Running",
    "Source_Host": "Master_Host",
    "Source_Log_File": "Master_Log_File",
    "Read_Source_Log_Pos": "Read_Master_Log_Pos",
    "Relay_Source_Log_File": "Relay_Master_Log_File",
    "Exec_Source_Log_Pos": "Exec_Master_Log_Pos",
    "Seconds_Behind_Source": "Seconds_Behind_Master",
}


def canonical(row: Row) -> Row:
    return {RENAMED.get(k, k): v for k, v in row.items()}


def unescape(field: str) -> str | None:
    """A field of `--batch` output: NULL, or text with \\t \\n \\\\ \\0 escaped."""
    if field == "NULL":
        return None
    if "\\" not in field:
        return field
    out, i = [], 0
    while i < len(field):
        c = field[i]
        if c == "\\" and i + 1 < len(field):
            out.append({"t": "\t", "n": "\n", "0": "\0", "\\": "\\"}.get(field[i + 1], field[i + 1]))
            i += 2
        else:
            out.append(c)
            i += 1
    return "".join(out)


def parse_batch(text: str) -> list[Row]:
    """Rows of `client --batch -e` output (a header line of column names, then tab-separated rows)."""
    lines = text.splitlines()
    if not lines:
        return []
    names = lines[0].split("\t")
    return [dict(zip(names, map(unescape, line.split("\t")), strict=False)) for line in lines[1:]]


def position(file: str | None, pos: str | int | None) -> tuple[str, int]:
    return (file or "", int(pos or 0))


class Sql:
    """SQL on one host, as its administrator, through the engine's client."""

    def __init__(self, host: Host, engine: str = "mariadb") -> None:
        self.host = host
        self.dialect = DIALECTS[engine]

    def query(self, sql: str) -> list[Row]:
        r = self.host.run(f"{self.dialect.client} --batch -e %s", sql)
        if not r.succeeded:
            raise CommandError(f"{r.command}  (on {self.host.name})", r.rc, r.stdout, r.stderr)
        return parse_batch(r.stdout)

    def slave_status(self) -> Row | None:
        rows = self.query(self.dialect.show_slave_status)
        return canonical(rows[0]) if rows else None

    def master_status(self) -> tuple[str, int]:
        rows = self.query(self.dialect.show_master_status)
        if not rows:
            raise CommandError(f"{self.dialect.show_master_status}  (on {self.host.name})", 0, "", "binary log off")
        return position(rows[0]["File"], rows[0]["Position"])


@dataclass(frozen=True)
class TableShape:
    name: str
    columns: tuple[str, ...]
    nullable: tuple[str, ...]
    key: tuple[str, ...]

    def row_crc(self) -> str:
        cols = [q(c) for c in self.columns]
        if self.nullable:
            cols.append("CONCAT(" + ", ".join(f"ISNULL({q(c)})" for c in self.nullable) + ")")
        return f"CRC32(CONCAT_WS('#', {', '.join(cols)}))"

    def key_expr(self) -> str:
        return "CONCAT_WS(','," + ", ".join(q(c) for c in self.key) + ")"


def q(name: str) -> str:
    return "`" + name.replace("`", "``") + "`"


def table_shape(sql: Sql, db: str, table: str) -> TableShape:
    cols = sql.query(
        "SELECT COLUMN_NAME, IS_NULLABLE, COLUMN_KEY FROM information_schema.COLUMNS "
        f"WHERE TABLE_SCHEMA = '{db}' AND TABLE_NAME = '{table}' ORDER BY ORDINAL_POSITION"
    )
    keys = sql.query(
        "SELECT COLUMN_NAME FROM information_schema.STATISTICS "
        f"WHERE TABLE_SCHEMA = '{db}' AND TABLE_NAME = '{table}' AND INDEX_NAME = 'PRIMARY' ORDER BY SEQ_IN_INDEX"
    )
    if not cols or not keys:
        raise CommandError(f"shape of {db}.{table} (on {sql.host.name})", 0, "", "no such table or no primary key")
    return TableShape(
        table,
        tuple(str(c["COLUMN_NAME"]) for c in cols),
        tuple(str(c["COLUMN_NAME"]) for c in cols if c["IS_NULLABLE"] == "YES"),
        tuple(str(k["COLUMN_NAME"]) for k in keys),
    )


Chunks = dict[int, tuple[int, str]]


def chunk_checksums(sql: Sql, db: str, shape: TableShape, chunk_size: int) -> Chunks:
    """{chunk number: (rows, BIT_XOR of row CRCs)} for chunks of `chunk_size` values of the key's first column."""
    k0 = q(shape.key[0])
    rows = sql.query(
        f"SELECT FLOOR({k0} / {chunk_size}) AS chunk, COUNT(*) AS cnt, "
        f"COALESCE(BIT_XOR(CAST({shape.row_crc()} AS UNSIGNED)), 0) AS crc "
        f"FROM {q(db)}.{q(shape.name)} GROUP BY chunk ORDER BY chunk"
    )
    return {int(str(r["chunk"])): (int(str(r["cnt"])), str(r["crc"])) for r in rows}


def row_checksums(sql: Sql, db: str, shape: TableShape, chunk: int, chunk_size: int) -> dict[str, str]:
    """{key: row CRC} for the rows of one chunk."""
    k0 = q(shape.key[0])
    lo, hi = chunk * chunk_size, (chunk + 1) * chunk_size
    rows = sql.query(
        f"SELECT {shape.key_expr()} AS k, {shape.row_crc()} AS crc FROM {q(db)}.{q(shape.name)} "
        f"WHERE {k0} >= {lo} AND {k0} < {hi}"
    )
    return {str(r["k"]): str(r["crc"]) for r in rows}


def differing(a: Chunks, b: Chunks) -> list[int]:
    return sorted(c for c in set(a) | set(b) if a.get(c) != b.get(c))


def key_diff(master: dict[str, str], slave: dict[str, str]) -> dict[str, list[str]]:
    """Keys missing on the slave, extra on the slave, and present on both with different contents."""
    return {
        "missing": sorted(set(master) - set(slave)),
        "extra": sorted(set(slave) - set(master)),
        "changed": sorted(k for k in set(master) & set(slave) if master[k] != slave[k]),
    }
