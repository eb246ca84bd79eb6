"""What the arp lab's runbook is staged and judged with (see lab.plan): one plan for moving the service IP, used by
the scenarios `migrate_with_garp` / `migrate_without_garp` and by `opslab rehearse arp <procedure>`.

Every migration starts the same way: the service IP on `old`, the client pinging it every 100 ms through the
gateway, a capture running on the LAN (in the gateway), and the gateway's entry for the service IP just confirmed
(REACHABLE), the worst moment to move it, so that the outage without a gratuitous ARP is predictable. The runbook's
goal: an outage under a second, announced by ARP, the gateway on the new MAC, the client answered, no second owner.

Robust (they hold whatever a fault schedule did, once healed; `opslab explore` judges by them and `WATCH`): the
client answered within `BOUND_S` of the runbook's last step or of the last fault's heal, whichever is later
(`ServiceBackWithin`), the gateway on the new MAC, the client answered, no second owner. Exploring under load, give
the gateway a long-lived cache (`--param delay_first_probe_s=20`, as `garp_lost` does): a lost announcement then
stays visible for longer than any heal takes.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from lab.capture import Capture, arp_fields, arp_only
from lab.checks import OutageBelow, ServiceBackWithin
from lab.plan import Expect, Plan, procedure_end, settled
from lab.scenario import ScenarioRun
from lab.workloads import silence
from scenarios.arp.checks import (
    WORKLOAD,
    AnnouncedByArp,
    ClientReachesService,
    GatewayKnowsNewMac,
    NoAddressConflict,
    OutageMatchesLifetime,
    SingleOwner,
    announced_by_step,
    last_confirmed,
    outage,
)
from scenarios.arp.procedures import PREPARE
from scenarios.arp.workloads import AddressWatch, PingService, added_at

WATCH = [SingleOwner]
BOUND_S = 1.0  # the runbook's goal: the client answered within a second of its last step (or of a fault's heal)


@dataclass
class Stage:
    ping: PingService
    watch: AddressWatch
    capture: Capture
    t0: float
    moved: float | None = None  # when the new server held the service IP (from the address watch)
    confirmed: float | None = None  # when the old server last confirmed the gateway's entry before the move
    announced: float | None = None  # when a step then announced the service IP from the new server (capture)

    @property
    def outage_from(self) -> float | None:
        """Where the ARP cache's share of the outage starts: the procedure's announcement, else the move."""
        return self.announced if self.announced is not None else self.moved


def begin(run: ScenarioRun) -> Stage:
    """Service on `old`, watches running, client pinging; returns once the gateway has just learned the old MAC.

    The gateway resolves the service IP at the client's first ping; a watcher inside the gateway (polling its
    neighbour table every 10 ms) notes that moment, so the migration starts right after a confirmation and the
    stale entry's life is predictable.
    """
    for step in PREPARE:
        run.step(step)
    # in the gateway: it sees every broadcast and the old server's replies to its probes (all the judges read)
    capture = run.capture("lan", keep=arp_only, host="gateway", bpf="arp")
    watch = AddressWatch("new")
    run.start(watch)
    gw, vip = run.host("gateway"), run.facts["vip"]
    mark = f"/tmp/fresh-{vip}"
    gw.run_background(
        f"until ip neigh show {vip} | grep -q REACHABLE; do sleep 0.01; done; date +%s.%N > {mark}", "/dev/null"
    )
    ping = PingService()
    run.start(ping)
    confirmed = run.wait_for(
        lambda: gw.run("cat %s", mark).stdout.strip(), what=f"the gateway to resolve {vip}", timeout=15
    )
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
    frames = [arp_fields(p) for p in stage.capture.stop()]
    stage.confirmed = last_confirmed(frames, run.facts["vip"], run.host("old").net.mac(), stage.t0, stage.moved)
    if stage.confirmed > stage.t0:
        run.note(f"the old server confirmed the gateway's entry again {stage.confirmed - stage.t0:.2f}s later")
    windows = [(st.started, st.started + st.duration_s) for st in run.steps]
    stage.announced = announced_by_step(frames, run.facts["vip"], run.host("new").net.mac(), stage.moved, windows)
    if stage.moved is not None and stage.announced is not None:
        run.metric("announced_after_s", stage.announced - stage.moved)
    if (gap := outage(run.view, stage.outage_from)) is not None:
        run.metric("outage_s", gap[1])
    run.metric("total_outage_s", silence(ops, since=stage.t0 - 1.0)[1])
    run.metric("lifetime_s", run.facts["lifetime_s"])
    run.metric("arp_frames_seen", len(stage.capture.packets))


def client_outage_below(stage: Stage, limit_s: float) -> OutageBelow:
    """The client's outage, timed as the ARP cache's share of it: from the procedure's announcement of the move,
    or from the move when it announced nothing (`Stage.outage_from`). The pause between moving the address and
    announcing it is the pace of one `docker exec` after another, which a loaded machine stretches to seconds: it is
    the metric `announced_after_s`, not part of this check."""
    return OutageBelow(WORKLOAD, limit_s, since=stage.outage_from, since_what="the move (or its announcement)")


class Migration(Plan):
    """Move the service IP under the client's pings; judged by the outage the client saw after the move."""

    title = "move the service IP: outage under a second, announced, no second owner"

    def before(self, run: ScenarioRun) -> Stage:
        return begin(run)

    def after(self, run: ScenarioRun, stage: Any) -> None:
        settled(run, lambda: until_answered(run, stage))
        finish(run, stage)

    def judgements(self, run: ScenarioRun, stage: Any) -> list[Expect]:
        return [
            Expect(client_outage_below(stage, 1.0)),
            Expect(OutageMatchesLifetime(stage.confirmed or stage.t0, stage.moved), "fail"),
            Expect(AnnouncedByArp(stage.capture, stage.t0)),
            Expect(
                ServiceBackWithin(PingService().name, BOUND_S, procedure_end(run)),
                robust=True,
            ),
            Expect(GatewayKnowsNewMac(), robust=True),
            Expect(ClientReachesService(), robust=True),
            Expect(NoAddressConflict(), robust=True),
        ]


MIGRATION = Migration()
PLANS: dict[str, Plan] = {"migrate_with_garp": MIGRATION, "migrate_without_garp": MIGRATION}
DEFAULT: Plan = MIGRATION
