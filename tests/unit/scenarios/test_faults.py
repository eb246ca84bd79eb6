"""The labs' faults on canned data: each heal raises when its command fails, and each probe (`gone`) tells a
fault still in place from one that is gone, naming what it saw. No Docker."""

from __future__ import annotations

from typing import Any

import pytest

from lab.errors import CommandError
from lab.scenario import ScenarioRun
from scenarios.arp.faults import DropArp
from scenarios.drbd.faults import CutLink, ThrottleReplication, UnpluggedReplicationLink
from scenarios.mirror.faults import OriginAnswers500
from scenarios.mysql.faults import RowsChangedBehindReplication, SqlThreadStopped
from scenarios.openvpn.faults import ExpiredCrl, ForwardingOff


@pytest.fixture
def run(fake_lab: Any) -> ScenarioRun:
    for name in ("alpha", "pi", "origin", "master", "slave1"):
        fake_lab.add_host(name)
    fake_lab._facts.update({"db": "shop", "engine": "mariadb-10.11"})
    return ScenarioRun("fake/faults", fake_lab)


def replies(run: ScenarioRun, host: str) -> dict[str, Any]:
    return run.lab.transports[host].replies  # type: ignore[attr-defined, no-any-return]


def test_drop_arp_is_gone_only_without_its_table(run: ScenarioRun) -> None:
    replies(run, "gateway")["nft list tables arp"] = (0, "table arp filter\ntable arp opslab_fault\n")
    assert DropArp().gone(run) == (False, "gateway: nft table arp opslab_fault still drops")
    replies(run, "gateway")["nft list tables arp"] = (0, "table arp filter\n")
    assert DropArp().gone(run)[0] is True


def test_drop_arp_heal_raises_when_nft_fails(run: ScenarioRun) -> None:
    replies(run, "gateway")["nft list table arp"] = (1, "Error: Could not process rule: Operation not permitted")
    with pytest.raises(CommandError, match="Operation not permitted"):
        DropArp().heal(run)


def test_drbd_link_faults_name_what_is_left(run: ScenarioRun) -> None:
    a = replies(run, "alpha")
    a.update({"nft list tables inet": (0, "table inet opslab_cut_heartbeat\ntable inet opslab_unplugged\n")})
    assert CutLink("alpha", "heartbeat").gone(run) == (False, "alpha: nft table inet opslab_cut_heartbeat still drops")
    assert CutLink("alpha", "replication").gone(run)[0] is True
    a["test -e"] = (1, "")
    ok, seen = UnpluggedReplicationLink("alpha").gone(run)
    assert not ok and "still there: nft table inet opslab_unplugged" in seen
    a["tc qdisc show"] = (0, "qdisc tbf 8001: root refcnt 2 rate 2Mbit burst 16Kb lat 400ms\n")
    assert ThrottleReplication("alpha").gone(run) == (False, "alpha: eth1's root qdisc: qdisc tbf 8001: root "
                                                      "refcnt 2 rate 2Mbit burst 16Kb lat 400ms")  # fmt: skip
    a["tc qdisc show"] = (0, "qdisc noqueue 0: root refcnt 2\n")
    assert ThrottleReplication("alpha").gone(run)[0] is True


def test_mysql_faults_read_the_slave(run: ScenarioRun) -> None:
    s = replies(run, "slave1")
    s["SHOW SLAVE STATUS"] = (0, "Slave_SQL_Running\tLast_SQL_Errno\tLast_SQL_Error\nNo\t1062\tDuplicate entry\n")
    assert SqlThreadStopped("slave1").gone(run) == (
        False,
        "slave1: Slave_SQL_Running = No; SQL error 1062: Duplicate entry",
    )
    shape = "tbl\tcol\tnullable\tpk\naccounts\tid\tNO\t1\ndocuments\tid\tNO\t1\n"
    replies(run, "master").update({"information_schema": (0, shape), "crc": (0, "crc\n111\n")})
    s["crc"] = lambda cmd: (0, "crc\n999\n" if "8765" in cmd else "crc\n111\n")
    assert RowsChangedBehindReplication("slave1").gone(run) == (
        False,
        "slave1: rows still differ from the master's: accounts 8765",
    )


