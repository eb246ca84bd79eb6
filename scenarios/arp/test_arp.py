"""Scenarios of the arp lab: moving a service IP to another server (see LABS.md, arp).

Every migration starts the same way (`scenarios.arp.plans.begin`): the service IP on `old`, the client pinging it
through the gateway, a capture on the LAN, the gateway's entry just confirmed. The runbook's scenarios walk the
plan `opslab rehearse` walks (`MIGRATION`); the others stage and judge their own failure.
"""

from __future__ import annotations

import time

import pytest

from lab.capture import arp_fields
from lab.checks import StepFailedWith
from lab.procedure import Step
from lab.scenario import ScenarioRun
from scenarios.arp.checks import (
    AnnouncedByArp,
    ClientReachesService,
    GatewayDroppedArp,
    GatewayKnowsNewMac,
    NoAddressConflict,
    SingleOwner,
)
from scenarios.arp.faults import DropArp
from scenarios.arp.plans import MIGRATION, WATCH, begin, client_outage_below, finish, until_answered
from scenarios.arp.procedures import GARP_THREE


def test_migrate_without_garp(scenario: ScenarioRun) -> None:
    """The seed's failure: the IP moves, nobody tells the gateway; the client's traffic goes to the old MAC
    until the gateway's entry expires, and the outage matches the gateway's cache lifetime."""
    MIGRATION.walk(
        scenario,
        "migrate_without_garp",
        watch=WATCH,
        expect={
            "OutageBelow(1s)": "fail",
            "OutageMatchesLifetime": "pass",
            "AnnouncedByArp": "fail",
            "ServiceBackWithin": "fail",
        },
    )


def test_migrate_with_garp(scenario: ScenarioRun) -> None:
    """The seed's fix: after moving the IP, `arping -s <ip> -c1 -U <gw>` (iputils) from the new server; the
    gateway updates its entry at once and the client's outage is under a second."""
    MIGRATION.walk(scenario, "migrate_with_garp", watch=WATCH)


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
    run.check(client_outage_below(stage, 1.0), expect="fail")


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
