"""The arp lab's judges on canned data: each one shown passing and failing, no Docker."""

import json
from types import SimpleNamespace

import pytest

from lab.checks import OutageBelow, Verdict
from lab.scenario import ScenarioRun
from lab.workloads import Op
from scenarios.arp.checks import (
    AnnouncedByArp,
    GatewayDroppedArp,
    GatewayKnowsNewMac,
    NoAddressConflict,
    OutageMatchesLifetime,
    SingleOwner,
    announced_by_step,
    last_confirmed,
)
from scenarios.arp.workloads import added_at, parse_addr_events, parse_ping

NEW_MAC, OLD_MAC = "02:42:0a:00:00:0c", "02:42:0a:00:00:0b"


def link(mac: str) -> tuple[int, str]:
    return 0, json.dumps([{"ifname": "eth0", "address": mac}])


def neigh(mac: str) -> tuple[int, str]:
    return 0, json.dumps([{"dst": "10.9.0.100", "dev": "eth0", "lladdr": mac, "state": ["REACHABLE"]}])


def addrs(*ips: str) -> tuple[int, str]:
    return 0, json.dumps([{"ifname": "eth0", "addr_info": [{"family": "inet", "local": ip} for ip in ips]}])


def ping_ops(gap_from: float, gap_to: float, until: float = 10.0) -> list[Op]:
    ts = [round(i * 0.1, 1) for i in range(int(until * 10))]
    return [Op(t, not (gap_from < t < gap_to)) for t in ts]


@pytest.fixture
def run(fake_lab) -> ScenarioRun:  # type: ignore[no-untyped-def]
    return ScenarioRun("arp/x", fake_lab)


def test_ping_output_becomes_operations() -> None:
    text = (
        "[1700000000.100000] 64 bytes from 10.9.0.100: icmp_seq=1 ttl=63 time=0.1 ms\n"
        "[1700000000.200000] no answer yet for icmp_seq=2\n"
        "[1700000000.300000] From 10.9.1.20 icmp_seq=3 Destination Host Unreachable\n"
    )
    ops = parse_ping(text)
    assert [(o.t, o.ok) for o in ops] == [(1700000000.1, True), (1700000000.2, False), (1700000000.3, False)]
    assert "Destination Host Unreachable" in ops[2].value


def outage_below(since: float | None) -> OutageBelow:
    return OutageBelow("PingService", 1.0, since=since, since_what="the address move")


def test_outage_below(run: ScenarioRun) -> None:
    run.ops["PingService"] = ping_ops(2.0, 8.5)
    r = outage_below(since=2.0).evaluate(run.view)
    assert r.verdict == Verdict.FAIL and r.evidence["outage_s"] == 6.5
    run.ops["PingService"] = ping_ops(2.0, 2.25)
    assert outage_below(since=2.0).evaluate(run.view).verdict == Verdict.PASS
    assert outage_below(since=None).evaluate(run.view).verdict == Verdict.UNKNOWN  # the move was not seen
    run.ops.clear()
    assert outage_below(since=2.0).evaluate(run.view).verdict == Verdict.UNKNOWN


def test_the_outage_is_timed_from_the_steps_announcement_after_the_move() -> None:
    """The pause between adding the address and arping (the steps' pace) is not the ARP cache's: the outage is timed
    from the first broadcast ARP of the service IP by the new MAC after the move, sent while a step ran; frames
    outside every step (the new server resolving the gateway on its own), before the move, from another MAC or IP,
    replies and unicasts do not count."""
    vip, mac = "10.9.0.100", NEW_MAC

    def frame(t: float, **kw: str) -> dict[str, object]:
        return {"t": t, "op": "request", "eth_dst": "ff:ff:ff:ff:ff:ff", "sender_mac": mac, "sender_ip": vip, **kw}

    steps = [(0.5, 1.5), (2.9, 5.0)]
    frames = [
        frame(1.0),  # before the move
        frame(3.0, sender_mac=OLD_MAC),
        frame(3.1, sender_ip="10.9.0.20"),
        frame(3.2, op="reply"),
        frame(3.3, eth_dst=OLD_MAC),
        frame(4.5),
        frame(4.6),
    ]
    assert announced_by_step(frames, vip, mac, 2.0, steps) == 4.5
    assert announced_by_step(frames, vip, mac, 2.0, [(0.5, 1.5), (5.5, 9.0)]) is None  # outside every step
    assert announced_by_step(frames[:5], vip, mac, 2.0, steps) is None  # never announced: timed from the move
    assert announced_by_step(frames, vip, mac, None, steps) is None


