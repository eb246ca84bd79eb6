"""The capture's pcap reader and what the arp judges get of a frame (no Docker: pcap bytes made here)."""

from __future__ import annotations

import struct

import pytest
from scapy.layers.l2 import ARP, Ether

from lab.capture import arp_fields, arp_only, frames, read_pcap
from lab.errors import EnvironmentProblem


def pcap(records: list[tuple[float, bytes]], *, nano: bool = False, big: bool = False) -> bytes:
    order = ">" if big else "<"
    magic = 0xA1B23C4D if nano else 0xA1B2C3D4
    out = struct.pack(f"{order}IHHiIII", magic, 2, 4, 0, 0, 65535, 1)
    unit = 1_000_000_000 if nano else 1_000_000
    for t, raw in records:
        sec = int(t)
        frac = round((t - sec) * unit)
        out += struct.pack(f"{order}IIII", sec, frac, len(raw), len(raw)) + raw
    return out


GARP = bytes(
    Ether(src="02:42:0a:d5:00:0c", dst="ff:ff:ff:ff:ff:ff")
    / ARP(op=1, hwsrc="02:42:0a:d5:00:0c", psrc="10.213.0.100", hwdst="00:00:00:00:00:00", pdst="10.213.0.100")
)
REPLY = bytes(
    Ether(src="02:42:0a:d5:00:0b", dst="02:42:0a:d5:00:0a")
    / ARP(op=2, hwsrc="02:42:0a:d5:00:0b", psrc="10.213.0.100", hwdst="02:42:0a:d5:00:0a", pdst="10.213.0.10")
)


@pytest.mark.parametrize("nano", [False, True])
@pytest.mark.parametrize("big", [False, True])
def test_read_pcap_gives_each_record_with_its_time(nano: bool, big: bool) -> None:
    got = read_pcap(pcap([(1796219880.25, GARP), (1796219881.5, REPLY)], nano=nano, big=big))
    assert [raw for _, raw in got] == [GARP, REPLY]
    assert [t for t, _ in got] == pytest.approx([1796219880.25, 1796219881.5], abs=1e-6)


def test_a_torn_last_record_and_a_file_not_yet_flushed_hold_nothing_more() -> None:
    whole = pcap([(10.0, GARP), (11.0, REPLY)])
    assert len(read_pcap(whole[:-5])) == 1  # the second record is still being written
    assert read_pcap(whole[:20]) == [] and read_pcap(b"") == []


def test_a_file_that_is_not_a_pcap_is_an_environment_problem() -> None:
    with pytest.raises(EnvironmentProblem):
        read_pcap(b"tcpdump: eth0: No such device exists" + b"\0" * 24)


def test_frames_carry_the_capture_time_and_the_fields_the_arp_judges_read() -> None:
    garp, reply = frames(pcap([(100.5, GARP), (101.0, REPLY)]))
    assert all(arp_only(p) for p in (garp, reply))
    assert arp_fields(garp) == {
        "t": 100.5,
        "op": "request",
        "eth_dst": "ff:ff:ff:ff:ff:ff",
        "sender_mac": "02:42:0a:d5:00:0c",
        "sender_ip": "10.213.0.100",
        "target_mac": "00:00:00:00:00:00",
        "target_ip": "10.213.0.100",
        "gratuitous": True,
    }
    assert arp_fields(reply)["op"] == "reply" and arp_fields(reply)["t"] == 101.0
