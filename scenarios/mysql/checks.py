"""Judges of the mysql lab. Each one only reads the servers (through `scenarios.mysql.db`) or the history.

Which scenario shows each failing: SlaveReplicating → wrong_binlog_file (IO error 1236) and
lock_released_early (SQL error 1062); LagReachesZero → wrong_binlog_file and lock_released_early;
SlavesMatchMaster → corrupted_slave (names the chunks and keys), rebuild_with_read_pos, lock_released_early;
AckedWritesOnEverySlave → rebuild_with_read_pos (acknowledged writes missing) and lock_released_early;
SlaveStoppedOnError → every scenario where the slave replicates (asked of the other thread, or of slave2), and the
unit tests; DifferingRowsAre → corrupted_slave after the rebuild (no row differs any more), and the unit tests.
ReplicationWithoutErrors (the invariant rehearsals watch) → unit tests (tests/unit/scenarios), and any rehearsal
of wrong_binlog_file or lock_released_early.
"""

from __future__ import annotations

import re
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from lab.checks import Check, CheckResult, Invariant
from lab.errors import OpslabError, WaitTimeout
from lab.view import RunView
from lab.wait import wait_until
from scenarios.mysql import db
from scenarios.mysql.lab import SLAVES, TABLES
from scenarios.mysql.workloads import as_write

WORKLOAD = "MysqlWriter"
CHUNK_SIZE = 2000  # key values per chunk (pt-table-checksum sizes chunks by time; fixed is enough here)


def sql(run: RunView, host: str) -> db.Sql:
    return db.Sql(run.host(host), run.facts.get("engine", db.DEFAULT))


def thread_errors(st: db.Row) -> list[str]:
    out = []
    for t in ("IO", "SQL"):
        no = st.get(f"Last_{t}_Errno") or "0"
        if no != "0":
            out.append(f"{t} error {no}: {st.get(f'Last_{t}_Error')}")
    return out


class SlaveReplicating(Check):
    """Both replication threads run (Yes) and neither has an error."""

    def __init__(self, slave: str) -> None:
        self.slave = slave
        self.label = f"SlaveReplicating[{slave}]"

    def evaluate(self, run: RunView) -> CheckResult:
        st = sql(run, self.slave).slave_status()
        if st is None:
            return self.result(False, f"{self.slave} is not a slave (SHOW SLAVE STATUS is empty)")
        io, sq = st.get("Slave_IO_Running"), st.get("Slave_SQL_Running")
        errors = thread_errors(st)
        ok = io == "Yes" and sq == "Yes" and not errors
        detail = f"{self.slave}: IO {io}, SQL {sq}" + (f"; {'; '.join(errors)}" if errors else "")
        return self.result(
            ok,
            detail,
            io=io,
            sql=sq,
            last_io_errno=int(st.get("Last_IO_Errno") or 0),
            last_sql_errno=int(st.get("Last_SQL_Errno") or 0),
            errors=errors,
            master=f"{st.get('Master_Host')} {st.get('Master_Log_File')}:{st.get('Read_Master_Log_Pos')}",
        )


