"""Scenarios of the arp lab: moving a service IP to another server (see LABS.md, arp).

Every migration starts the same way: the service IP on `old`, the client pinging it every 100 ms through the
gateway, a capture running on the LAN, and the gateway's entry for the service IP just confirmed
(REACHABLE), the worst moment to move it, so that the outage without a gratuitous ARP is predictable.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import pytest

from lab.capture import Capture, arp_fields, arp_only
from lab.checks import StepFailedWith
from lab.procedure import Step
from lab.scenario import ScenarioRun
from lab.workloads import longest_gap
from scenarios.arp.checks import (
    AnnouncedByArp,
    ClientReachesService,
    GatewayDroppedArp,
    GatewayKnowsNewMac,
    NoAddressConflict,
    OutageBelow,
    OutageMatchesLifetime,
    SingleOwner,
    outage,
)
from scenarios.arp.faults import DropArp
from scenarios.arp.procedures import GARP_THREE, PREPARE
from scenarios.arp.workloads import AddressWatch, PingService, added_at


@dataclass
class Stage:
    ping: PingService
    watch: AddressWatch
    capture: Capture
    t0: float
    moved: float | None = None  # when the new server held the service IP (from the address watch)


def begin(run: ScenarioRun) -> Stage:
    """Service on `old`, watches running, client pinging; returns once the gateway has just learned the old MAC.

    The gateway resolves the service IP at the client's first ping; a watcher inside the gateway (polling its
    neighbour table every 10 ms) notes that moment, so the migration starts right after a confirmation and the
    stale entry's life is predictable.
    """
    for step in PREPARE:
        run.step(step)
    capture = run.capture("lan", keep=arp_only)
    watch = AddressWatch("new")
    run.start(watch)
    gw, vip = run.host("gateway"), run.facts["vip"]
    mark = f"/tmp/fresh-{vip}"
    gw.run_background(f"until ip neigh show {vip} | grep -q REACHABLE; do sleep 0.01; done; date +%s.%N > {mark}",
                      "/dev/null")
    ping = PingService()
    run.start(ping)
    confirmed = run.wait_for(lambda: gw.run("cat %s", mark).stdout.strip(),
                             what=f"the gateway to resolve {vip}", timeout=15)
    old_mac = run.host("old").net.mac()
    entry = gw.net.neigh(vip)
    run.note(f"the gateway resolved {vip} to {entry.mac if entry else '?'} (old is {old_mac}) at {confirmed}")
    return Stage(ping, watch, capture, float(confirmed))


def until_answered(run: ScenarioRun, stage: Stage) -> None:
    """Wait until the gateway points at the new server and the client is answered again.

    The deadline is what the gateway's timers allow for a stale entry (and some), whatever the procedure did:
    a procedure that forgets the gratuitous ARP is judged by the checks, not cut short by this wait.
    """
    timeout = run.facts["lifetime_s"] + run.facts["reachable_max_s"] + 10
    new_mac = run.host("new").net.mac()
    gw, vip = run.host("gateway"), run.facts["vip"]
    run.wait_for(
        lambda: (e := gw.net.neigh(vip)) is not None and e.mac == new_mac,
        what="the gateway to learn the new MAC",
        timeout=timeout,
    )
    learned = time.time()
    run.wait_for(lambda: stage.ping.answered_since(run, learned), what="the client to be answered again", timeout=5)


def finish(run: ScenarioRun, stage: Stage) -> None:
    """Stop the traffic and the watches; record the outage the ARP cache caused and the client's whole silence."""
    ops = run.stop(stage.ping)
    stage.moved = added_at(run.stop(stage.watch), run.facts["vip"])
    stage.capture.stop()
    if (gap := outage(run, stage.moved)) is not None:
        run.metric("outage_s", gap[1])
    run.metric("total_outage_s", longest_gap(ops, start=stage.t0 - 1.0)[1])
    run.metric("lifetime_s", run.facts["lifetime_s"])
    run.metric("arp_frames_seen", len(stage.capture.packets))


def test_migrate_without_garp(scenario: ScenarioRun) -> None:
    """The seed's failure: the IP moves, nobody tells the gateway; the client's traffic goes to the old MAC
    until the gateway's entry expires, and the outage matches the gateway's cache lifetime."""
    run = scenario
    run.watch(SingleOwner())
    stage = begin(run)
    run.procedure("migrate_without_garp")
    until_answered(run, stage)
    finish(run, stage)
    run.check(OutageMatchesLifetime(stage.t0, stage.moved))
    run.check(OutageBelow(1.0, stage.moved), expect="fail")
    run.check(AnnouncedByArp(stage.capture, stage.t0), expect="fail")
    run.check(GatewayKnowsNewMac())
    run.check(NoAddressConflict())