def test_the_stale_entry_is_timed_from_the_old_servers_last_confirmation() -> None:
    """A slow first step: the gateway's probe was answered by the old server (an ARP reply for the service IP)
    before the move, so the entry's life starts there; replies after the move or from others do not count."""
    vip = "10.9.0.100"

    def reply(t: float, **kw: str) -> dict[str, object]:
        return {"t": t, "op": "reply", "eth_dst": NEW_MAC, "sender_mac": OLD_MAC, "sender_ip": vip, **kw}

    frames = [reply(0.5), reply(3.0), reply(3.5, sender_mac=NEW_MAC), reply(3.6, op="request"), reply(9.0)]
    assert last_confirmed(frames, vip, OLD_MAC, since=1.0, moved=5.0) == 3.0
    assert last_confirmed(frames[:1], vip, OLD_MAC, since=1.0, moved=5.0) == 1.0  # none after `since`


def timers(fake_lab, delay: int = 3) -> None:  # type: ignore[no-untyped-def]
    gw = fake_lab.transports["gateway"].replies
    gw["ip -j addr show"] = addrs("10.9.0.10")
    gw["delay_first_probe_time"] = (0, f"{delay}\n")
    gw["ucast_solicit"] = (0, "3\n")
    gw["retrans_time_ms"] = (0, "1000\n")
    gw["base_reachable_time_ms"] = (0, "500\n")


def test_outage_matches_lifetime_reads_the_gateways_timers(fake_lab, run: ScenarioRun) -> None:  # type: ignore[no-untyped-def]
    timers(fake_lab)
    run.ops["PingService"] = ping_ops(1.0, 7.4)  # 6.4 s: lifetime 6 s plus part of reachable time
    r = OutageMatchesLifetime(confirmed=0.8, moved=1.0).evaluate(run.view)
    assert r.verdict == Verdict.PASS and r.evidence["lifetime_s"] == 6.0
    run.ops["PingService"] = ping_ops(1.0, 1.3)  # the gratuitous ARP made it short
    assert OutageMatchesLifetime(confirmed=0.8, moved=1.0).evaluate(run.view).verdict == Verdict.FAIL
    run.ops["PingService"] = ping_ops(1.0, 12.0)  # far longer than the timers allow
    assert OutageMatchesLifetime(confirmed=0.8, moved=1.0).evaluate(run.view).verdict == Verdict.FAIL


def test_outage_matches_lifetime_allows_the_timer_wheels_lateness_on_a_long_delay(fake_lab, run: ScenarioRun) -> None:  # type: ignore[no-untyped-def]
    timers(fake_lab, delay=60)
    # 65.1 s after the confirmation: the 60 s timer fired ~1.4 s late
    run.ops["PingService"] = ping_ops(1.0, 65.9, until=90.0)
    assert OutageMatchesLifetime(confirmed=0.8, moved=1.0).evaluate(run.view).verdict == Verdict.PASS
    run.ops["PingService"] = ping_ops(1.0, 80.0, until=90.0)  # beyond any lateness of the wheel
    assert OutageMatchesLifetime(confirmed=0.8, moved=1.0).evaluate(run.view).verdict == Verdict.FAIL


def test_gateway_knows_new_mac(fake_lab, run: ScenarioRun) -> None:  # type: ignore[no-untyped-def]
    fake_lab.transports["new"].replies["ip -j link show"] = link(NEW_MAC)
    fake_lab.transports["gateway"].replies["ip -j neigh"] = neigh(OLD_MAC)
    r = GatewayKnowsNewMac(when="x").evaluate(run.view)
    assert r.verdict == Verdict.FAIL and r.name == "GatewayKnowsNewMac@x"
    fake_lab.transports["gateway"].replies["ip -j neigh"] = neigh(NEW_MAC)
    assert GatewayKnowsNewMac().evaluate(run.view).verdict == Verdict.PASS


def frame(t: float, psrc: str, pdst: str, mac: str = NEW_MAC) -> SimpleNamespace:
    from scapy.layers.l2 import ARP, Ether

    p = Ether(src=mac, dst="ff:ff:ff:ff:ff:ff") / ARP(op=1, hwsrc=mac, psrc=psrc, pdst=pdst)
    p.time = t
    return p  # type: ignore[return-value]


