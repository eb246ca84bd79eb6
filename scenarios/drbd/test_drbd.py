"""Scenarios of the drbd lab: replacing both nodes of a DRBD pair under heartbeat, and what goes wrong.

Every scenario starts the same way (`scenarios.drbd.plans.begin`): the volume's first sync, heartbeat on both
nodes, alpha holding the resource group (DRBD Primary, the floating IP, the record service), and the client
writing a numbered record every 100 ms through the floating IP. The client's view (acknowledged and failed writes
over time) is the availability of the service; its longest silence is the failover window (`failover_s`). The
runbook's scenario walks the plan `opslab rehearse` walks (`REPLACE_BOTH_NODES`).
"""

from __future__ import annotations

import time

import pytest

from lab.checks import OutageBelow, StepFailedWith
from lab.procedure import Step
from lab.scenario import ScenarioRun
from scenarios.drbd.checks import (
    WRITER_NAME,
    AckedWritesKept,
    HeartbeatTookOver,
    Redundant,
    ResyncMovedOnlyChangedBlocks,
    SinglePrimary,
    SingleServiceOwner,
    SplitBrainDetected,
    drbd_status,
    role,
)
from scenarios.drbd.faults import CrashNode, CutLink, ThrottleReplication, UnpluggedReplicationLink
from scenarios.drbd.plans import REPLACE_BOTH_NODES, WATCH, away_window, begin, failover, finish
from scenarios.drbd.procedures import SYNCED, boot, replace, shut_down
from scenarios.drbd.workloads import RecordWriter, writes


def test_replace_both_nodes(scenario: ScenarioRun) -> None:
    """The runbook: replace beta (secondary), fail over to it, replace alpha; the service answers throughout but
    for one failover window, nothing acknowledged is lost, resyncs move only the changed blocks."""
    REPLACE_BOTH_NODES.walk(scenario, "replace_both_nodes", watch=WATCH)


def cstate(run: ScenarioRun, node: str) -> str:
    s = drbd_status(run.host(node))
    return str(s["cstate"]) if s else "?"


def split_brain(run: ScenarioRun) -> RecordWriter:
    """Beta is replaced and boots without its replication link: it takes over too; then the link comes back."""
    writer = begin(run, watch=False)
    run.watch(SinglePrimary(), expect="fail")
    run.watch(SingleServiceOwner(), expect="fail")
    unplugged = UnpluggedReplicationLink("beta")
    run.inject(unplugged)
    run.procedure("replace_secondary")
    run.wait_for(
        lambda: role(run.host("beta")) == "Primary",
        what="beta to promote itself (it sees no peer)",
        timeout=run.facts["initdead_s"] + 20,
    )
    t_beta = run.steps[-1].started
    run.wait_for(
        lambda: writer.acked_since(run, t_beta, by="beta"), what="the client's writes to land on beta", timeout=10
    )
    run.step(
        Step(
            "beta",
            "drbdadm status r0",
            "beta is Primary on its own",
            expect_output=r"^r0 role:Primary\n.*\n  peer connection:Connecting$",
        )
    )
    run.heal(unplugged)
    run.wait_for(
        lambda: all(cstate(run, n) == "StandAlone" for n in ("alpha", "beta")),
        what="DRBD to meet its peer again and give up (StandAlone on both)",
        timeout=20,
    )
    run.step(Step("alpha", "drbdadm cstate r0", "alpha after the link came back", expect_output="StandAlone"))
    return writer


def test_boot_without_replication_link(scenario: ScenarioRun) -> None:
    """The runbook's warning: the replaced node booted without its replication link takes over as well; two
    primaries serve the floating IP; when the link returns DRBD detects the split brain and both go StandAlone."""
    run = scenario
    writer = split_brain(run)
    finish(run, writer)
    run.check(SplitBrainDetected("alpha"))
    run.check(SplitBrainDetected("beta"))
    run.check(HeartbeatTookOver("beta"))
    run.check(Redundant("alpha"), expect="fail")


