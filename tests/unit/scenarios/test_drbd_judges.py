"""The drbd lab's judges on canned data: each one shown passing and failing, no Docker."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pytest

from lab.checks import OutageBelow, Verdict
from lab.scenario import ScenarioRun
from lab.workloads import Op
from scenarios.drbd.checks import (
    AckedWritesKept,
    HeartbeatTookOver,
    Redundant,
    ResyncMovedOnlyChangedBlocks,
    SinglePrimary,
    SingleServiceOwner,
    SplitBrainDetected,
    ranges,
)
from scenarios.drbd.workloads import block_of, parse_writer_log, writes

VIP = "10.9.0.100"


@pytest.fixture
def lab(fake_lab):
    for name in ("alpha", "beta"):
        fake_lab.add_host(name)
    fake_lab._facts.update(vip=VIP, url=f"http://{VIP}:8080")
    return fake_lab


@pytest.fixture
def run(lab) -> ScenarioRun:
    return ScenarioRun("drbd/x", lab)


def reply(lab: Any, host: str, key: str, rc: int, out: str) -> None:
    lab.transports[host].replies[key] = (rc, out)


def status(
    cstate: str = "Connected",
    role: str = "Primary",
    peer_role: str = "Secondary",
    disk: str = "UpToDate",
    peer_disk: str = "UpToDate",
    moved: int = 0,
) -> tuple[int, str]:
    return 0, json.dumps(
        {
            "cstate": cstate,
            "role": role,
            "peer_role": peer_role,
            "disk": disk,
            "peer_disk": peer_disk,
            "resync": {"moved_total": moved},
        }
    )


def write_ops(n: int, by: str = "alpha", gap: tuple[float, float] | None = None, start: int = 1) -> list[Op]:
    ops = []
    for i in range(start, start + n):
        t = 100.0 + i * 0.1
        if gap and gap[0] < t < gap[1]:
            ops.append(Op(t, False, f"n={i} error=TimeoutError: timed out"))
        else:
            ops.append(Op(t, True, f"n={i} by={by}"))
    return ops


def test_writer_log_becomes_operations_and_writes() -> None:
    text = (
        '{"t": 1.5, "n": 1, "ok": true, "by": "alpha"}\n'
        '{"t": 1.6, "n": 2, "ok": false, "error": "URLError: refused"}\n'
        '{"t": 1.7, "n": 3, "ok": tr'  # torn last line
    )
    ops = parse_writer_log(text)
    assert [(o.t, o.ok, o.value) for o in ops] == [
        (1.5, True, "n=1 by=alpha"),
        (1.6, False, "n=2 error=URLError: refused"),
    ]
    ws = writes(ops)
    assert ws[0].n == 1 and ws[0].by == "alpha" and not ws[1].ok and ws[1].error == "URLError: refused"
    assert block_of(0) == 1 and block_of(63) == 1 and block_of(64) == 2
    assert ranges([9, 3, 4, 5, 11, 12]) == "3-5, 9, 11-12"


def test_single_primary(lab, run: ScenarioRun) -> None:
    reply(lab, "alpha", "drbdadm role r0", 0, "Primary/Secondary\n")
    reply(lab, "beta", "drbdadm role r0", 0, "Secondary/Primary\n")
    assert SinglePrimary().evaluate(run.view).verdict == Verdict.PASS
    reply(lab, "beta", "drbdadm role r0", 0, "Primary/Unknown\n")
    r = SinglePrimary().evaluate(run.view)
    assert r.verdict == Verdict.FAIL and "alpha, beta" in r.detail
    reply(lab, "beta", "drbdadm role r0", 1, "Error: No such container")  # a node being replaced
    assert SinglePrimary().evaluate(run.view).verdict == Verdict.PASS


def test_single_service_owner(lab, run: ScenarioRun) -> None:
    # one probe per node: its addresses, then SERVING when the record service answers its status
    reply(
        lab, "alpha", "ip -4 -o addr show dev eth0", 0, f"2: eth0 inet 10.9.0.11/24\n2: eth0 inet {VIP}/24\nSERVING\n"
    )
    reply(lab, "beta", "ip -4 -o addr show dev eth0", 0, "2: eth0 inet 10.9.0.12/24\n")
    r = SingleServiceOwner().evaluate(run.view)
    assert r.verdict == Verdict.PASS and "alpha: vip service" in r.detail
    reply(lab, "beta", "ip -4 -o addr show dev eth0", 0, f"2: eth0 inet {VIP}/24\n")
    r = SingleServiceOwner().evaluate(run.view)
    assert r.verdict == Verdict.FAIL and "beta: vip" in r.detail
    reply(lab, "beta", "ip -4 -o addr show dev eth0", 0, "2: eth0 inet 10.9.0.12/24\nSERVING\n")
    r = SingleServiceOwner().evaluate(run.view)
    assert r.verdict == Verdict.FAIL and "beta: service" in r.detail


def readback(missing: set[int]) -> Any:
    def answer(command: str) -> tuple[int, str]:
        numbers = [int(x) for x in command.split("echo ", 1)[1].split("|")[0].strip(" '").split()]
        lines = [
            json.dumps({"n": n, "found": n not in missing, "value": "HTTP 404" if n in missing else f"record {n} @1"})
            for n in numbers
        ]
        return 0, "\n".join(lines) + "\n"

    return answer


def test_acked_writes_kept_lists_what_was_lost(lab, run: ScenarioRun) -> None:
    run.ops["RecordWriter"] = write_ops(10, "alpha") + write_ops(5, "beta", start=11)
    lab.transports["client"].replies["writer.py read"] = readback(set())
    r = AckedWritesKept().evaluate(run.view)
    assert r.verdict == Verdict.PASS and r.evidence["acked"] == 15
    lab.transports["client"].replies["writer.py read"] = readback({11, 12, 13, 15})
    r = AckedWritesKept().evaluate(run.view)
    assert r.verdict == Verdict.FAIL and r.evidence["lost"] == [11, 12, 13, 15]
    assert "acknowledged by beta: 11-13, 15" in r.detail
    by_alpha = AckedWritesKept(by="alpha").evaluate(run.view)
    assert by_alpha.verdict == Verdict.PASS and by_alpha.name == "AckedWritesKept@alpha"
    lab.transports["client"].replies["writer.py read"] = (0, "")  # the service did not answer
    assert AckedWritesKept().evaluate(run.view).verdict == Verdict.UNKNOWN
    run.ops.clear()
    assert AckedWritesKept().evaluate(run.view).verdict == Verdict.UNKNOWN


def test_outage_below(run: ScenarioRun) -> None:
    run.ops["RecordWriter"] = write_ops(100, gap=(103.0, 106.05))
    r = OutageBelow("RecordWriter", 2.0).evaluate(run.view)
    assert r.verdict == Verdict.FAIL and r.evidence["outage_s"] == pytest.approx(3.1)
    assert OutageBelow("RecordWriter", 4.0).evaluate(run.view).verdict == Verdict.PASS
    run.ops.clear()
    assert OutageBelow("RecordWriter", 4.0).evaluate(run.view).verdict == Verdict.UNKNOWN


def test_redundant(lab, run: ScenarioRun) -> None:
    lab.transports["beta"].replies["status --json"] = status(role="Secondary", peer_role="Primary")
    assert Redundant("beta").evaluate(run.view).verdict == Verdict.PASS
    lab.transports["beta"].replies["status --json"] = status("WFConnection", disk="Inconsistent", peer_disk="DUnknown")
    r = Redundant("beta", when="cut").evaluate(run.view)
    assert r.verdict == Verdict.FAIL and "ds:Inconsistent/DUnknown" in r.detail and r.name == "Redundant(beta)@cut"
    lab.transports["beta"].replies["status --json"] = (10, "cannot reach the drbd daemon")
    assert Redundant("beta").evaluate(run.view).verdict == Verdict.UNKNOWN


def began(bits: int) -> tuple[int, str]:
    return 0, f"[  0.58] block drbd0: Began resync as SyncTarget (will sync {bits * 4} KB [{bits} bits set]).\n"


def digests(blocks: dict[int, str] | None, n: int = 8) -> tuple[int, str]:
    """digests.py's answer: a disk of n blocks, `blocks` giving the non-zero ones (None: no file, a blank disk)."""
    zero = hashlib.sha1(bytes(4096)).hexdigest()[:16]
    listed = None if blocks is None else [blocks.get(b, zero) for b in range(n)]
    return 0, json.dumps({"t": 1.0, "block_size": 4096, "blocks": n, "digests": listed})


