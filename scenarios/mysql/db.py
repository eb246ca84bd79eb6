"""What the judges ask a database host (testinfra style: `Sql(host, engine).slave_status()`).

Queries go through the engine's command-line client inside the host (`mariadb --batch`), so the fake transport of
the unit tests can answer them; the engine's words and names come from scenarios.mysql.dialect. Status rows are
read by column name and returned under MariaDB's (MySQL 5.7's) names: MySQL 8.0.22+ renamed
`Slave_*`/`*_Master_*` columns to `Replica_*`/`*_Source_*`, and `canonical()` maps them back, so callers never
branch on the engine.

Checksums follow pt-table-checksum: per chunk of the primary key's first column, `COUNT(*)` and
`BIT_XOR(CRC32(CONCAT_WS('#', cols..., CONCAT(ISNULL(nullable cols)...))))`; a differing chunk is then compared
row by row (a CRC32 per row) to name the keys that differ.
"""

from __future__ import annotations

from dataclasses import dataclass

from lab.errors import CommandError
from lab.host import Reader
from scenarios.mysql.dialect import DEFAULT, DIALECTS, Dialect, Row, canonical, dialect

__all__ = ["DEFAULT", "DIALECTS", "Dialect", "Row", "canonical"]


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

    def __init__(self, host: Reader, engine: str = DEFAULT) -> None:
        self.host = host
        self.dialect = dialect(engine)

    def query(self, sql: str) -> list[Row]:
        r = self.host.run(f"{self.dialect.client} --batch -e %s", sql)
        if not r.succeeded:
            raise CommandError(f"{r.command}  (on {self.host.name})", r.rc, r.stdout, r.stderr)
        return parse_batch(r.stdout)

    def slave_status(self) -> Row | None:
        rows = self.query(self.dialect.show_slave_status)
        return canonical(rows[0]) if rows else None

    def version(self) -> str:
        rows = self.query("SELECT VERSION() AS v")
        return str(rows[0]["v"]) if rows else ""

    def variable(self, name: str) -> str | None:
        rows = self.query(f"SELECT @@GLOBAL.{name} AS v")
        return rows[0]["v"] if rows else None

    def master_status(self) -> tuple[str, int]:
        rows = self.query(self.dialect.show_master_status)
        if not rows:
            raise CommandError(f"{self.dialect.show_master_status}  (on {self.host.name})", 0, "", "binary log off")
        return position(rows[0]["File"], rows[0]["Position"])

    def binlog_checkpoint(self, log: str) -> str | None:
        """The log named by the last Binlog_checkpoint event in binary log `log` (MariaDB): the oldest log the
        server still needs for crash recovery. Until it names `log`, PURGE BINARY LOGS TO `log` keeps the older
        logs and only warns."""
        # only the checkpoint events' Info column: the other events' Info holds statements' bytes, not always UTF-8
        r = self.host.run(
            f"{self.dialect.client} --batch -N -e %s | awk -F '\\t' '$3 == \"Binlog_checkpoint\" {{print $6}}'",
            f"SHOW BINLOG EVENTS IN '{log}'",
        )
        if not r.succeeded:
            raise CommandError(f"{r.command}  (on {self.host.name})", r.rc, r.stdout, r.stderr)
        marks = r.stdout.split()
        return marks[-1] if marks else None


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


def table_shapes(sql: Sql, db: str, tables: tuple[str, ...]) -> list[TableShape]:
    """Columns, nullable columns and primary key of each table, in one query."""
    names = ", ".join(f"'{t}'" for t in tables)
    rows = sql.query(
        "SELECT c.TABLE_NAME AS tbl, c.COLUMN_NAME AS col, c.IS_NULLABLE AS nullable, s.SEQ_IN_INDEX AS pk "
        "FROM information_schema.COLUMNS c LEFT JOIN information_schema.STATISTICS s ON s.TABLE_SCHEMA = "
        "c.TABLE_SCHEMA AND s.TABLE_NAME = c.TABLE_NAME AND s.COLUMN_NAME = c.COLUMN_NAME AND s.INDEX_NAME = 'PRIMARY' "
        f"WHERE c.TABLE_SCHEMA = '{db}' AND c.TABLE_NAME IN ({names}) ORDER BY c.TABLE_NAME, c.ORDINAL_POSITION"
    )
    shapes = []
    for t in tables:
        mine = [r for r in rows if r["tbl"] == t]
        key = sorted((int(str(r["pk"])), str(r["col"])) for r in mine if r["pk"] is not None)
        if not mine or not key:
            raise CommandError(f"shape of {db}.{t} (on {sql.host.name})", 0, "", "no such table or no primary key")
        shapes.append(
            TableShape(
                t,
                tuple(str(r["col"]) for r in mine),
                tuple(str(r["col"]) for r in mine if r["nullable"] == "YES"),
                tuple(c for _, c in key),
            )
        )
    return shapes


Chunks = dict[tuple[str, int], tuple[int, str]]


def chunk_checksums(sql: Sql, db: str, shapes: list[TableShape], chunk_size: int) -> Chunks:
    """{(table, chunk number): (rows, BIT_XOR of row CRCs)}, chunks of `chunk_size` values of the key's first
    column, every table in one query."""
    parts = [
        f"SELECT '{s.name}' AS tbl, FLOOR({q(s.key[0])} / {chunk_size}) AS chunk, COUNT(*) AS cnt, "
        f"COALESCE(BIT_XOR(CAST({s.row_crc()} AS UNSIGNED)), 0) AS crc FROM {q(db)}.{q(s.name)} GROUP BY chunk"
        for s in shapes
    ]
    rows = sql.query(" UNION ALL ".join(parts))
    return {(str(r["tbl"]), int(str(r["chunk"]))): (int(str(r["cnt"])), str(r["crc"])) for r in rows}


def row_checksums(
    sql: Sql, db: str, shapes: list[TableShape], chunks: list[tuple[str, int]], chunk_size: int
) -> dict[tuple[str, int], dict[str, str]]:
    """{(table, chunk): {key: row CRC}} for the rows of the given chunks, in one query."""
    by_name = {s.name: s for s in shapes}
    parts = []
    for table, chunk in chunks:
        s = by_name[table]
        lo, hi = chunk * chunk_size, (chunk + 1) * chunk_size
        parts.append(
            f"SELECT '{table}' AS tbl, {chunk} AS chunk, {s.key_expr()} AS k, {s.row_crc()} AS crc "
            f"FROM {q(db)}.{q(table)} WHERE {q(s.key[0])} >= {lo} AND {q(s.key[0])} < {hi}"
        )
    out: dict[tuple[str, int], dict[str, str]] = {c: {} for c in chunks}
    if parts:
        for r in sql.query(" UNION ALL ".join(parts)):
            out[(str(r["tbl"]), int(str(r["chunk"])))][str(r["k"])] = str(r["crc"])
    return out


def differing(a: Chunks, b: Chunks) -> list[tuple[str, int]]:
    return sorted(c for c in set(a) | set(b) if a.get(c) != b.get(c))


def key_diff(master: dict[str, str], slave: dict[str, str]) -> dict[str, list[str]]:
    """Keys missing on the slave, extra on the slave, and present on both with different contents."""
    return {
        "missing": sorted(set(master) - set(slave)),
        "extra": sorted(set(slave) - set(master)),
        "changed": sorted(k for k in set(master) & set(slave) if master[k] != slave[k]),
    }
