"""The openvpn lab's judges on canned data: each one shown passing and failing, no Docker."""

from __future__ import annotations

import json
from typing import Any

import pytest

from lab.checks import Verdict
from lab.host import FakeTransport, Host
from lab.scenario import ScenarioRun
from scenarios.openvpn.checks import (
    ClientTunnelUp,
    CrlCurrent,
    ForwardingEnabled,
    LanHostUnreachable,
    PeerConnectionInitiated,
    ReachesLanHostThroughTunnel,
    RefusedFor,
    RunsArmBinaries,
    ServerStoppedWith,
    ServerTunnelUp,
    TunDeviceUsable,
    refusals,
)
from scenarios.openvpn.procedures import EASYRSA2, PROCEDURES, SETUP_SERVER

HOSTS = ["pi", "client1", "client2", "lanhost"]
FACTS = {
    "pi_ip": "10.9.0.10",
    "client1_ip": "10.9.0.21",
    "client2_ip": "10.9.0.22",
    "lan_net": "10.9.1.0",
    "lanhost_ip": "10.9.1.50",
}
SERVER_LOG = """\
2026-11-28 20:50:00 Initialization Sequence Completed
2026-11-28 20:50:03 10.9.0.21:41234 VERIFY OK: depth=0, CN=client1
2026-11-28 20:50:03 10.9.0.21:41234 [client1] Peer Connection Initiated with [AF_INET]10.9.0.21:41234
2026-11-28 20:50:09 10.9.0.22:50000 VERIFY ERROR: depth=0, error=certificate revoked: CN=client2, serial=4711
2026-11-28 20:50:09 10.9.0.22:50000 OpenSSL: error:0A000086:SSL routines::certificate verify failed
"""
ARM_HEADER = "7f 45 4c 46 01 01 01 00 00 00 00 00 00 00 00 00\n 03 00 28 00\n"
X86_HEADER = "7f 45 4c 46 02 01 01 00 00 00 00 00 00 00 00 00\n 03 00 3e 00\n"


@pytest.fixture
def lab(fake_lab: Any) -> Any:
    """The conftest's fake lab, with this lab's hosts and facts."""
    fake_lab.spec.hosts = list(HOSTS)
    fake_lab.transports = {h: FakeTransport() for h in HOSTS}
    fake_lab._hosts = {h: Host(h, f"{fake_lab.project}-{h}-1", t) for h, t in fake_lab.transports.items()}
    fake_lab._facts.update(FACTS)
    return fake_lab


@pytest.fixture
def run(lab: Any) -> ScenarioRun:
    return ScenarioRun("openvpn/x", lab)


def replies(lab: Any, host: str) -> dict[str, Any]:
    return lab.transports[host].replies


def tun(*addrs: str) -> tuple[int, str]:
    info = [{"family": "inet", "local": a.split("/")[0], "prefixlen": int(a.split("/")[1])} for a in addrs]
    return 0, json.dumps([{"ifname": "tun0", "addr_info": info}])


def test_runs_arm_binaries(lab: Any, run: ScenarioRun) -> None:
    replies(lab, "pi").update({"uname -m": (0, "armv7l\n"), "od -An": (0, ARM_HEADER)})
    r = RunsArmBinaries("pi").evaluate(run.view)
    assert r.verdict == Verdict.PASS and "ARM binary" in r.detail
    replies(lab, "client1").update({"uname -m": (0, "x86_64\n"), "od -An": (0, X86_HEADER)})
    r = RunsArmBinaries("client1").evaluate(run.view)
    assert r.verdict == Verdict.FAIL and "x86-64" in r.detail
    replies(lab, "client2").update({"uname -m": (0, "x86_64\n"), "od -An": (0, "23 21 2f 62\n")})
    assert RunsArmBinaries("client2").evaluate(run.view).verdict == Verdict.UNKNOWN