class LagReachesZero(Check):
    """Each slave applies everything the master had written when the check began, within `within_s`
    (Exec_Master_Log_Pos reaches the master's position and Seconds_Behind_Master is 0). A slave whose thread
    stopped with an error fails at once: it will not catch up by itself."""

    def __init__(self, slaves: tuple[str, ...] = SLAVES, within_s: float = 30.0) -> None:
        self.slaves = slaves
        self.within_s = within_s

    def evaluate(self, run: RunView) -> CheckResult:
        target = sql(run, "master").master_status()
        t0 = time.monotonic()
        lag: dict[str, float | None] = {s: None for s in self.slaves}
        last: dict[str, str] = {}

        def caught_up() -> bool:
            for s in self.slaves:
                if lag[s] is not None or last.get(s, "").startswith("stopped"):
                    continue
                st = sql(run, s).slave_status()
                if st is None:
                    last[s] = "stopped: not a slave"
                    continue
                done = db.position(st.get("Relay_Master_Log_File"), st.get("Exec_Master_Log_Pos"))
                behind = st.get("Seconds_Behind_Master")
                errors = thread_errors(st)
                if errors or st.get("Slave_SQL_Running") != "Yes":
                    last[s] = f"stopped: SQL {st.get('Slave_SQL_Running')}, Seconds_Behind_Master {behind}" + (
                        f"; {'; '.join(errors)}" if errors else ""
                    )
                    continue
                last[s] = f"at {done[0]}:{done[1]}, Seconds_Behind_Master {behind}"
                if done >= target and behind == "0":
                    lag[s] = time.monotonic() - t0
            return all(lag[s] is not None or last.get(s, "").startswith("stopped") for s in self.slaves)

        try:
            wait_until(caught_up, what="every slave to catch up with the master", timeout=self.within_s)
        except WaitTimeout:
            pass  # judged below, slave by slave
        bad = [s for s in self.slaves if lag[s] is None]
        where = f"{target[0]}:{target[1]}"
        if bad:
            return self.result(
                False,
                f"not caught up with the master ({where}) within {self.within_s:g}s: "
                + "; ".join(f"{s} {last.get(s, '?')}" for s in bad),
                target=where,
                catch_up_s=lag,
                last=last,
            )
        worst = max(v for v in lag.values() if v is not None)
        return self.result(
            True,
            f"every slave applied the master's {where} within {worst:.2f}s",
            target=where,
            catch_up_s=lag,
            lag_s=round(worst, 3),
        )


def row_differences(
    run: RunView, slaves: tuple[str, ...], tables: tuple[str, ...], chunk_size: int
) -> tuple[list[dict[str, Any]], dict[str, int]]:
    """Every slave against the master, per chunk as pt-table-checksum does; the differing chunks row by row.

    Returns one entry per differing (slave, table, chunk) with every key `missing`, `extra` and `changed`, and
    the counts compared (`rows_compared`, `chunks_compared`, `chunks_differing`)."""
    dbname = run.facts["db"]
    master = sql(run, "master")
    shapes = db.table_shapes(master, dbname, tables)
    key0 = {s.name: s.key[0] for s in shapes}
    servers = {h: sql(run, h) for h in ("master", *slaves)}
    # the servers checksum side by side; the data holds still (the writer has stopped)
    with ThreadPoolExecutor(len(servers)) as pool:
        jobs = {h: pool.submit(db.chunk_checksums, q, dbname, shapes, chunk_size) for h, q in servers.items()}
        sums = {h: job.result() for h, job in jobs.items()}
    mine = sums["master"]
    rows_compared = chunks_compared = 0
    diffs: list[dict[str, Any]] = []
    master_rows: dict[tuple[str, int], dict[str, str]] = {}
    for s in slaves:
        slave = servers[s]
        theirs = sums[s]
        rows_compared += sum(n for n, _ in mine.values())
        chunks_compared += len(set(mine) | set(theirs))
        bad = db.differing(mine, theirs)
        if not bad:
            continue
        wanted = [c for c in bad if c not in master_rows]
        master_rows.update(db.row_checksums(master, dbname, shapes, wanted, chunk_size))
        slave_rows = db.row_checksums(slave, dbname, shapes, bad, chunk_size)
        for table, chunk in bad:
            keys = db.key_diff(master_rows[(table, chunk)], slave_rows[(table, chunk)])
            lo = chunk * chunk_size
            diffs.append(
                {
                    "slave": s,
                    "table": table,
                    "chunk": chunk,
                    "range": f"{key0[table]} {lo}..{lo + chunk_size - 1}",
                    "master": mine.get((table, chunk)),
                    "slave_chunk": theirs.get((table, chunk)),
                    **keys,
                    "counts": {k: len(v) for k, v in keys.items()},
                }
            )
    return diffs, {"rows_compared": rows_compared, "chunks_compared": chunks_compared, "chunks_differing": len(diffs)}


