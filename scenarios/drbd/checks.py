"""Judges of the drbd lab: they read the nodes (drbdadm, heartbeat's log, addresses) and the client's writes.

Invariants (after every step): `SinglePrimary` (at most one DRBD Primary), `SingleServiceOwner` (the floating IP and
the record service on at most one node). Checks: `AckedWritesKept` (every acknowledged record reads back through the
floating IP), `Redundant` (Connected, both UpToDate), `ResyncMovedOnlyChangedBlocks` (block digests of the disks,
and DRBD's log), `HeartbeatTookOver`
(heartbeat's log on a node shows a completed takeover), `SplitBrainDetected` (DRBD's log says so and the node is
StandAlone). None changes anything: reading records back is a GET. The failover window is lab/checks.py's
`OutageBelow` over the client's writes (`WRITER_NAME`).
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

from lab.checks import Check, CheckResult, Invariant
from lab.host import Reader
from lab.view import RunView
from scenarios.drbd.lab import NODES
from scenarios.drbd.workloads import WRITER, Write, block_of, writes

WRITER_NAME = "RecordWriter"
HA_LOG = "/var/log/ha-log"
DRBD_LOG = "/var/log/drbd-r0.log"


def ranges(numbers: list[int]) -> str:
    """'3-5, 9' for [3, 4, 5, 9]."""
    out: list[str] = []
    for n in sorted(numbers):
        if out and out[-1].split("-")[-1] == str(n - 1):
            out[-1] = f"{out[-1].split('-')[0]}-{n}"
        else:
            out.append(str(n))
    return ", ".join(out)


def role(host: Reader) -> str:
    """'Primary', 'Secondary', 'Unconfigured', or 'down' when the node does not answer."""
    r = host.run("drbdadm role r0")
    if not r.succeeded:
        return "down"
    return r.stdout.strip().split("/")[0] or "down"


def drbd_status(host: Reader) -> dict[str, Any] | None:
    r = host.run("drbdadm status --json r0")
    if not r.succeeded:
        return None
    try:
        status: dict[str, Any] = json.loads(r.stdout)
    except json.JSONDecodeError:
        return None
    return status


def client_writes(run: RunView) -> list[Write] | None:
    ops = run.ops.get(WRITER_NAME)
    return None if ops is None else writes(ops)


class SinglePrimary(Invariant):
    """At most one node is DRBD Primary."""

    def evaluate(self, run: RunView) -> CheckResult:
        roles = {n: role(run.host(n)) for n in NODES}
        primaries = [n for n, r in roles.items() if r == "Primary"]
        seen = ", ".join(f"{n} {r}" for n, r in roles.items())
        return self.result(len(primaries) <= 1, f"primaries: {', '.join(primaries) or 'none'} ({seen})", roles=roles)


class SingleServiceOwner(Invariant):
    """The floating IP and the record service live on at most one node."""

    def evaluate(self, run: RunView) -> CheckResult:
        vip = run.facts["vip"]
        owners = {}
        for n in NODES:  # one exec per node: this runs every second while the lab is watched
            out = (
                run.host(n)
                .run("ip -4 -o addr show dev eth0; /etc/ha.d/resource.d/recordd status >/dev/null 2>&1 && echo SERVING")
                .stdout
            )
            owners[n] = {"vip": f" {vip}/" in out, "service": "SERVING" in out.split()}
        holding = [n for n, o in owners.items() if o["vip"] or o["service"]]
        detail = (
            ", ".join(
                f"{n}: {'vip ' if o['vip'] else ''}{'service' if o['service'] else ''}".strip()
                for n, o in owners.items()
                if o["vip"] or o["service"]
            )
            or "nobody"
        )
        return self.result(len(holding) <= 1, f"service held by {detail}", owners=owners)


class AckedWritesKept(Check):
    """Every record the service acknowledged (optionally: those stored by one node) reads back through the VIP."""

    def __init__(self, by: str | None = None) -> None:
        self.by = by

    @property
    def name(self) -> str:
        return f"AckedWritesKept@{self.by}" if self.by else "AckedWritesKept"

    def evaluate(self, run: RunView) -> CheckResult:
        ws = client_writes(run)
        if ws is None:
            return self.unknown("the client's writes were not recorded")
        acked = {w.n: w for w in ws if w.ok and (self.by is None or w.by == self.by)}
        if not acked:
            return self.unknown("no acknowledged write to look for")
        numbers = " ".join(str(n) for n in sorted(acked))
        r = run.host("client").run(f"echo %s | python3 {WRITER} read {run.facts['url']}", numbers)
        found: dict[int, Any] = {}
        for line in r.stdout.splitlines():
            rec = json.loads(line)
            found[int(rec["n"])] = rec
        unreadable = [n for n in acked if n not in found or found[n]["found"] is None]
        if unreadable:
            return self.unknown(
                f"{len(unreadable)} records could not be read back (the service did not answer)",
                unreadable=unreadable[:50],
            )
        lost = sorted(n for n in acked if not (found[n]["found"] and found[n]["value"].startswith(f"record {n} ")))
        lost_by: dict[str, list[int]] = {}
        for n in lost:
            lost_by.setdefault(acked[n].by, []).append(n)
        if not lost:
            return self.result(True, f"all {len(acked)} acknowledged records read back", acked=len(acked), lost=[])
        who = "; ".join(f"acknowledged by {b}: {ranges(ns)}" for b, ns in sorted(lost_by.items()))
        return self.result(
            False,
            f"{len(lost)} of {len(acked)} acknowledged records lost ({who})",
            acked=len(acked),
            lost=lost,
            lost_by=lost_by,
        )


class Redundant(Check):
    """On `node`, r0 is Connected and both disks are UpToDate."""

    def __init__(self, node: str, when: str = "") -> None:
        self.node = node
        self.when = when

    @property
    def name(self) -> str:
        return f"Redundant({self.node})" + (f"@{self.when}" if self.when else "")

    def evaluate(self, run: RunView) -> CheckResult:
        s = drbd_status(run.host(self.node))
        if s is None:
            return self.unknown(f"{self.node} did not answer drbdadm status")
        line = f"cs:{s['cstate']} ro:{s['role']}/{s['peer_role']} ds:{s['disk']}/{s['peer_disk']}"
        ok = s["cstate"] == "Connected" and s["disk"] == s["peer_disk"] == "UpToDate"
        return self.result(ok, f"{self.node}: {line}", status=line)


BEGAN_RESYNC = re.compile(r"Began resync as SyncTarget \(will sync \d+ KB \[(\d+) bits set\]\)")


DIGESTS = "/opt/opslab/node/digests.py"
BOOT_DIGESTS = "/var/lib/drbd/.boot-digests.json"  # written by the node's entrypoint before `drbdadm up`


def disk_digests(host: Reader, command: str) -> list[str] | None:
    """The per-block digests `command` prints (digests.py's JSON); a blank disk (no file) is all zero blocks."""
    r = host.run(command)
    if not r.succeeded:
        return None
    try:
        raw = json.loads(r.stdout)
    except json.JSONDecodeError:
        return None
    if raw.get("digests") is not None:
        return [str(d) for d in raw["digests"]]
    zero = hashlib.sha1(bytes(int(raw["block_size"]))).hexdigest()[:16]
    return [zero] * int(raw["blocks"])


class ResyncMovedOnlyChangedBlocks(Check):
    """The resync into `node` made its disk the same as its peer's, changed nothing the client had not written, and
    set out to move no more blocks than the client's writes changed while the node was away.

    `since`..`until` is when the node was away (its resource down to its resync done); the client's blocks are
    those of every write attempted from `pending_s` before `since` on, acknowledged or not (a write the client
    gave up on may still have reached the disk; DRBD's net timeout: a write the peer had not acknowledged when the
    link went is marked out of sync too). Independent of the stand-in, from the disks themselves: the block digests
    of the node's disk as it booted (its entrypoint takes them before `drbdadm up`) and now, and of its peer's
    disk now (the client has stopped): both disks must be equal, and every block that changed on the node since it
    booted must be one the client wrote. Digests cannot see a block rewritten with what it already held, so how
    many blocks the resync moved is DRBD's own word, in the sync target's log: "Began resync as SyncTarget (will
    sync N KB [k bits set])" (the largest k since the node booted), k at most the blocks the client changed while
    the node was away. The target's moved-blocks counter (`status --json` resync.moved_total) comes as evidence.
    """

    def __init__(self, node: str, since: float, until: float, pending_s: float = 2.0) -> None:
        self.node = node
        self.since = since
        self.until = until
        self.pending_s = pending_s

    @property
    def name(self) -> str:
        return f"ResyncMovedOnlyChangedBlocks({self.node})"

    def evaluate(self, run: RunView) -> CheckResult:
        ws = client_writes(run)
        h = run.host(self.node)
        peer = next(n for n in NODES if n != self.node)
        s = drbd_status(h)
        if ws is None or s is None:
            return self.unknown("no writes recorded or no status from the node")
        booted = disk_digests(h, f"cat {BOOT_DIGESTS}")
        now = disk_digests(h, f"python3 {DIGESTS}")
        peer_now = disk_digests(run.host(peer), f"python3 {DIGESTS}")
        if booted is None or now is None or peer_now is None or not len(booted) == len(now) == len(peer_now):
            return self.unknown(f"no block digests of {self.node}'s disk as it booted, or of the disks now")
        away = {block_of(w.n) for w in ws if self.since - self.pending_s <= w.t <= self.until}
        written = {block_of(w.n) for w in ws if self.since - self.pending_s <= w.t}
        differ = [b for b in range(len(now)) if now[b] != peer_now[b]]
        changed = {b for b in range(len(now)) if booted[b] != now[b]}
        strays = sorted(changed - written)
        moved = int(s["resync"]["moved_total"])
        log = h.run("cat %s", DRBD_LOG).stdout
        bits = max((int(m.group(1)) for m in BEGAN_RESYNC.finditer(log)), default=0)
        evidence = {"bits": bits, "moved": moved, "changed": len(away), "disk_changed": len(changed)}
        if differ:
            return self.result(
                False,
                f"{self.node}'s disk differs from {peer}'s after the resync in blocks {ranges(differ)}",
                **evidence,
            )
        if strays:
            return self.result(
                False, f"blocks {ranges(strays)} changed on {self.node} though the client never wrote them", **evidence
            )
        return self.result(
            bits <= len(away),
            f"{self.node}'s disk equals {peer}'s; {len(changed)} blocks changed on it since it booted, all written by"
            f" the client; its resync set out to move {bits} blocks (moved {moved} times), the client changed"
            f" {len(away)} blocks while it was away",
            **evidence,
        )


TAKEOVER_DONE = re.compile(r"mach_down takeover complete|Resource acquisition completed\.?\s*$")
ACQUIRE_FAILED = re.compile(r"Return code [1-9]\d* from /etc/ha\.d/resource\.d/drbddisk|Giving up|acquisition failed")


class HeartbeatTookOver(Check):
    """Heartbeat's log on `node` shows that it acquired the resource group and every resource started."""

    def __init__(self, node: str) -> None:
        self.node = node

    @property
    def name(self) -> str:
        return f"HeartbeatTookOver({self.node})"

    def evaluate(self, run: RunView) -> CheckResult:
        r = run.host(self.node).run("cat %s", HA_LOG)
        if not r.succeeded:
            return self.unknown(f"cannot read {HA_LOG} on {self.node}")
        lines = r.stdout.splitlines()
        done = [ln for ln in lines if TAKEOVER_DONE.search(ln)]
        failed = [ln for ln in lines if ACQUIRE_FAILED.search(ln)]
        if failed:
            return self.result(
                False, f"heartbeat on {self.node} failed to take over: {failed[0].strip()}", lines=failed[:5]
            )
        if done:
            return self.result(True, f"heartbeat on {self.node}: {done[-1].strip()}", lines=done[-3:])
        return self.result(False, f"heartbeat on {self.node} never took the resources over")


class SplitBrainDetected(Check):
    """DRBD on `node` detected a split brain (its log says so) and dropped the connection (StandAlone)."""

    def __init__(self, node: str) -> None:
        self.node = node

    @property
    def name(self) -> str:
        return f"SplitBrainDetected({self.node})"

    def evaluate(self, run: RunView) -> CheckResult:
        h = run.host(self.node)
        log = h.run("cat %s", DRBD_LOG).stdout
        said = [ln for ln in log.splitlines() if "Split-Brain detected" in ln]
        cstate = h.run("drbdadm cstate r0").stdout.strip() or "?"
        ok = bool(said) and cstate == "StandAlone"
        what = said[-1].split("] ", 1)[-1] if said else "no split brain in DRBD's log"
        return self.result(ok, f"{self.node}: {what}; cs:{cstate}", cstate=cstate)