def test_resync_moved_only_changed_blocks(lab, run: ScenarioRun) -> None:
    """Judged from the disks (digests as the node booted and now, its peer's now) and DRBD's log."""
    run.ops["RecordWriter"] = write_ops(200)  # records 1..200 at t = 100.1 .. 120.0
    since, until = 100.0, 110.0  # records 1..100: blocks 1 and 2; records 101..200 (after): blocks 2..4
    beta, alpha = lab.transports["beta"].replies, lab.transports["alpha"].replies
    beta["status --json"] = status(moved=3)
    beta["drbd-r0.log"] = began(2)
    beta[".boot-digests.json"] = digests({1: "old1"})
    beta["digests.py"] = digests({1: "new1", 2: "new2", 3: "new3"})
    alpha["digests.py"] = digests({1: "new1", 2: "new2", 3: "new3"})
    r = ResyncMovedOnlyChangedBlocks("beta", since, until).evaluate(run.view)
    assert r.verdict == Verdict.PASS, r.detail
    assert (r.evidence["bits"], r.evidence["moved"], r.evidence["changed"]) == (2, 3, 2)
    beta["drbd-r0.log"] = began(1024)  # a full sync
    r = ResyncMovedOnlyChangedBlocks("beta", since, until).evaluate(run.view)
    assert r.verdict == Verdict.FAIL and "1024 blocks" in r.detail
    beta["drbd-r0.log"] = began(2)
    alpha["digests.py"] = digests({1: "new1", 2: "new2", 3: "new3", 6: "alpha6"})
    r = ResyncMovedOnlyChangedBlocks("beta", since, until).evaluate(run.view)
    assert r.verdict == Verdict.FAIL and "differs from alpha's after the resync in blocks 6" in r.detail
    beta["digests.py"] = alpha["digests.py"]  # both have block 6, which the client never wrote
    r = ResyncMovedOnlyChangedBlocks("beta", since, until).evaluate(run.view)
    assert r.verdict == Verdict.FAIL and "blocks 6 changed on beta though the client never wrote them" in r.detail
    beta[".boot-digests.json"] = digests(None)  # booted with a blank disk: block 6 still was not the client's
    assert ResyncMovedOnlyChangedBlocks("beta", since, until).evaluate(run.view).verdict == Verdict.FAIL
    beta[".boot-digests.json"] = (1, "cat: no such file")
    assert ResyncMovedOnlyChangedBlocks("beta", since, until).evaluate(run.view).verdict == Verdict.UNKNOWN
    beta["status --json"] = (10, "cannot reach the drbd daemon")
    assert ResyncMovedOnlyChangedBlocks("beta", since, until).evaluate(run.view).verdict == Verdict.UNKNOWN