class SlavesMatchMaster(Check):
    """Every slave holds the master's data, table by table, compared per chunk as pt-table-checksum does
    (COUNT(*) and BIT_XOR(CRC32(CONCAT_WS('#', ...)))); the differing chunks are compared row by row and the
    keys that differ are named."""

    def __init__(
        self,
        slaves: tuple[str, ...] = SLAVES,
        tables: tuple[str, ...] = TABLES,
        chunk_size: int = CHUNK_SIZE,
        when: str = "",
    ) -> None:
        self.label = f"SlavesMatchMaster@{when}" if when else None
        self.slaves = slaves
        self.tables = tables
        self.chunk_size = chunk_size

    def evaluate(self, run: RunView) -> CheckResult:
        full, evidence = row_differences(run, self.slaves, self.tables, self.chunk_size)
        diffs = [{**d, **{k: d[k][:10] for k in ("missing", "extra", "changed")}} for d in full]
        if not diffs:
            return self.result(
                True,
                f"{', '.join(self.slaves)} equal the master: {evidence['chunks_compared']} chunks, "
                f"{evidence['rows_compared']} rows",
                **evidence,
            )
        named = []
        for d in diffs[:4]:
            which = "; ".join(f"{k} {' '.join(map(str, d[k][:3]))}" for k in ("missing", "extra", "changed") if d[k])
            named.append(f"{d['slave']} {d['table']} chunk {d['chunk']} ({d['range']}): {which or 'same keys'}")
        more = f" (+{len(diffs) - 4} more)" if len(diffs) > 4 else ""
        return self.result(
            False, f"{len(diffs)} chunk(s) differ: " + " | ".join(named) + more, differences=diffs, **evidence
        )


class DifferingRowsAre(Check):
    """On `slave`, exactly these rows differ from the master's, as (table, key), and each the way it is named
    (`changed` by default: the key is on both with other contents); no other row differs. What a scenario that
    changes rows behind replication's back expects the checksums to find, no more and no less."""

    def __init__(
        self,
        slave: str,
        rows: set[tuple[str, str]],
        how: str = "changed",
        tables: tuple[str, ...] = TABLES,
        chunk_size: int = CHUNK_SIZE,
        when: str = "",
    ) -> None:
        self.slave = slave
        self.rows = rows
        self.how = how
        self.tables = tables
        self.chunk_size = chunk_size
        self.label = f"DifferingRowsAre[{slave}]" + (f"@{when}" if when else "")

    def evaluate(self, run: RunView) -> CheckResult:
        diffs, evidence = row_differences(run, (self.slave,), self.tables, self.chunk_size)
        found = {(d["table"], str(k), how) for d in diffs for how in ("missing", "extra", "changed") for k in d[how]}
        wanted = {(t, str(k), self.how) for t, k in self.rows}

        def named(rows: set[tuple[str, str, str]]) -> str:
            return ", ".join(f"{t} {k} ({how})" for t, k, how in sorted(rows)[:6]) + (" …" if len(rows) > 6 else "")

        unexpected, unseen = found - wanted, wanted - found
        problems = [f"{what}: {named(rows)}" for what, rows in (("not found", unseen), ("also", unexpected)) if rows]
        return self.result(
            not problems,
            f"{self.slave} differs from the master in exactly {named(wanted)}"
            if not problems
            else f"{self.slave}: expected {named(wanted) or 'no row'} to differ; " + "; ".join(problems),
            found=sorted(found)[:20],
            unexpected=len(unexpected),
            unseen=len(unseen),
            **evidence,
        )


class SlaveStoppedOnError(Check):
    """The slave's `thread` (IO or SQL) stopped with error `errno` (Last_IO_Errno / Last_SQL_Errno), its message
    as evidence: the exact failure a broken rebuild shows (1236: the binlog file or position the master does not
    have; 1062: a row applied twice; 1032: a row missing)."""

    def __init__(self, slave: str, thread: str, errno: int) -> None:
        if thread not in ("IO", "SQL"):
            raise ValueError(f"thread is IO or SQL, not {thread!r}")
        self.slave = slave
        self.thread = thread
        self.errno = errno
        self.label = f"SlaveStoppedOnError[{slave}, {thread} {errno}]"

    def evaluate(self, run: RunView) -> CheckResult:
        st = sql(run, self.slave).slave_status()
        if st is None:
            return self.result(False, f"{self.slave} is not a slave (SHOW SLAVE STATUS is empty)")
        t = self.thread
        running = st.get(f"Slave_{t}_Running")
        errno = int(st.get(f"Last_{t}_Errno") or 0)
        message = st.get(f"Last_{t}_Error") or ""
        ok = errno == self.errno and running != "Yes"
        detail = f"{self.slave}: {t} thread {'running' if running == 'Yes' else 'stopped'}"
        detail += f", Last_{t}_Errno {errno}" + (f": {message}" if message else "")
        if not ok:
            detail += f" (expected it stopped on error {self.errno})"
        return self.result(ok, detail, running=running, errno=errno, error=message)