def test_split_brain_manual_recovery(scenario: ScenarioRun) -> None:
    """After the split brain, beta is the victim: its changes are discarded. Exactly the records acknowledged
    by beta during the split are lost (listed); alpha's are all there."""
    run = scenario
    writer = split_brain(run)
    run.procedure("recover_split_brain")
    t = run.steps[-1].started
    run.wait_for(lambda: writer.acked_since(run, t), what="the client to be served again", timeout=15)
    finish(run, writer)
    kept = run.check(AckedWritesKept(), expect="fail")
    lost = kept.evidence.get("lost", [])
    run.metric("acked_writes_lost", len(lost))
    run.note(f"records lost with the victim's data: {kept.detail}")
    run.check(AckedWritesKept(by="alpha"))
    run.check(Redundant("alpha"))
    lost_by = kept.evidence.get("lost_by", {})
    run.metric("lost_acked_by_alpha", len(lost_by.get("alpha", [])))


def test_primary_crash(scenario: ScenarioRun) -> None:
    """The primary dies mid-write: heartbeat on beta declares it dead after deadtime and takes over; protocol C
    means nothing acknowledged is lost. Alpha comes back as Secondary (auto_failback off) and resyncs."""
    run = scenario
    writer = begin(run)
    run.wait_for(
        lambda: sum(w.ok for w in writes(writer.ops_so_far(run))) >= 10, what="ten acknowledged writes", timeout=10
    )
    crash = CrashNode("alpha")
    run.inject(crash)
    t_crash = run.faults[-1].invoked
    run.wait_for(
        lambda: writer.acked_since(run, t_crash, by="beta"),
        what="beta to serve the client",
        timeout=run.facts["deadtime_s"] + 20,
    )
    run.step(Step("beta", "drbdadm role r0", "beta is Primary", expect_output="^Primary/"))
    run.heal(crash)
    run.step(Step("alpha", SYNCED, "alpha back, resynced", timeout=60))
    finish(run, writer)
    failover(run)
    # deadtime, then the takeover of three resources (each a script) on a shared machine
    run.check(OutageBelow(WRITER_NAME, run.facts["deadtime_s"] + 4))
    run.check(OutageBelow(WRITER_NAME, 1.0), expect="fail")
    kept = run.check(AckedWritesKept())
    run.metric("acked_writes_lost", len(kept.evidence.get("lost", [])))
    run.check(HeartbeatTookOver("beta"))
    run.check(SplitBrainDetected("beta"), expect="fail")
    run.check(Redundant("alpha"))


def test_heartbeat_link_cut(scenario: ScenarioRun) -> None:
    """Heartbeat's packets are lost while replication lives: beta's heartbeat declares alpha dead and tries to
    take over, DRBD refuses the second promotion ("Multiple primaries not allowed"), the service runs once."""
    run = scenario
    writer = begin(run)
    cut = CutLink("beta", "heartbeat")
    run.inject(cut)
    run.wait_for(
        lambda: "drbddisk" in run.host("beta").run("grep -i 'drbddisk' /var/log/ha-log").stdout,
        what="beta's heartbeat to try the takeover",
        timeout=run.facts["deadtime_s"] + 15,
    )
    run.step(
        Step(
            "beta",
            "drbdadm primary r0",
            "a second promotion, by hand",
            expect_rc=None,
            expect_output="Multiple primaries not allowed",
        )
    )
    run.wait_for(
        lambda: "Return code" in run.host("beta").run("grep 'Return code' /var/log/ha-log").stdout,
        what="beta's takeover attempt to end",
        timeout=20,
    )
    run.step(Step("beta", "drbdadm role r0", "beta is still Secondary", expect_output="^Secondary/Primary"))
    finish(run, writer)
    run.check(StepFailedWith("a second promotion, by hand", "(-1) Multiple primaries not allowed by config", rc=11))
    run.check(HeartbeatTookOver("beta"), expect="fail")
    run.check(AckedWritesKept())
    run.check(Redundant("alpha"))
    # healed at the end: when heartbeat's packets flow again both heartbeats restart ("Cluster node alpha
    # returning after partition"), which is heartbeat's own business, after what this scenario shows