def test_server_tunnel_up_and_why_not(lab: Any, run: ScenarioRun) -> None:
    replies(lab, "pi")["ip -j -4 addr show dev tun0"] = tun("10.8.0.1/24")
    assert ServerTunnelUp().evaluate(run.view).verdict == Verdict.PASS
    pi = replies(lab, "pi")
    pi["ip -j -4 addr show dev tun0"] = (1, 'Device "tun0" does not exist.')
    pi["pgrep -x openvpn"] = (1, "")
    pi["tail -c"] = (
        0,
        "2026-11-28 20:50:00 ERROR: Cannot open TUN/TAP dev /dev/net/tun: No such file or directory (errno=2)\n"
        "2026-11-28 20:50:00 Exiting due to fatal error\n",
    )
    r = ServerTunnelUp().evaluate(run.view)
    assert r.verdict == Verdict.FAIL
    assert "does not exist" in r.detail and "Cannot open TUN/TAP dev /dev/net/tun" in r.detail
    assert "is not running" in r.detail


NO_TUN_LOG = (
    "2026-11-28 20:50:00 ERROR: Cannot open TUN/TAP dev /dev/net/tun: No such file or directory (errno=2)\n"
    "2026-11-28 20:50:00 Exiting due to fatal error\n"
)
NO_NET_ADMIN_LOG = (
    "2026-11-28 20:50:00 ERROR: Cannot ioctl TUNSETIFF tun: Operation not permitted (errno=1)\n"
    "2026-11-28 20:50:00 Exiting due to fatal error\n"
)


def test_server_stopped_with_the_error_it_names(lab: Any, run: ScenarioRun) -> None:
    pi = replies(lab, "pi")
    pi.update({"pgrep -x openvpn": (1, ""), "tail -c": (0, NO_TUN_LOG)})
    r = ServerStoppedWith("Cannot open TUN/TAP dev /dev/net/tun").evaluate(run.view)
    assert r.verdict == Verdict.PASS
    assert "Cannot open TUN/TAP dev /dev/net/tun: No such file or directory" in r.detail and r.evidence["line"]
    other = ServerStoppedWith("Cannot ioctl TUNSETIFF").evaluate(run.view)  # the other negative scenario's error
    assert other.verdict == Verdict.FAIL
    assert "no 'Cannot ioctl TUNSETIFF'" in other.detail and "it says: ERROR: Cannot open TUN/TAP" in other.detail


def test_server_stopped_with_fails_when_the_server_runs_or_said_nothing(lab: Any, run: ScenarioRun) -> None:
    pi = replies(lab, "pi")
    pi.update({"pgrep -x openvpn": (0, "42\n"), "tail -c": (0, NO_NET_ADMIN_LOG)})
    r = ServerStoppedWith("Cannot ioctl TUNSETIFF").evaluate(run.view)
    assert r.verdict == Verdict.FAIL and "openvpn runs" in r.detail  # the words are there, but it is running
    stopped = "2026-11-28 20:50:00 Initialization Sequence Completed\n2026-11-28 20:59:00 SIGTERM[hard,] received\n"
    pi.update({"pgrep -x openvpn": (1, ""), "tail -c": (0, stopped)})
    r = ServerStoppedWith("Cannot ioctl TUNSETIFF").evaluate(run.view)
    assert r.verdict == Verdict.FAIL and "the server log names no error" in r.detail


def test_tun_device_usable(lab: Any, run: ScenarioRun) -> None:
    pi = replies(lab, "pi")
    pi["cat /proc/self/status"] = (0, "Name:\tcat\nCapEff:\t00000000a80435fb\n")
    assert TunDeviceUsable().evaluate(run.view).verdict == Verdict.PASS
    pi["test -c /dev/net/tun"] = (1, "")
    r = TunDeviceUsable().evaluate(run.view)
    assert r.verdict == Verdict.FAIL and "lacks /dev/net/tun" in r.detail and "--device /dev/net/tun" in r.detail
    pi["cat /proc/self/status"] = (0, "CapEff:\t00000000a80425fb\n")  # bit 12 cleared
    assert "/dev/net/tun and CAP_NET_ADMIN" in TunDeviceUsable().evaluate(run.view).detail


