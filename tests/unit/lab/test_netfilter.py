"""lab.netfilter: the drop table's text for each kind of fault, its checks of bad input, and the verified heal on
canned `nft` answers. No Docker."""

from __future__ import annotations

from typing import Any

import pytest

from lab.errors import CommandError, UsageError
from lab.host import FakeTransport, Host
from lab.netfilter import Drop, TableNotRemoved, dropped, heal, inject, remove, table_gone


def test_a_port_cut_drops_both_ends_both_ways_on_the_interface() -> None:
    assert Drop("opslab_cut_heartbeat", iface="eth1", proto="udp", port=694).script() == (
        "table inet opslab_cut_heartbeat {\n"
        "\tchain in {\n"
        "\t\ttype filter hook input priority 0; policy accept;\n"
        '\t\tiifname "eth1" udp dport 694 counter drop\n'
        '\t\tiifname "eth1" udp sport 694 counter drop\n'
        "\t}\n"
        "\tchain out {\n"
        "\t\ttype filter hook output priority 0; policy accept;\n"
        '\t\toifname "eth1" udp dport 694 counter drop\n'
        '\t\toifname "eth1" udp sport 694 counter drop\n'
        "\t}\n"
        "}\n"
    )


def test_an_arp_drop_with_a_quota_lets_later_frames_pass() -> None:
    d = Drop("opslab_fault", family="arp", direction="in", src_mac="02:42:0a:00:00:03", src_ip="10.9.0.100",
             quota_bytes=28)  # fmt: skip
    assert d.rules("in") == [
        "arp saddr ether 02:42:0a:00:00:03 arp saddr ip 10.9.0.100 quota over 28 bytes accept",
        "arp saddr ether 02:42:0a:00:00:03 arp saddr ip 10.9.0.100 counter drop",
    ]
    assert d.chains == ("in",) and "chain out" not in d.script()
    assert "type filter hook input priority 0;" in d.script()


def test_a_netdev_table_drops_everything_on_its_device() -> None:
    d = Drop("opslab_silence", family="netdev", iface="eth0")
    script = d.script()
    assert "type filter hook ingress device eth0 priority 0; policy accept;" in script
    assert "type filter hook egress device eth0 priority 0; policy accept;" in script
    assert d.rules("in") == d.rules("out") == ["counter drop"]


def test_addresses_and_a_protocol_without_a_port() -> None:
    d = Drop("opslab_x", direction="out", proto="icmp", dst_ip="10.0.0.0/24", src_ip="10.0.0.5")
    assert d.rules("out") == ["ip saddr 10.0.0.5 ip daddr 10.0.0.0/24 meta l4proto icmp counter drop"]


@pytest.mark.parametrize(
    ("kw", "says"),
    [
        ({"table": "filter"}, "not an opslab table name"),
        ({"table": "opslab_x", "family": "bridge"}, "no nftables family"),
        ({"table": "opslab_x", "direction": "sideways"}, "no direction"),
        ({"table": "opslab_x", "family": "netdev"}, "hooks one device"),
        ({"table": "opslab_x", "port": 694}, "needs proto tcp or udp"),
        ({"table": "opslab_x", "proto": "udp", "port": 70000}, "needs proto tcp or udp and 1-65535"),
        ({"table": "opslab_x", "family": "arp", "proto": "udp"}, "ARP has no protocol"),
        ({"table": "opslab_x", "iface": "eth0; reboot"}, "not an interface name"),
        ({"table": "opslab_x", "src_ip": "10.0.0.1; reboot"}, "not an IPv4 address"),
        ({"table": "opslab_x", "src_mac": "02:42"}, "not a MAC address"),
        ({"table": "opslab_x", "quota_bytes": 0}, "at least 1"),
    ],
)
def test_bad_rule_input_is_refused_before_anything_runs(kw: dict[str, Any], says: str) -> None:
    with pytest.raises(UsageError, match=says) as e:
        Drop(**kw)
    assert e.value.hint


def host(replies: dict[str, Any]) -> tuple[Host, FakeTransport]:
    t = FakeTransport(replies)
    return Host("gw", "c-gw", t), t


def test_inject_loads_the_table_in_one_transaction() -> None:
    h, t = host({})
    inject(h, Drop("opslab_x", iface="eth1", proto="tcp", port=7789))
    assert len(t.commands) == 1 and t.commands[0].endswith("| nft -f -")
    assert "table inet opslab_x {" in t.commands[0]


def test_the_probe_names_the_table_and_matches_it_exactly() -> None:
    h, _ = host({"nft list tables inet": (0, "table inet opslab_x_more\ntable inet filter\n")})
    assert table_gone(h, "inet", "opslab_x") == (True, "gw: nft table inet opslab_x is gone")
    h, _ = host({"nft list tables inet": (0, "table inet opslab_x\n")})
    assert table_gone(h, "inet", "opslab_x") == (False, "gw: nft table inet opslab_x still drops")


def test_the_verified_heal_deletes_then_lists_and_raises_when_the_table_stays() -> None:
    h, t = host({"nft list tables inet": (0, "table inet opslab_x\n")})
    with pytest.raises(TableNotRemoved, match="gw: nft table inet opslab_x still drops after nft delete table"):
        heal(h, "inet", "opslab_x")
    assert "nft delete table inet opslab_x" in t.commands[0] and t.commands[1] == "nft list tables inet"
    h, _ = host({"nft list tables inet": (0, "")})
    heal(h, "inet", "opslab_x")  # gone: no error


def test_remove_raises_when_nft_fails() -> None:
    h, _ = host({"nft list table": (1, "Error: Operation not permitted")})
    with pytest.raises(CommandError, match="Operation not permitted"):
        remove(h, "arp", "opslab_fault")


def test_dropped_sums_the_drop_counters() -> None:
    listing = (
        "table arp opslab_fault {\n\tchain in {\n"
        "\t\tarp saddr ip 10.9.0.100 quota over 28 bytes used 28 bytes accept\n"
        "\t\tarp saddr ip 10.9.0.100 counter packets 1 bytes 28 drop\n"
        "\t\tcounter packets 2 bytes 56 drop\n\t}\n}\n"
    )
    assert dropped(listing) == 3 and dropped("") == 0