class AckedWritesOnEverySlave(Check):
    """Every write the writer had acknowledged is on every slave exactly once: each inserted document and
    order line once (not missing, not doubled), each updated account at least at the last version acknowledged.
    """

    def __init__(self, slaves: tuple[str, ...] = SLAVES) -> None:
        self.slaves = slaves

    def evaluate(self, run: RunView) -> CheckResult:
        ops = run.ops.get(WORKLOAD)
        if not ops:
            return self.unknown("the writer's operations were not recorded")
        writes = [as_write(op) for op in ops if op.ok]
        docs = {w.key for w in writes if w.table == "documents"}
        orders = {w.key.split(",")[0] for w in writes if w.table == "order_lines"}
        versions: dict[str, int] = {}
        for w in writes:
            if w.table == "accounts":
                versions[w.key] = max(versions.get(w.key, 0), int(w.value))
        dbname = run.facts["db"]
        per_slave: dict[str, dict[str, Any]] = {}
        for s in self.slaves:
            q = sql(run, s)
            try:
                rows = q.query(
                    f"SELECT 'documents' AS tbl, token AS k, COUNT(*) AS n FROM {dbname}.documents "
                    "WHERE token LIKE 'w%' GROUP BY token UNION ALL "
                    f"SELECT 'order_lines', order_id, COUNT(*) FROM {dbname}.order_lines WHERE order_id > 1000000 "
                    "GROUP BY order_id UNION ALL "
                    f"SELECT 'accounts', id, version FROM {dbname}.accounts WHERE id <= 500"
                )
            except OpslabError as exc:
                per_slave[s] = {"error": exc.message}
                continue
            have: dict[str, Counter[str]] = {"documents": Counter(), "order_lines": Counter()}
            have_versions: dict[str, int] = {}
            for r in rows:
                if r["tbl"] == "accounts":
                    have_versions[str(r["k"])] = int(str(r["n"]))
                else:
                    have[str(r["tbl"])][str(r["k"])] = int(str(r["n"]))
            have_docs, have_orders = have["documents"], have["order_lines"]
            lost = sorted(f"documents {k}" for k in docs if have_docs[k] == 0)
            lost += sorted(f"order_lines {k},1" for k in orders if have_orders[k] == 0)
            lost += sorted(
                f"accounts {k} version {v} (has {have_versions.get(k)})"
                for k, v in versions.items()
                if have_versions.get(k, -1) < v
            )
            doubled = sorted(f"documents {k} ×{have_docs[k]}" for k in docs if have_docs[k] > 1)
            doubled += sorted(f"order_lines {k} ×{have_orders[k]}" for k in orders if have_orders[k] > 1)
            per_slave[s] = {"lost": len(lost), "doubled": len(doubled), "examples": (lost + doubled)[:10]}
        lost_total = sum(p.get("lost", 0) for p in per_slave.values())
        doubled_total = sum(p.get("doubled", 0) for p in per_slave.values())
        errors = {s: p["error"] for s, p in per_slave.items() if "error" in p}
        summary = "; ".join(
            f"{s}: {p['error']}"
            if "error" in p
            else f"{s}: {p['lost']} lost, {p['doubled']} doubled"
            + (f" (e.g. {', '.join(p['examples'][:3])})" if p["examples"] else "")
            for s, p in per_slave.items()
        )
        evidence = {"acked": len(writes), "lost": lost_total, "doubled": doubled_total, "per_slave": per_slave}
        if errors and not lost_total and not doubled_total:
            return self.unknown(f"could not read every slave: {summary}", **evidence)
        return self.result(
            not lost_total and not doubled_total and not errors,
            f"{len(writes)} acknowledged writes; {summary}",
            **evidence,
        )


class ReplicationWithoutErrors(Invariant):
    """No slave's replication thread is in error (Last_IO_Errno and Last_SQL_Errno are 0). A slave stopped on
    purpose (STOP SLAVE, RESET SLAVE) holds it; one stopped by an error (1236, 1062) does not."""

    def evaluate(self, run: RunView) -> CheckResult:
        errors = {s: thread_errors(st) for s in SLAVES if (st := sql(run, s).slave_status()) is not None}
        bad = {s: e for s, e in errors.items() if e}
        if bad:
            return self.result(False, "; ".join(f"{s}: {', '.join(e)}" for s, e in bad.items()), errors=bad)
        return self.result(True, f"no replication error on {', '.join(SLAVES)}", errors={})


