"""Judges of the arp lab. Each one only reads the lab, the capture or the history.

The client's outage is judged by lab/checks.py's `OutageBelow` over the `PingService` workload (`WORKLOAD`), from the
moment AddressWatch saw the new server hold the address. Which scenario shows each failing: OutageBelow →
migrate_without_garp; OutageMatchesLifetime →
migrate_with_garp; GatewayKnowsNewMac and ClientReachesService → garp_lost (before the repeat);
AnnouncedByArp → migrate_without_garp (nothing sent) and arping_variants (strict, iputils -U with a target);
NoAddressConflict and SingleOwner → duplicate_ip; GatewayDroppedArp → the unit tests (a counter of 0 or 2).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

from lab.capture import Capture, arp_fields
from lab.checks import Check, CheckResult, Invariant
from lab.netfilter import dropped
from lab.view import RunView
from scenarios.arp.faults import TABLE

WORKLOAD = "PingService"
SERVERS = ("old", "new")


def outage(run: RunView, since: float | None) -> tuple[float, float] | None:
    """(since, length) of the client's silence after `since`: until its first answer after that moment.

    `since` is when the new server held the service IP (AddressWatch): what is measured is the time the client
    still could not reach the service although the new server had it — the ARP cache's share of the outage.
    None when the traffic or that moment was not recorded.
    """
    ops = run.ops.get(WORKLOAD)
    if not ops or since is None:
        return None
    answered = [op.t for op in ops if op.ok and op.t > since]
    return (since, (answered[0] if answered else max(op.t for op in ops)) - since)


def last_confirmed(frames: list[dict[str, Any]], vip: str, old_mac: str, since: float, moved: float | None) -> float:
    """When the gateway last had its entry for the service IP confirmed by the old server before the move: `since`
    (it was seen REACHABLE then), or the old server's last ARP reply for the service IP after that and before the
    move. On a loaded machine the runbook's first step can come so late that the gateway's unicast probe has
    already been answered by the old server, which starts the entry's life again."""
    replies = [
        f["t"]
        for f in frames
        if f["op"] == "reply"
        and f["sender_mac"] == old_mac
        and f["sender_ip"] == vip
        and f["t"] >= since
        and (moved is None or f["t"] < moved)
    ]
    return max([since, *replies])


def announced_by_step(
    frames: list[dict[str, Any]], vip: str, mac: str, moved: float | None, steps: list[tuple[float, float]]
) -> float | None:
    """When a step of the procedure announced the service IP from the new server (`mac`) after the move: the first
    broadcast ARP request with the service IP as sender, sent while a step ran (`steps`: (start, end) times).
    A frame the new server's kernel sends on its own (resolving the gateway once pings reach it) falls outside
    every step and does not count. None when no step announced it, or the move was not seen."""
    if moved is None:
        return None
    times = [
        f["t"]
        for f in frames
        if f["t"] >= moved
        and f["sender_mac"] == mac
        and f["sender_ip"] == vip
        and f["op"] == "request"
        and f["eth_dst"] == "ff:ff:ff:ff:ff:ff"
        and any(start <= f["t"] <= end for start, end in steps)
    ]
    return min(times) if times else None


class OutageMatchesLifetime(Check):
    """The gateway kept sending to the old MAC for as long as its cache timers say, and no longer.

    Measured from the moment the gateway last confirmed the old entry (`confirmed`) to the client's first answer
    after the move: Linux predicts delay_first_probe_time + ucast_solicit × retrans_time plus the rest of a
    reachable time (at most 1.5 × base_reachable_time). Allowed: half a second less; one second more, plus what the
    kernel's timer wheel may add to its long timers (up to 8/63 of them: a 60 s delay_first_probe_time fires up to
    ~4 s late at HZ 1000).
    """

    def __init__(self, confirmed: float, moved: float | None) -> None:
        self.confirmed = confirmed
        self.moved = moved

    def evaluate(self, run: RunView) -> CheckResult:
        gap = outage(run, self.moved)
        if gap is None:
            return self.unknown("the client's traffic or the address move was not recorded")
        stale_for = gap[0] + gap[1] - self.confirmed
        gw = run.host("gateway")
        dev = gw.net.dev_for(run.facts["gateway_ip"])
        timers = {
            k: int(gw.sysctl(f"net.ipv4.neigh.{dev}.{k}"))
            for k in ("delay_first_probe_time", "ucast_solicit", "retrans_time_ms", "base_reachable_time_ms")
        }
        lifetime = timers["delay_first_probe_time"] + timers["ucast_solicit"] * timers["retrans_time_ms"] / 1000
        reachable_max = 1.5 * timers["base_reachable_time_ms"] / 1000
        # the kernel's timer wheel fires a long timer late by up to one bucket of its level: 8**n jiffies for a
        # timeout of 63 * 8**(n-1) or more, so at most 8/63 of the timeout (kernel/time/timer.c)
        wheel_late = (timers["delay_first_probe_time"] + reachable_max) * 8 / 63
        low, high = lifetime - 0.5, lifetime + reachable_max + wheel_late + 1.0
        return self.result(
            low <= stale_for <= high,
            f"the old MAC was used {stale_for:.2f}s after its last confirmation; the gateway's timers predict "
            f"{low:.1f}–{high:.1f}s",
            stale_entry_s=round(stale_for, 3),
            outage_s=round(gap[1], 3),
            lifetime_s=lifetime,
            timers=timers,
        )