@pytest.mark.lab_params(resync_rate="4M")
def test_resync_interrupted(scenario: ScenarioRun) -> None:
    """Beta is replaced with a blank disk: a full resync starts, the replication link breaks in the middle; beta
    stays Inconsistent and cannot be promoted; when the link returns the resync finishes (a full one: far more
    blocks than the client changed)."""
    run = scenario
    writer = begin(run)
    for step in shut_down("beta", 1)[:2]:
        run.step(step)
    run.step(Step("beta", "rm -f /var/lib/drbd/r0.img /var/lib/drbd/r0.img.md.json", "beta gets a new, blank disk"))
    run.step(shut_down("beta", 1)[2])
    run.step(replace("beta", 4))
    slow = ThrottleReplication("alpha", "2mbit")
    run.inject(slow)
    run.step(boot("beta", 5))
    run.wait_for(
        lambda: (s := drbd_status(run.host("beta"))) and s["cstate"] == "SyncTarget" and s["resync"]["done"] > 0,
        what="beta's full resync to be under way",
        timeout=30,
    )
    cut = CutLink("beta", "replication")
    run.inject(cut)
    run.wait_for(
        lambda: (s := drbd_status(run.host("beta"))) and s["cstate"] != "SyncTarget",
        what="beta to lose the link",
        timeout=15,
    )
    run.step(Step("beta", "drbdadm dstate r0", "beta's disk after the break", expect_output="^Inconsistent/"))
    run.check(Redundant("beta", when="link_broken"), expect="fail")
    run.step(
        Step(
            "beta",
            "drbdadm primary r0",
            "promote the half-synced node",
            expect_rc=17,
            expect_output="Need access to UpToDate data",
        )
    )
    run.check(StepFailedWith("promote the half-synced node", "(-2) Need access to UpToDate data", rc=17))
    run.heal(cut)
    run.heal(slow)
    run.step(Step("beta", SYNCED, "the resync resumes and finishes", timeout=60))
    finish(run, writer)
    since, until = away_window(run, "beta")
    r = run.check(ResyncMovedOnlyChangedBlocks("beta", since, until), expect="fail")
    run.metric("resynced_blocks_beta", r.evidence.get("bits", -1))
    run.metric("resync_moves_beta", r.evidence.get("moved", -1))
    run.check(Redundant("beta"))
    run.check(AckedWritesKept())


@pytest.mark.lab_params(resync_rate="256K")
def test_replace_with_new_disks(scenario: ScenarioRun) -> None:
    """Beta's hardware is replaced with its disk: a new machine with a new, empty disk (`drbdadm create-md r0`), so
    it needs a full sync from alpha. Until beta is UpToDate it cannot stand alone: a SyncTarget may
    be promoted only while its UpToDate peer is there (is_valid_state), so when alpha crashes mid-sync heartbeat on
    beta cannot take over ("(-2) Need access to UpToDate data") and the service is down until alpha is back. Then the
    full sync finishes and beta is a node that could take over."""
    run = scenario
    writer = begin(run)
    for step in shut_down("beta", 1)[:2]:
        run.step(step)
    run.step(
        Step(
            "beta",
            "rm -f /var/lib/drbd/r0.img /var/lib/drbd/r0.img.md.json && drbdadm create-md r0",
            "3. beta gets a new, empty disk: create-md",
            expect_output="New drbd meta data block successfully created.",
        )
    )
    run.step(shut_down("beta", 4)[2])
    run.step(replace("beta", 5))
    run.step(boot("beta", 6))
    run.wait_for(
        lambda: (s := drbd_status(run.host("beta"))) and s["cstate"] == "SyncTarget" and s["resync"]["done"] > 0,
        what="beta's full sync to be under way",
        timeout=30,
    )
    full = drbd_status(run.host("beta"))
    run.metric("full_sync_blocks", full["resync"]["total"] if full else -1)
    crash = CrashNode("alpha")
    run.inject(crash)
    run.wait_for(
        lambda: "Return code" in run.host("beta").run("grep 'Return code' /var/log/ha-log").stdout,
        what="beta's heartbeat to try the takeover, and fail",
        timeout=run.facts["deadtime_s"] + 30,
    )
    run.step(Step("beta", "drbdadm dstate r0", "beta's disk, alone", expect_output="^Inconsistent/DUnknown"))
    run.step(
        Step(
            "beta",
            "drbdadm primary r0",
            "promote the half-synced node by hand",
            expect_rc=17,
            expect_output="Need access to UpToDate data",
        )
    )
    run.heal(crash)
    t_back = time.time()
    run.step(Step("beta", SYNCED, "alpha back: the full sync finishes", timeout=90))
    run.wait_for(
        lambda: writer.acked_since(run, t_back),
        what="the service to answer again",
        timeout=run.facts["initdead_s"] + 30,
    )
    finish(run, writer)
    failover(run)
    run.check(HeartbeatTookOver("beta"), expect="fail")
    run.check(OutageBelow(WRITER_NAME, run.facts["deadtime_s"] + 4), expect="fail")
    run.check(AckedWritesKept())
    run.check(Redundant("beta"))