# -- where a rebuilt slave's replication began --------------------------------------------------------------------
STARTED_AT_FILE = re.compile(r"replication started in log '([^']*)' at position (\d+)")
STARTED_AT_GTID = re.compile(r"replication starts at GTID position '([^']*)'")
COORDINATES = "/tmp/lock-session.out"  # File and Position as the runbook recorded them (procedures.SESSION)
GTID_DUMP = "/tmp/gtid-dump.sql"  # the GTID rebuild's dump (procedures.GTID_DUMP)


def gtid_seqs(position: str) -> dict[str, int]:
    """A GTID position ('0-1-812,1-3-5') as {domain: sequence number}."""
    out = {}
    for part in position.replace(" ", "").split(","):
        bits = part.split("-")
        if len(bits) == 3 and all(b.isdigit() for b in bits):
            out[bits[0]] = int(bits[2])
    return out


def last_start(log: str) -> tuple[str, str] | None:
    """Where the slave's IO thread last began replicating, from its server log (MariaDB's own words): ("gtid",
    '0-1-812') for `replication starts at GTID position '0-1-812'`, ("file", 'mysql-bin.000001:4') for
    `replication started in log 'mysql-bin.000001' at position 4`; None when it never connected."""
    found: list[tuple[int, tuple[str, str]]] = []
    for m in STARTED_AT_FILE.finditer(log):
        found.append((m.start(), ("file", f"{m.group(1)}:{m.group(2)}")))
    for m in STARTED_AT_GTID.finditer(log):
        found.append((m.start(), ("gtid", m.group(1))))
    return max(found)[1] if found else None


def judge_start(start: tuple[str, str] | None, dump_file_pos: str, dump_gtid: str) -> tuple[bool, str, dict[str, Any]]:
    """Whether replication began exactly where the dump ends: at its file and position, or at its GTID position
    (every domain's sequence number equal). The detail says how many transactions of the dump the slave fetches
    again, or skips."""
    evidence: dict[str, Any] = {"start": start, "dump_file_pos": dump_file_pos, "dump_gtid": dump_gtid}
    if start is None:
        return False, "the slave never connected to the master after the rebuild (no start in its log)", evidence
    kind, where = start
    if kind == "file":
        ok = where == dump_file_pos
        return ok, f"replication began in {where}; the dump ends at {dump_file_pos}", evidence
    mine, dumped = gtid_seqs(where), gtid_seqs(dump_gtid)
    gaps = {d: dumped.get(d, 0) - mine.get(d, 0) for d in set(mine) | set(dumped)}
    evidence["transactions_again"] = sum(g for g in gaps.values() if g > 0)
    evidence["transactions_skipped"] = sum(-g for g in gaps.values() if g < 0)
    if not any(gaps.values()):
        return True, f"replication began at GTID {where}, where the dump ends ({dump_file_pos or dump_gtid})", evidence
    how = []
    if evidence["transactions_again"]:
        how.append(f"{evidence['transactions_again']} transaction(s) the dump holds are fetched again")
    if evidence["transactions_skipped"]:
        how.append(f"{evidence['transactions_skipped']} transaction(s) after the dump are skipped")
    return (
        False,
        f"replication began at GTID {where} (master_use_gtid=slave_pos: the slave's old gtid_slave_pos), but the "
        f"dump holds the master up to {dump_gtid}"
        + (f" ({dump_file_pos})" if dump_file_pos else "")
        + ": "
        + "; ".join(how),
        evidence,
    )