def test_openvpn_faults_read_the_pi(run: ScenarioRun) -> None:
    pi = replies(run, "pi")
    pi["cat /proc/sys/net/ipv4/ip_forward"] = (0, "0\n")
    assert ForwardingOff().gone(run) == (False, "pi: net.ipv4.ip_forward = 0")
    pi.update({
        "openssl crl": (0, "lastUpdate=Jan  1 00:00:00 2020 GMT\nnextUpdate=Feb  1 00:00:00 2020 GMT\n"),
        "date +%s": (0, "1796000000\n"),
        "test -e": (1, ""),
    })  # fmt: skip
    ok, seen = ExpiredCrl().gone(run)
    assert not ok and "not current (Jan  1 00:00:00 2020 GMT – Feb  1 00:00:00 2020 GMT)" in seen


def test_origin_answers_500_is_gone_when_each_path_answers_as_before(run: ScenarioRun) -> None:
    fault = OriginAnswers500("/docs/", "/about")
    fault.before = {"/docs/": "200", "/about": "200"}
    o = replies(run, "origin")
    o.update({"test -e": (1, ""), "/about": (0, "  HTTP/1.1 500 Internal Server Error\n")})
    o["/docs/"] = (0, "  HTTP/1.1 200 OK\n")
    assert fault.gone(run) == (False, "origin answers /docs/ 200, /about 500")
    o["/about"] = (0, "  HTTP/1.1 200 OK\n")
    assert fault.gone(run)[0] is True
    o["/about"] = (1, "")  # nginx does not answer at all: not healed either
    assert fault.gone(run) == (False, "origin answers /docs/ 200, /about no answer")


def test_silencing_a_host_is_gone_only_without_its_netdev_table(run: ScenarioRun) -> None:
    from scenarios.arp.faults import SilenceHost

    replies(run, "new")["nft list tables netdev"] = (0, "table netdev opslab_silence\n")
    assert SilenceHost("new").gone(run) == (False, "new: nft table netdev opslab_silence still drops")
    replies(run, "new")["nft list tables netdev"] = (0, "")
    assert SilenceHost("new").gone(run) == (True, "new: nft table netdev opslab_silence is gone")
    replies(run, "new")["nft list table netdev"] = (1, "Error: Operation not permitted")
    with pytest.raises(CommandError, match="Operation not permitted"):
        SilenceHost("new").heal(run)


def test_flushing_the_gateways_entry_says_what_the_gateway_holds_now(run: ScenarioRun) -> None:
    from scenarios.arp.faults import FlushNeighbours

    fault = FlushNeighbours("flush")
    fault.invoke(run)
    assert "ip neigh flush to 10.9.0.100" in run.lab.transports["gateway"].commands  # type: ignore[attr-defined]
    replies(run, "gateway")["ip -j neigh show"] = (
        0,
        '[{"dst": "10.9.0.100", "lladdr": "aa:bb:cc:dd:ee:ff", "state": ["STALE"], "dev": "eth1"}]',
    )
    gone, seen = fault.gone(run)
    assert gone and "aa:bb:cc:dd:ee:ff" in seen and "STALE" in seen
    replies(run, "gateway")["ip neigh flush"] = (1, "RTNETLINK answers: Operation not permitted")
    with pytest.raises(CommandError):
        fault.invoke(run)


def test_drop_arp_loads_one_table_dropping_the_new_servers_frames_for_the_vip(run: ScenarioRun) -> None:
    replies(run, "new")["ip -j link show"] = (0, '[{"ifname": "eth0", "address": "02:42:0A:09:00:03"}]')
    DropArp("new", count=2).invoke(run)
    (load,) = run.lab.transports["gateway"].commands  # type: ignore[attr-defined]
    assert load.endswith("| nft -f -") and "table arp opslab_fault {" in load
    assert "arp saddr ether 02:42:0a:09:00:03 arp saddr ip 10.9.0.100 quota over 56 bytes accept" in load


def test_cut_link_loads_its_own_table_on_the_node(run: ScenarioRun) -> None:
    CutLink("alpha", "replication").invoke(run)
    (load,) = run.lab.transports["alpha"].commands  # type: ignore[attr-defined]
    assert "table inet opslab_cut_replication {" in load and 'oifname "eth1" tcp sport 7789 counter drop' in load