def test_peer_connection_initiated_names_the_refusal(lab: Any, run: ScenarioRun) -> None:
    replies(lab, "pi")["tail -c"] = (0, SERVER_LOG)
    r = PeerConnectionInitiated("client1").evaluate(run.view)
    assert r.verdict == Verdict.PASS and "[AF_INET]10.9.0.21:41234" in r.detail
    r = PeerConnectionInitiated("client2", when="x").evaluate(run.view)
    assert r.verdict == Verdict.FAIL and r.name == "PeerConnectionInitiated(client2)@x"
    assert "certificate revoked" in r.detail
    replies(lab, "pi")["tail -c"] = (0, SERVER_LOG.replace("[client1]", "[client2]"))
    r = PeerConnectionInitiated("client1").evaluate(run.view)
    assert r.verdict == Verdict.FAIL and "connected as [client2], not [client1]" in r.detail


def test_refused_for(lab: Any, run: ScenarioRun) -> None:
    replies(lab, "pi")["tail -c"] = (0, SERVER_LOG)
    assert RefusedFor("client2", "certificate revoked").evaluate(run.view).verdict == Verdict.PASS
    r = RefusedFor("client2", "CRL has expired").evaluate(run.view)
    assert r.verdict == Verdict.FAIL and "it said: certificate revoked" in r.detail
    r = RefusedFor("client1", "certificate revoked").evaluate(run.view)
    assert r.verdict == Verdict.FAIL and "did not refuse" in r.detail


def test_refusals_read_the_reason_without_the_subject() -> None:
    line = "2026-11-28 20:50:09 10.9.0.22:1 VERIFY ERROR: depth=0, error=unable to get local issuer certificate: CN=x"
    assert refusals(line, "10.9.0.22") == ["unable to get local issuer certificate"]
    assert refusals(line, "10.9.0.21") == []


def test_client_tunnel_up(lab: Any, run: ScenarioRun) -> None:
    c = replies(lab, "client1")
    c["tail -c"] = (0, "2026-11-28 20:50:04 Initialization Sequence Completed\n")
    c["ip -j -4 addr show dev tun0"] = tun("10.8.0.2/24")
    c["ip -j route show"] = (0, json.dumps([{"dst": "10.9.1.0/24", "gateway": "10.8.0.1", "dev": "tun0"}]))
    r = ClientTunnelUp("client1").evaluate(run.view)
    assert r.verdict == Verdict.PASS and "10.8.0.2/24" in r.detail
    c["ip -j route show"] = (0, "[]")
    r = ClientTunnelUp("client1").evaluate(run.view)
    assert r.verdict == Verdict.FAIL and "no route to 10.9.1.0/24 through tun0" in r.detail
    c["tail -c"] = (0, "2026-11-28 20:50:04 TLS Error: TLS handshake failed\n")
    r = ClientTunnelUp("client1").evaluate(run.view)
    assert "no 'Initialization Sequence Completed'" in r.detail and "TLS handshake failed" in r.detail


def test_forwarding_enabled(lab: Any, run: ScenarioRun) -> None:
    replies(lab, "pi")["ip_forward"] = (0, "1\n")
    assert ForwardingEnabled().evaluate(run.view).verdict == Verdict.PASS
    replies(lab, "pi")["ip_forward"] = (0, "0\n")
    assert ForwardingEnabled().evaluate(run.view).verdict == Verdict.FAIL