class ReplicationStartsAtTheDump(Check):
    """The rebuilt slave's IO thread began replicating exactly where its dump ends. Where it began is what the
    server logged when it connected (`replication started in log 'F' at position P`, or `replication starts at
    GTID position 'G'` when it uses GTID); where the dump ends is what the runbook recorded: SHOW MASTER STATUS's
    File and Position (`source="coordinates"`, turned into a GTID position with the master's
    BINLOG_GTID_POS), or the GTID dump's own `gtid_slave_pos` line (`source="gtid-dump"`)."""

    def __init__(self, slave: str = "slave1", source: str = "coordinates") -> None:
        if source not in ("coordinates", "gtid-dump"):
            raise ValueError(f"source is coordinates or gtid-dump, not {source!r}")
        self.slave = slave
        self.source = source
        self.label = f"ReplicationStartsAtTheDump[{slave}]"

    def evaluate(self, run: RunView) -> CheckResult:
        h = run.host(self.slave)
        if self.source == "coordinates":
            recorded = h.run(f"cat {COORDINATES}").stdout.split()
            if len(recorded) < 2 or not recorded[1].isdigit():
                return self.unknown(f"no recorded File and Position in {COORDINATES} on {self.slave}")
            file_pos = f"{recorded[0]}:{recorded[1]}"
            rows = sql(run, "master").query(f"SELECT BINLOG_GTID_POS('{recorded[0]}', {int(recorded[1])}) AS g")
            gtid = str(rows[0]["g"] or "") if rows else ""
        else:
            text = h.run(f"grep -m2 -E 'gtid_slave_pos|MASTER_LOG_FILE' {GTID_DUMP}").stdout
            g = re.search(r"gtid_slave_pos\s*=\s*'([^']*)'", text)
            f = re.search(r"MASTER_LOG_FILE='([^']*)', MASTER_LOG_POS=(\d+)", text)
            if g is None:
                return self.unknown(f"the dump {GTID_DUMP} on {self.slave} names no gtid_slave_pos")
            gtid, file_pos = g.group(1), (f"{f.group(1)}:{f.group(2)}" if f else "")
        log = run.host_logs().get(self.slave, "")
        ok, detail, evidence = judge_start(last_start(log), file_pos, gtid)
        return self.result(ok, f"{self.slave}: {detail}", **evidence)


# -- pt-table-checksum under live writes ------------------------------------------------------------------------
CHECKSUMS = "percona.checksums"  # where pt-table-checksum replicates its chunks (plans.LIVE_CHECKSUM writes it)


def checksum_differences(master: list[db.Row], slave: list[db.Row] | None) -> list[str]:
    """The chunks whose checksum a slave computed differently from the master's (pt-table-checksum's own test:
    this_cnt/this_crc against the master_cnt/master_crc replicated with them), and the master's chunks the slave
    never applied; `slave` None: it has no checksum table at all."""
    if slave is None:
        return [f"{r['tbl']} chunk {r['chunk']} not applied" for r in master] or ["no checksum table"]
    have = {(r["tbl"], r["chunk"]): r for r in slave}
    out = []
    for r in master:
        mine = have.get((r["tbl"], r["chunk"]))
        where = f"{r['tbl']} chunk {r['chunk']}" + (
            f" ({r['lower_boundary']}..{r['upper_boundary']})" if r.get("lower_boundary") else ""
        )
        if mine is None or mine.get("master_crc") is None:
            out.append(f"{where} not applied")
        elif mine["this_cnt"] != mine["master_cnt"] or mine["this_crc"] != mine["master_crc"]:
            out.append(
                f"{where}: {mine['this_cnt']} rows crc {mine['this_crc']}, master {mine['master_cnt']} rows crc "
                f"{mine['master_crc']}"
            )
    return out


