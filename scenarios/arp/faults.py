"""Faults of the arp lab, and its fault library (`FAULTS`, see lab.faults).

- `DropArp` (`drop_garp`): the gateway drops the first ARP frame(s) the new server sends for the service IP: the
  runbook's one gratuitous ARP is lost on the way. Gone when the gateway's nftables table is (lab.netfilter).
- `FlushNeighbours` (`flush_gateway_cache`): the gateway forgets (`flush`) or stops trusting (`stale`) its entry
  for the service IP. Instantaneous: there is nothing left in place to undo; its probe reads the entry as it is.
- `SilenceHost` (`pause_new`): the new server stops answering, as a paused machine does: every frame in or out of
  its eth0 is dropped (nftables netdev ingress and egress, lab.netfilter). `docker pause` would not do: a paused
  container's kernel still answers ARP and ping, and a step could no longer run in it. Gone when the table is.
"""

from __future__ import annotations

from lab.faults import Fault, FaultKind, fault_arg
from lab.netfilter import Drop, DropFault
from lab.scenario import ScenarioRun

TABLE = "opslab_fault"


class DropArp(DropFault):
    """The gateway loses the first `count` ARP frames that a host sends for the service IP.

    A `lab.netfilter.Drop` in the gateway's `arp` family input hook drops frames whose sender MAC is the host's and
    sender IP the service IP, until a quota of `count` frames (28 bytes of ARP each) is used up; later ones pass.
    """

    FRAME = 28
    family = "arp"
    table = TABLE

    def __init__(self, sender_host: str = "new", count: int = 1) -> None:
        self.host = "gateway"
        self.sender_host = sender_host
        self.count = count

    def describe(self) -> str:
        return f"the gateway drops the first {self.count} ARP frame(s) from {self.sender_host} for the service IP"

    def drop(self, run: ScenarioRun) -> Drop:
        mac = run.host(self.sender_host).net.mac()
        return Drop(
            TABLE,
            family="arp",
            direction="in",
            src_mac=mac,
            src_ip=run.facts["vip"],
            quota_bytes=self.count * self.FRAME,
        )


class FlushNeighbours(Fault):
    """The gateway's neighbour entry for the service IP is flushed (`flush`) or marked STALE (`stale`), as a
    router's cache that was cleared or aged: it must resolve the address again (`stale`: on its next use)."""

    heal_within = 1.0

    def __init__(self, mode: str = "flush") -> None:
        self.mode = mode

    def describe(self) -> str:
        what = "forgets" if self.mode == "flush" else "marks STALE"
        return f"the gateway {what} its neighbour entry for the service IP"

    def invoke(self, run: ScenarioRun) -> None:
        gw, vip = run.host("gateway"), run.facts["vip"]
        if self.mode == "flush":
            gw.check_output(f"ip neigh flush to {vip}")
        else:  # only an entry that is there can be aged; none is the same as flushed
            gw.check_output(
                f"dev=$(ip -o neigh show to {vip} | awk '{{print $3; exit}}'); "
                f'if [ -n "$dev" ]; then ip neigh change {vip} dev $dev nud stale || true; fi'
            )

    def heal(self, run: ScenarioRun) -> None:
        return None  # nothing stays in place: the gateway resolves the address again by itself

    def gone(self, run: ScenarioRun) -> tuple[bool, str]:
        entry = run.host("gateway").net.neigh(run.facts["vip"])
        return True, f"instantaneous, nothing to undo; the gateway's entry now: {entry or 'none'}"


class SilenceHost(DropFault):
    """Every frame in or out of the host's eth0 is dropped (a `lab.netfilter.Drop` on netdev ingress and egress)."""

    TABLE = "opslab_silence"
    family = "netdev"
    table = TABLE

    def __init__(self, host: str = "new") -> None:
        self.host = host

    def describe(self) -> str:
        return f"{self.host} stops answering: every frame in or out of its eth0 dropped"

    def drop(self, run: ScenarioRun) -> Drop:
        return Drop(self.TABLE, family="netdev", iface="eth0")


FAULTS = (
    FaultKind(
        "drop_garp",
        "the gateway drops the first ARP frame(s) the new server sends for the service IP (the gratuitous ARP lost)",
        lambda count: DropArp("new", count),
        (fault_arg("count", "1", "frames dropped before later ones pass", type="int", min=1, max=100),),
    ),
    FaultKind(
        "flush_gateway_cache",
        "the gateway flushes (or ages to STALE) its neighbour entry for the service IP",
        FlushNeighbours,
        (fault_arg("mode", "flush", "flush the entry, or mark it stale", choices=("flush", "stale")),),
    ),
    FaultKind(
        "pause_new",
        "the new server stops answering, as a paused machine (every frame in or out of its eth0 dropped)",
        lambda: SilenceHost("new"),
    ),
)