def test_reaches_lan_host_through_tunnel_explains_forwarding(lab: Any, run: ScenarioRun) -> None:
    c, pi = replies(lab, "client1"), replies(lab, "pi")
    c["ip -j route get"] = (0, json.dumps([{"dst": "10.9.1.50", "gateway": "10.8.0.1", "dev": "tun0"}]))
    pi["ip_forward"] = (0, "1\n")
    assert ReachesLanHostThroughTunnel("client1").evaluate(run.view).verdict == Verdict.PASS
    c["ping"] = (1, "2 packets transmitted, 0 received, 100% packet loss\n")
    pi["ip_forward"] = (0, "0\n")
    r = ReachesLanHostThroughTunnel("client1").evaluate(run.view)
    assert r.verdict == Verdict.FAIL and "net.ipv4.ip_forward = 0" in r.detail
    c["ip -j route get"] = (0, json.dumps([{"dst": "10.9.1.50", "gateway": "10.9.0.254", "dev": "eth0"}]))
    r = ReachesLanHostThroughTunnel("client1").evaluate(run.view)
    assert r.verdict == Verdict.FAIL and "via eth0, not tun0" in r.detail
    c["ping"] = (0, "2 packets transmitted, 2 received\n")
    assert "not the tunnel" in ReachesLanHostThroughTunnel("client1").evaluate(run.view).detail


def test_lan_host_unreachable(lab: Any, run: ScenarioRun) -> None:
    replies(lab, "client2")["ping"] = (1, "2 packets transmitted, 0 received, 100% packet loss\n")
    assert LanHostUnreachable("client2").evaluate(run.view).verdict == Verdict.PASS
    replies(lab, "client1")["ping"] = (0, "2 packets transmitted, 2 received\nrtt min/avg/max = 1/2/3 ms\n")
    r = LanHostUnreachable("client1", when="tunnel_up").evaluate(run.view)
    assert r.verdict == Verdict.FAIL and r.name == "LanHostUnreachable(client1)@tunnel_up"


def test_crl_current(lab: Any, run: ScenarioRun) -> None:
    pi = replies(lab, "pi")
    pi["date +%s"] = (0, "1795900000\n")  # 2026-11-28
    pi["openssl crl"] = (0, "lastUpdate=Nov 28 20:00:00 2026 GMT\nnextUpdate=May 27 20:00:00 2027 GMT\n")
    assert CrlCurrent().evaluate(run.view).verdict == Verdict.PASS
    pi["openssl crl"] = (0, "lastUpdate=Jan  1 00:00:00 2020 GMT\nnextUpdate=Feb  1 00:00:00 2020 GMT\n")
    r = CrlCurrent().evaluate(run.view)
    assert r.verdict == Verdict.FAIL and "CRL has expired" in r.detail


def test_procedures_are_data_and_name_easy_rsa_2() -> None:
    commands = [s.command for s in SETUP_SERVER]
    assert any("./easyrsa" in c and "build-ca nopass" in c for c in commands)
    assert not any("gen-dh" in c for c in commands)  # fast mode: dh none
    assert any("gen-dh" in s.command for s in PROCEDURES["setup_server_dh2048"].steps)
    titles = " ".join(s.title for s in SETUP_SERVER)
    for old in ("./clean-all", "./build-ca", "./build-key-server server", "./build-key client1"):
        assert old in titles
    assert "./revoke-full <client>" in EASYRSA2
    assert "./revoke-full client2" in " ".join(s.title for s in PROCEDURES["revoke_client"].steps)
    runbook = PROCEDURES["setup_server"].runbook()
    assert "sysctl -w net.ipv4.ip_forward=1" in runbook


def test_lan_closed_without_tunnel(lab: Any, run: ScenarioRun) -> None:
    from scenarios.openvpn.checks import LanClosedWithoutTunnel

    replies(lab, "client2")["ping"] = (1, "1 packets transmitted, 0 received, 100% packet loss")
    assert LanClosedWithoutTunnel().evaluate(run.view).verdict == Verdict.PASS
    replies(lab, "client2")["ping"] = (0, "1 packets transmitted, 1 received, 0% packet loss")
    r = LanClosedWithoutTunnel().evaluate(run.view)
    assert r.verdict == Verdict.FAIL and "answered" in r.detail