class LiveChecksumsAgree(Check):
    """What pt-table-checksum found while the writer kept writing: it checksums each chunk on the master in a
    statement that replicates (binlog_format=STATEMENT for its session), so every slave computes the same chunk at
    the same point of the binary log, and stores the master's result beside its own. Once every slave has
    applied the master's binary log up to the checksums (within `within_s`), each slave's `this_cnt/this_crc`
    must equal `master_cnt/master_crc` for every chunk the master checksummed. The stopped-writer comparison
    (SlavesMatchMaster) stays as a second opinion."""

    def __init__(self, slaves: tuple[str, ...] = SLAVES, within_s: float = 30.0, when: str = "") -> None:
        self.slaves = slaves
        self.within_s = within_s
        self.label = f"LiveChecksumsAgree@{when}" if when else None

    def evaluate(self, run: RunView) -> CheckResult:
        columns = "db, tbl, chunk, lower_boundary, upper_boundary, this_cnt, this_crc, master_cnt, master_crc"
        try:
            master = sql(run, "master").query(f"SELECT {columns} FROM {CHECKSUMS} ORDER BY db, tbl, chunk")
        except OpslabError as exc:
            return self.unknown(f"pt-table-checksum left no checksums on the master: {exc.message}")
        if not master:
            return self.unknown("pt-table-checksum checksummed no chunk on the master")
        target = sql(run, "master").master_status()

        def applied(s: str) -> bool:
            st = sql(run, s).slave_status() or {}
            done = db.position(st.get("Relay_Master_Log_File"), st.get("Exec_Master_Log_Pos"))
            return done >= target or st.get("Slave_SQL_Running") != "Yes"

        try:
            wait_until(
                lambda: all(applied(s) for s in self.slaves),
                what="the slaves to apply the checksums",
                timeout=self.within_s,
            )
        except WaitTimeout:
            pass  # a slave still behind is judged below: its chunks are not applied
        per_slave: dict[str, list[str]] = {}
        for s in self.slaves:
            try:
                rows: list[db.Row] | None = sql(run, s).query(f"SELECT {columns} FROM {CHECKSUMS}")
            except OpslabError:
                rows = None
            per_slave[s] = checksum_differences(master, rows)
        bad = {s: d for s, d in per_slave.items() if d}
        evidence = {"chunks": len(master), "differences": {s: d[:10] for s, d in bad.items()}}
        if bad:
            return self.result(
                False,
                "; ".join(f"{s}: {len(d)} of {len(master)} chunk(s): {', '.join(d[:3])}" for s, d in bad.items()),
                **evidence,
            )
        return self.result(
            True, f"{', '.join(self.slaves)} computed every one of the master's {len(master)} chunks alike", **evidence
        )


DB_STATEMENTS = {
    "drop_database": re.compile(r"^DROP DATABASE", re.M),
    "create_database": re.compile(r"^CREATE DATABASE", re.M),
    "use": re.compile(r"^USE `", re.M),
    "drop_table": re.compile(r"^DROP TABLE IF EXISTS", re.M),
    "create_table": re.compile(r"^CREATE TABLE", re.M),
    "insert": re.compile(r"^INSERT INTO", re.M),
}


def dump_statements(text: str) -> dict[str, int]:
    """How many of each statement that decides what a load rebuilds a dump holds."""
    return {k: len(p.findall(text)) for k, p in DB_STATEMENTS.items()}


class DumpRecreatesDatabase(Check):
    """The dump file on `host` rebuilds its database whole, as `--add-drop-database` promises: it drops the
    database, creates it and uses it (`DROP DATABASE`, `CREATE DATABASE`, `USE`), and it completed (`-- Dump
    completed`). A table-list dump (`mysqldump db t1 t2`, no `--databases`) holds none of the three: the option
    does nothing, and the load only replaces the listed tables of a database that must already exist."""

    def __init__(self, host: str, path: str) -> None:
        self.host = host
        self.path = path
        self.label = f"DumpRecreatesDatabase[{host}:{path}]"

    def evaluate(self, run: RunView) -> CheckResult:
        # the dump holds raw blobs: only its size and the heads of the lines that matter are read (as text)
        heads = "^(DROP DATABASE|CREATE DATABASE|USE |DROP TABLE IF EXISTS|CREATE TABLE|INSERT INTO|-- Dump completed)"
        r = run.host(self.host).run(f"wc -c < {self.path} && grep -aE '{heads}' {self.path} | cut -c1-40")
        if not r.succeeded:
            return self.result(False, f"no dump {self.path} on {self.host}: {r.stderr.strip()[:200]}")
        size, _, text = r.stdout.partition("\n")
        counts = dump_statements(text)
        completed = "-- Dump completed" in text
        missing = [k for k in ("drop_database", "create_database", "use") if not counts[k]]
        ok = not missing and completed
        found = ", ".join(f"{k} ×{n}" for k, n in counts.items() if n) or "no statement"
        detail = f"{self.path} ({size.strip()} bytes{', completed' if completed else ', NOT completed'}): {found}"
        if missing:
            detail += f"; no {', '.join(missing)}"
        return self.result(ok, detail, bytes=int(size or 0), completed=completed, statements=counts)


# -- the failure modes DBAs meet ---------------------------------------------------------------------------------
RECONNECTS = re.compile(r"Failed reading log event, reconnecting to retry")
# 10.11: "A slave with the same server_uuid/server_id ...", 11.8: "A slave with the same server_id ..."
SAME_ID = re.compile(r"A slave with the same server_(?:uuid/server_)?id .*server_errno=4052")