class GatewayKnowsNewMac(Check):
    """The gateway's neighbour entry for the service IP holds the new server's MAC."""

    label = "GatewayKnowsNewMac"

    def __init__(self, owner: str = "new", when: str = "") -> None:
        self.owner = owner
        if when:
            self.label = f"GatewayKnowsNewMac@{when}"

    def evaluate(self, run: RunView) -> CheckResult:
        vip = run.facts["vip"]
        entry = run.host("gateway").net.neigh(vip)
        want = run.host(self.owner).net.mac()
        if entry is None or entry.mac is None:
            return self.result(False, f"the gateway has no MAC for {vip}", entry=str(entry), want=want)
        return self.result(
            entry.mac == want,
            f"gateway: {vip} at {entry.mac} ({entry.state}); {self.owner} is {want}",
            gateway_mac=entry.mac,
            state=entry.state,
            want=want,
        )


class ClientReachesService(Check):
    """A fresh ping from the client to the service IP is answered within two seconds."""

    label = "ClientReachesService"

    def __init__(self, when: str = "") -> None:
        if when:
            self.label = f"ClientReachesService@{when}"

    def evaluate(self, run: RunView) -> CheckResult:
        vip = run.facts["vip"]
        r = run.host("client").run("ping -n -c 2 -i 0.2 -W 2 %s", vip)
        return self.result(r.rc == 0, f"ping {vip}: " + (r.stdout.strip().splitlines() or ["no output"])[-2], rc=r.rc)


class AnnouncedByArp(Check):
    """The new server sent an ARP frame announcing the service IP with its MAC, seen on the LAN.

    `strict=True` asks for a true gratuitous ARP (sender IP = target IP = service IP, RFC 5227's
    announcement); otherwise any broadcast ARP from the new MAC with the service IP as sender will do (Linux
    updates an existing entry from either).
    """

    def __init__(self, capture: Capture, since: float, *, strict: bool = False, sender: str = "new") -> None:
        self.capture = capture
        self.since = since
        self.strict = strict
        self.sender = sender
        self.label = "AnnouncedByGratuitousArp" if strict else "AnnouncedByArp"

    def evaluate(self, run: RunView) -> CheckResult:
        vip = run.facts["vip"]
        mac = run.host(self.sender).net.mac()
        frames: list[dict[str, Any]] = [
            f
            for f in map(arp_fields, self.capture.packets)
            if f["t"] >= self.since
            and f["sender_mac"] == mac
            and f["sender_ip"] == vip
            and f["op"] == "request"
            and f["eth_dst"] == "ff:ff:ff:ff:ff:ff"
        ]
        good = [f for f in frames if f["gratuitous"]] if self.strict else frames
        what = "gratuitous ARP (sender = target = service IP)" if self.strict else "broadcast ARP from the service IP"
        if good:
            f = good[0]
            return self.result(
                True, f"{what} seen: {f['sender_ip']} is-at {f['sender_mac']}, target {f['target_ip']}", frames=frames
            )
        if frames:
            f = frames[0]
            return self.result(
                False, f"no {what}; seen {f['op']} {f['sender_ip']} → {f['target_ip']} instead", frames=frames
            )
        return self.result(False, f"no {what} from {self.sender} ({mac}) on the LAN", frames=frames)


class GatewayDroppedArp(Check):
    """The gateway's drop rule (the `DropArp` fault) counted exactly `frames` ARP frames from the new server for
    the service IP: the announcement really was lost on the way, and no more frames than the fault means."""

    def __init__(self, frames: int = 1, when: str = "") -> None:
        self.frames = frames
        self.label = "GatewayDroppedArp" + (f"@{when}" if when else "")

    def evaluate(self, run: RunView) -> CheckResult:
        r = run.host("gateway").run(f"nft list table arp {TABLE}")
        if not r.succeeded:
            return self.unknown(f"gateway: no nft table arp {TABLE} to read (is the DropArp fault in place?)")
        n = dropped(r.stdout)
        return self.result(
            n == self.frames,
            f"gateway: its drop rule dropped {n} ARP frame(s) for the service IP (expected {self.frames})",
            dropped=n,
        )


class NoAddressConflict(Check):
    """Duplicate address detection (`arping -D`) from the new server gets no answer for the service IP."""

    def evaluate(self, run: RunView) -> CheckResult:
        vip = run.facts["vip"]
        r = run.host("new").run("arping -D -c 2 -w 3 -I eth0 %s", vip)
        replies = [line for line in r.stdout.splitlines() if line.startswith(("Unicast reply", "Broadcast reply"))]
        if r.rc not in (0, 1):
            return self.unknown(f"arping -D failed (exit {r.rc}): {r.stderr.strip()}")
        return self.result(
            r.rc == 0,
            "no other host answers for " + vip
            if r.rc == 0
            else f"{vip} is also held by another host: {replies[0] if replies else r.stdout.strip()}",
            rc=r.rc,
            replies=replies,
        )


class SingleOwner(Invariant):
    """At most one server holds the service IP."""

    def evaluate(self, run: RunView) -> CheckResult:
        vip = run.facts["vip"]
        # both servers at once: this runs after every step, between the move and the announcement
        with ThreadPoolExecutor(2) as pool:
            held = dict(zip(SERVERS, pool.map(lambda h: run.host(h).net.has_address(vip), SERVERS), strict=True))
        owners = [h for h in SERVERS if held[h]]
        return self.result(len(owners) <= 1, f"{vip} held by {', '.join(owners) or 'nobody'}", owners=owners)