def test_announced_by_arp_and_the_strict_gratuitous_form(fake_lab, run: ScenarioRun) -> None:  # type: ignore[no-untyped-def]
    fake_lab.transports["new"].replies["ip -j link show"] = link(NEW_MAC)
    cap = SimpleNamespace(packets=[frame(10.0, "10.9.0.100", "10.9.0.10")])
    assert AnnouncedByArp(cap, since=5.0).evaluate(run.view).verdict == Verdict.PASS  # type: ignore[arg-type]
    strict = AnnouncedByArp(cap, since=5.0, strict=True).evaluate(run.view)  # type: ignore[arg-type]
    assert strict.verdict == Verdict.FAIL and "10.9.0.100 → 10.9.0.10" in strict.detail
    cap.packets.append(frame(11.0, "10.9.0.100", "10.9.0.100"))
    assert AnnouncedByArp(cap, since=5.0, strict=True).evaluate(run.view).verdict == Verdict.PASS  # type: ignore[arg-type]
    assert AnnouncedByArp(cap, since=20.0).evaluate(run.view).verdict == Verdict.FAIL  # type: ignore[arg-type]
    other = SimpleNamespace(packets=[frame(10.0, "10.9.0.100", "10.9.0.10", mac=OLD_MAC)])
    assert AnnouncedByArp(other, since=0.0).evaluate(run.view).verdict == Verdict.FAIL  # type: ignore[arg-type]


def test_no_address_conflict(fake_lab, run: ScenarioRun) -> None:  # type: ignore[no-untyped-def]
    fake_lab.transports["new"].replies["arping -D"] = (0, "Sent 2 probes\nReceived 0 response(s)\n")
    assert NoAddressConflict().evaluate(run.view).verdict == Verdict.PASS
    fake_lab.transports["new"].replies["arping -D"] = (1, "Unicast reply from 10.9.0.100 [02:42:0A:00:00:0B]\n")
    assert NoAddressConflict().evaluate(run.view).verdict == Verdict.FAIL
    fake_lab.transports["new"].replies["arping -D"] = (2, "arping: socket: Operation not permitted")
    assert NoAddressConflict().evaluate(run.view).verdict == Verdict.UNKNOWN


def test_single_owner(fake_lab, run: ScenarioRun) -> None:  # type: ignore[no-untyped-def]
    fake_lab.transports["old"].replies["ip -j addr show"] = addrs("10.9.0.11", "10.9.0.100")
    fake_lab.transports["new"].replies["ip -j addr show"] = addrs("10.9.0.12")
    assert SingleOwner().evaluate(run.view).verdict == Verdict.PASS
    fake_lab.transports["new"].replies["ip -j addr show"] = addrs("10.9.0.12", "10.9.0.100")
    r = SingleOwner().evaluate(run.view)
    assert r.verdict == Verdict.FAIL and r.evidence["owners"] == ["old", "new"]


def test_address_events_and_when_the_service_ip_was_added() -> None:
    text = (
        "[2026-11-28T20:42:29.916276] 338: eth0    inet 10.9.0.100/24 scope global eth0\n"
        "       valid_lft forever preferred_lft forever\n"
        "[2026-11-28T20:42:31.000000] Deleted 338: eth0    inet 10.9.0.100/24 scope global eth0\n"
    )
    ops = parse_addr_events(text)
    assert [o.value for o in ops] == ["added 10.9.0.100", "deleted 10.9.0.100"]
    assert added_at(ops, "10.9.0.100") == 1795898549.916276
    assert added_at(ops, "10.9.0.5") is None


NFT_TABLE = """table arp opslab_fault {
	chain input {
		type filter hook input priority filter; policy accept;
		arp saddr ether 02:42:0a:d5:00:0c arp saddr ip 10.213.0.100 quota over 28 bytes used 84 bytes accept
		arp saddr ether 02:42:0a:d5:00:0c arp saddr ip 10.213.0.100 counter packets %d bytes %d drop
	}
}
"""


def test_gateway_dropped_arp_reads_the_drop_rules_counter(run: ScenarioRun) -> None:
    gw = run.lab.transports["gateway"].replies  # type: ignore[attr-defined]
    gw["nft list table arp opslab_fault"] = (0, NFT_TABLE % (1, 28))
    r = GatewayDroppedArp(1).evaluate(run.view)
    assert r.verdict == Verdict.PASS and r.evidence["dropped"] == 1
    gw["nft list table arp opslab_fault"] = (0, NFT_TABLE % (0, 0))
    r = GatewayDroppedArp(1).evaluate(run.view)
    assert r.verdict == Verdict.FAIL and "dropped 0 ARP frame(s)" in r.detail  # the announcement got through
    gw["nft list table arp opslab_fault"] = (0, NFT_TABLE % (2, 56))
    assert GatewayDroppedArp(1).evaluate(run.view).verdict == Verdict.FAIL  # more lost than the fault means
    gw["nft list table arp opslab_fault"] = (1, "Error: No such file or directory")
    assert GatewayDroppedArp(1).evaluate(run.view).verdict == Verdict.UNKNOWN