HA_LOG_TAKEOVER = """\
2026/11/28_21:12:22  mach_down(default)[891]:    info: Taking over resource group drbddisk::r0
2026/11/28_21:12:27  mach_down(default)[891]:    info: mach_down takeover complete for node alpha.
Nov 28 21:12:28 beta heartbeat: [58]: info: mach_down takeover complete.
"""
HA_LOG_STANDBY = "Nov 28 21:11:39 beta heartbeat: [58]: info: Local Resource acquisition completed. (none)\n"
HA_LOG_REFUSED = HA_LOG_STANDBY + (
    "2026/11/28_21:20:01  ResourceManager(default)[525]:    ERROR: Return code 1 from /etc/ha.d/resource.d/drbddisk\n"
)


def test_heartbeat_took_over(lab, run: ScenarioRun) -> None:
    reply(lab, "beta", "/var/log/ha-log", 0, HA_LOG_TAKEOVER)
    assert HeartbeatTookOver("beta").evaluate(run.view).verdict == Verdict.PASS
    reply(lab, "beta", "/var/log/ha-log", 0, HA_LOG_STANDBY)
    assert HeartbeatTookOver("beta").evaluate(run.view).verdict == Verdict.FAIL
    reply(lab, "beta", "/var/log/ha-log", 0, HA_LOG_REFUSED)
    r = HeartbeatTookOver("beta").evaluate(run.view)
    assert r.verdict == Verdict.FAIL and "Return code 1" in r.detail
    reply(lab, "beta", "/var/log/ha-log", 1, "No such file")
    assert HeartbeatTookOver("beta").evaluate(run.view).verdict == Verdict.UNKNOWN


def test_split_brain_detected(lab, run: ScenarioRun) -> None:
    reply(
        lab,
        "alpha",
        "drbd-r0.log",
        0,
        "[  9.1] block drbd0: Split-Brain detected but unresolved, dropping connection!\n",
    )
    reply(lab, "alpha", "drbdadm cstate r0", 0, "StandAlone\n")
    assert SplitBrainDetected("alpha").evaluate(run.view).verdict == Verdict.PASS
    reply(lab, "alpha", "drbdadm cstate r0", 0, "Connected\n")
    assert SplitBrainDetected("alpha").evaluate(run.view).verdict == Verdict.FAIL
    reply(lab, "alpha", "drbd-r0.log", 0, "[  1.0] d-con r0: conn( WFConnection -> Connected )\n")
    reply(lab, "alpha", "drbdadm cstate r0", 0, "StandAlone\n")
    assert SplitBrainDetected("alpha").evaluate(run.view).verdict == Verdict.FAIL