class SlavesRegisteredOnce(Check):
    """Every slave has a server-id of its own (none equal to another's or the master's) and is registered with the
    master under it (`SHOW SLAVE HOSTS` on the master lists each slave's id once). Two slaves with one id take
    turns: the master drops the first one's binlog dump when the second registers, and each reconnects in turn;
    the slaves' logs count their reconnections and the master's refusals ("A slave with the same
    server_uuid/server_id ...", server_errno 4052) as evidence."""

    def __init__(self, slaves: tuple[str, ...] = SLAVES) -> None:
        self.slaves = slaves

    def evaluate(self, run: RunView) -> CheckResult:
        ids = {h: str(sql(run, h).variable("server_id")) for h in ("master", *self.slaves)}
        registered = sorted(str(r.get("Server_id")) for r in sql(run, "master").query("SHOW SLAVE HOSTS"))
        logs = run.host_logs()
        connects = {s: len(RECONNECTS.findall(logs.get(s, ""))) for s in self.slaves}
        refused = {s: len(SAME_ID.findall(logs.get(s, ""))) for s in self.slaves}
        shared = sorted({i for h, i in ids.items() if list(ids.values()).count(i) > 1})
        unregistered = [s for s in self.slaves if ids[s] not in registered]
        problems = []
        if shared:
            problems.append(
                "server-id "
                + ", ".join(f"{i} held by {' and '.join(h for h, v in ids.items() if v == i)}" for i in shared)
            )
        if unregistered:
            problems.append(f"not registered with the master: {', '.join(unregistered)}")
        detail = (
            f"server-ids {', '.join(f'{h}={i}' for h, i in ids.items())}; the master lists {registered or 'none'}; "
            f"reconnections: {', '.join(f'{s} {n}' for s, n in connects.items())}; "
            f"refused as a duplicate server-id (4052): {', '.join(f'{s} {n}' for s, n in refused.items())}"
        )
        return self.result(
            not problems,
            ("; ".join(problems) + " — " if problems else "") + detail,
            server_ids=ids,
            registered=registered,
            connections=connects,
            refused_same_id=refused,
        )


class SlavesReadOnly(Check):
    """Every slave refuses writes from anyone but replication (@@read_only ON): a stray write from an application
    or a person lands on the master or nowhere, never on a slave behind replication's back."""

    def __init__(self, slaves: tuple[str, ...] = SLAVES, when: str = "") -> None:
        self.slaves = slaves
        self.label = f"SlavesReadOnly@{when}" if when else None

    def evaluate(self, run: RunView) -> CheckResult:
        values = {s: str(sql(run, s).variable("read_only")) for s in self.slaves}
        writable = [s for s, v in values.items() if v not in ("1", "ON")]
        return self.result(
            not writable,
            (f"writable: {', '.join(writable)}; " if writable else "")
            + ", ".join(f"{s} read_only={v}" for s, v in values.items()),
            read_only=values,
        )


class MasterUserMayReplicate(Check):
    """The account the slave connects with (its Master_User) holds REPLICATION SLAVE on the master (SHOW GRANTS,
    as the master answers it); without it the master refuses to register the slave (IO error 1597, access denied)
    and the IO thread keeps retrying."""

    def __init__(self, slave: str = "slave1") -> None:
        self.slave = slave
        self.label = f"MasterUserMayReplicate[{slave}]"

    def evaluate(self, run: RunView) -> CheckResult:
        st = sql(run, self.slave).slave_status() or {}
        user = st.get("Master_User")
        if not user:
            return self.result(False, f"{self.slave} names no master user (not a slave)")
        try:
            rows = sql(run, "master").query(f"SHOW GRANTS FOR '{user}'@'%'")
        except OpslabError as exc:
            return self.result(False, f"the master has no account {user}@'%': {exc.message}")
        grants = [str(v) for r in rows for v in r.values()]
        ok = any(re.search(r"REPLICATION (SLAVE|REPLICA)|ALL PRIVILEGES ON \*\.\*", g) for g in grants)
        return self.result(
            ok,
            f"{self.slave} connects as {user}: " + " | ".join(g[:100] for g in grants),
            user=user,
            grants=grants,
        )