def test_migrate_with_garp(scenario: ScenarioRun) -> None:
    """The seed's fix: after moving the IP, `arping -s <ip> -c1 -U <gw>` (iputils) from the new server; the
    gateway updates its entry at once and the client's outage is under a second."""
    run = scenario
    stage = begin(run)
    run.procedure("migrate_with_garp")
    until_answered(run, stage)
    finish(run, stage)
    run.check(OutageBelow(1.0, stage.moved))
    run.check(OutageMatchesLifetime(stage.t0, stage.moved), expect="fail")
    run.check(AnnouncedByArp(stage.capture, stage.t0))
    run.check(GatewayKnowsNewMac())
    run.check(ClientReachesService())
    run.check(NoAddressConflict())


def test_duplicate_ip(scenario: ScenarioRun) -> None:
    """The old server still holds the address when the new one takes it: `arping -D` from the new server
    gets an answer, and at times two hosts own the service IP."""
    run = scenario
    run.watch(SingleOwner(), expect="fail")
    stage = begin(run)
    run.procedure("migrate_keeping_old")
    finish(run, stage)
    run.check(NoAddressConflict(), expect="fail")


@pytest.mark.lab_params(delay_first_probe_s="20")  # a long-lived entry: "still broken" is not a race with expiry
def test_garp_lost(scenario: ScenarioRun) -> None:
    """The single gratuitous ARP is lost on the way (the gateway drops it): traffic is still broken after the
    runbook's step; a repeated announcement (`-c 3`) fixes it."""
    run = scenario
    stage = begin(run)
    drop = DropArp("new", count=1)
    run.inject(drop)
    run.procedure("migrate_with_garp")
    run.check(AnnouncedByArp(stage.capture, stage.t0))
    run.check(GatewayKnowsNewMac(when="after_lost_garp"), expect="fail")
    run.check(ClientReachesService(when="after_lost_garp"), expect="fail")
    run.metric("arp_frames_dropped", drop.dropped(run))
    run.check(GatewayDroppedArp(1))
    run.step(GARP_THREE)
    until_answered(run, stage)
    run.check(GatewayDroppedArp(1, when="after_repeat"))  # the repeats passed: only the first frame was lost
    run.heal(drop)
    finish(run, stage)
    run.check(GatewayKnowsNewMac(when="after_repeat"))
    run.check(ClientReachesService(when="after_repeat"))
    run.check(OutageBelow(1.0, stage.moved), expect="fail")


HABETS = "/opt/habets/usr/sbin/arping"


def test_arping_variants(scenario: ScenarioRun) -> None:
    """What the two arping programs really send. iputils `-s <ip> -U <gw>` broadcasts a request FROM the service
    IP FOR the gateway (not a true gratuitous ARP, yet Linux gateways learn from it); iputils `-U <ip>` sends the
    real one (sender = target); Habets' arping reads `-s` as a MAC and refuses the runbook's line, and its own
    `-S <ip> -U` broadcasts a request for the gateway."""
    run = scenario
    stage = begin(run)
    run.procedure("migrate_with_garp")
    t_runbook = stage.t0
    run.check(AnnouncedByArp(stage.capture, t_runbook))
    run.check(AnnouncedByArp(stage.capture, t_runbook, strict=True), expect="fail")
    t_true = time.time()
    run.step(Step("new", "arping -U -c1 -I eth0 {vip}", "iputils: a true gratuitous ARP (target = own address)"))
    run.step(
        Step(
            "new",
            f"{HABETS} -s {{vip}} -c1 -U {{gateway_ip}}",
            "Habets' arping given the runbook's line",
            expect_rc=1,
            expect_output="Weird MAC addr",
        )
    )
    run.check(StepFailedWith("Habets' arping given the runbook's line", "Weird MAC addr", rc=1))
    run.check(StepFailedWith("iputils: a true gratuitous ARP", "Weird MAC addr"), expect="fail")
    t_habets = time.time()
    run.step(Step("new", f"{HABETS} -S {{vip}} -U -c1 -i eth0 {{gateway_ip}}", "Habets' arping, its own syntax"))
    run.wait_for(
        lambda: any(
            arp_fields(p)["t"] >= t_habets and arp_fields(p)["sender_ip"] == run.facts["vip"]
            for p in stage.capture.packets
        ),
        what="Habets' frame on the LAN",
        timeout=5,
    )
    finish(run, stage)
    frames = [arp_fields(p) for p in stage.capture.packets if arp_fields(p)["sender_ip"] == run.facts["vip"]]
    run.note(
        "ARP frames from the service IP: "
        + "; ".join(
            f"{f['op']} {f['sender_ip']}→{f['target_ip']} eth {f['eth_dst']} arp-dst {f['target_mac']}" for f in frames
        )
    )
    run.check(AnnouncedByArp(stage.capture, t_true, strict=True))
    run.check(GatewayKnowsNewMac())
