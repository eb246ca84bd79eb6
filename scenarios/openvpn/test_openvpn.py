"""Scenarios of the openvpn lab: an OpenVPN server on an emulated Raspberry Pi (see LABS.md, openvpn).

Every scenario starts from a bare Pi (a fresh lab). Where `setup_server` is not the procedure under test, the
server is set up with `setup_server_offline_ca` (the PKI on the x86 `ca` host, the rest on the Pi), its steps
run one by one as setup: easy-rsa on the emulated Pi costs ~20 s per certificate, and `setup_server` shows it.
Waits read OpenVPN's logs from a mark (the log's length before the action), so they wait for THIS connection
or refusal, not an earlier one.
"""

from __future__ import annotations

import time

import pytest

from lab.checks import StepFailedWith
from lab.procedure import Step
from lab.scenario import ScenarioRun, StepFailed
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
from scenarios.openvpn.faults import ExpiredCrl, ForwardingOff
from scenarios.openvpn.lab import ARM_CLIENT, CLIENT_LOG, SERVER_LOG
from scenarios.openvpn.plans import CONNECT_TIMEOUT, SETUP_SERVER, WATCH, connect, setup_server, wait_connected
from scenarios.openvpn.procedures import (
    OFFLINE_CA,
    RESTART_SERVER,
    TUN_UP,
    hand_over,
)

COMPLETED = "Initialization Sequence Completed"


def retry(client: str) -> Step:
    """The client tries again now (SIGUSR1: openvpn's soft restart) rather than after its back-off."""
    return Step(client, "kill -USR1 $(cat {client_pid})", f"{client} reconnects (openvpn's soft restart)")


RETRY_CLIENT2 = retry("client2")


def wait_refused(run: ScenarioRun, client: str, since: int) -> None:
    pi, ip = run.host("pi"), run.facts[f"{client}_ip"]
    run.wait_for(
        lambda: refusals(pi.log_since(SERVER_LOG, since), ip),
        what=f"the server to refuse {client} ({ip}) with a VERIFY ERROR",
        timeout=CONNECT_TIMEOUT,
        interval=0.2,
    )


def test_setup_server(scenario: ScenarioRun) -> None:
    """The runbook on a bare Pi: install, PKI (fast mode: EC keys, dh none), server.conf from the sample,
    start, tun0 = 10.8.0.1, forwarding on. The Pi really runs ARM binaries (an x86 client does not). client1,
    given the keys the runbook made, connects and reaches the home LAN through the tunnel."""
    SETUP_SERVER.walk(scenario, "setup_server", watch=WATCH)


def test_client_connects(scenario: ScenarioRun) -> None:
    """client1 gets its keys and the sample client.conf: the server logs `Peer Connection Initiated` for it,
    the client `Initialization Sequence Completed`, a 10.8.0.x address and the pushed route. An ARM client
    (the Pi's image, emulated too) connects the same way."""
    run = scenario
    setup_server(run)
    mark_pi, mark_client = run.host("pi").log_mark(SERVER_LOG), run.host("client1").log_mark(CLIENT_LOG)
    t0 = time.time()
    run.procedure("connect_client")
    wait_connected(run, "client1", mark_client, t0)
    run.check(PeerConnectionInitiated("client1", mark_pi))
    run.check(ClientTunnelUp("client1", mark_client))
    run.check(RefusedFor("client1", "certificate revoked", mark_pi), expect="fail")
    for step in ARM_CLIENT_KEY:
        run.step(step)
    mark_pi, mark_arm, t0 = connect(run, ARM_CLIENT)
    wait_connected(run, ARM_CLIENT, mark_arm, t0)
    run.check(RunsArmBinaries(ARM_CLIENT))
    run.check(PeerConnectionInitiated(ARM_CLIENT, mark_pi))
    run.check(ClientTunnelUp(ARM_CLIENT, mark_arm))


def test_route_to_home_lan(scenario: ScenarioRun) -> None:
    """The LAN host behind the Pi answers client1 through the tunnel, and only through it: before the
    tunnel, and from client2 (no tunnel), it is unreachable."""
    run = scenario
    setup_server(run)
    run.check(LanHostUnreachable("client1", when="before_tunnel"))
    mark, t0 = run.host("client1").log_mark(CLIENT_LOG), time.time()
    run.procedure("connect_client")
    wait_connected(run, "client1", mark, t0)
    run.check(ClientTunnelUp("client1", mark))
    run.check(ReachesLanHostThroughTunnel("client1"))
    run.check(LanHostUnreachable("client2", when="no_tunnel"))
    run.check(LanHostUnreachable("client1", when="tunnel_up"), expect="fail")


def test_forwarding_off(scenario: ScenarioRun) -> None:
    """The tunnel is up but the Pi does not forward: the LAN host does not answer, and the check says the
    tunnel ends at the Pi (net.ipv4.ip_forward = 0). Forwarding back on, it answers."""
    run = scenario
    setup_server(run)
    mark, t0 = run.host("client1").log_mark(CLIENT_LOG), time.time()
    run.procedure("connect_client")
    wait_connected(run, "client1", mark, t0)
    with run.fault(ForwardingOff()):
        run.check(ClientTunnelUp("client1", mark))
        run.check(ReachesLanHostThroughTunnel("client1", when="forwarding_off"), expect="fail")
        run.check(ForwardingEnabled(), expect="fail")
    run.check(ReachesLanHostThroughTunnel("client1", when="healed"))


def test_revoked_client(scenario: ScenarioRun) -> None:
    """client2 is revoked and the CRL regenerated: when it reconnects the server refuses it (`certificate
    revoked`), also after a server restart; client1 still connects."""
    run = scenario
    setup_server(run)
    _, m1, t1 = connect(run, "client1")
    _, m2, t2 = connect(run, "client2")
    wait_connected(run, "client1", m1, t1)
    wait_connected(run, "client2", m2, t2)
    mark = run.host("pi").log_mark(SERVER_LOG)
    run.procedure("revoke_client")
    run.step(RETRY_CLIENT2)
    wait_refused(run, "client2", mark)
    run.check(RefusedFor("client2", "certificate revoked", mark))
    run.check(PeerConnectionInitiated("client2", mark), expect="fail")

    restart, c1 = run.host("pi").log_mark(SERVER_LOG), run.host("client1").log_mark(CLIENT_LOG)
    c2 = run.host("client2").log_mark(CLIENT_LOG)
    for step in RESTART_SERVER:
        run.step(step)
    run.step(RETRY_CLIENT2)
    wait_connected(run, "client1", c1)
    wait_refused(run, "client2", restart)
    run.check(RefusedFor("client2", "certificate revoked", restart, when="after_restart"))
    run.check(PeerConnectionInitiated("client2", restart, when="after_restart"), expect="fail")
    run.check(ClientTunnelUp("client2", c2, when="after_restart"), expect="fail")
    run.check(PeerConnectionInitiated("client1", restart, when="after_restart"))
    run.check(ClientTunnelUp("client1", c1, when="after_restart"))


ARM_CLIENT_KEY = (
    Step("ca", f"cd {OFFLINE_CA} && ./easyrsa build-client-full {ARM_CLIENT} nopass", f"a key for {ARM_CLIENT}"),
    hand_over("ca", OFFLINE_CA, ARM_CLIENT),
)

FOREIGN_CA = (
    Step(
        "client2",
        "make-cadir /root/other-ca && cd /root/other-ca"
        " && printf 'set_var EASYRSA_BATCH 1\\nset_var EASYRSA_ALGO ec\\nset_var EASYRSA_CURVE prime256v1\\n' >> vars"
        " && ./easyrsa init-pki && ./easyrsa --req-cn='Other CA' build-ca nopass"
        " && ./easyrsa build-client-full intruder nopass",
        "another CA, and a client certificate from it",
    ),
    Step(
        "client2",
        "mkdir -p /transfer/intruder && cp /transfer/client2/ca.crt /transfer/intruder/"
        " && cp /root/other-ca/pki/issued/intruder.crt /root/other-ca/pki/private/intruder.key /transfer/intruder/",
        "the intruder trusts the Pi's CA, but its own certificate comes from the other CA",
    ),
)


def test_foreign_ca_client(scenario: ScenarioRun) -> None:
    """A client whose certificate comes from another CA (it trusts the Pi's CA) is refused by the server."""
    run = scenario
    setup_server(run)
    for step in FOREIGN_CA:
        run.step(step)
    mark, c2, _ = connect(run, "client2", keys="intruder")
    wait_refused(run, "client2", mark)
    run.check(RefusedFor("client2", "unable to get local issuer certificate", mark))
    run.check(PeerConnectionInitiated("client2", mark), expect="fail")
    run.check(ClientTunnelUp("client2", c2), expect="fail")


def test_expired_crl(scenario: ScenarioRun) -> None:
    """The server's CRL has expired (nextUpdate past): it refuses every client with `CRL has expired`, and
    the check names the cause. With the current CRL back, client1 connects."""
    run = scenario
    setup_server(run)
    with run.fault(ExpiredCrl()):
        m1, c1, _ = connect(run, "client1")
        m2, _, _ = connect(run, "client2")
        wait_refused(run, "client1", m1)
        wait_refused(run, "client2", m2)
        run.check(CrlCurrent(), expect="fail")
        run.check(RefusedFor("client1", "CRL has expired", m1))
        run.check(RefusedFor("client2", "CRL has expired", m2))
        run.check(PeerConnectionInitiated("client1", m1), expect="fail")
        run.check(ClientTunnelUp("client1", c1), expect="fail")
        healed = run.host("pi").log_mark(SERVER_LOG)
    run.step(retry("client1"))
    wait_connected(run, "client1", c1)
    run.check(CrlCurrent(), expect="pass")
    run.check(PeerConnectionInitiated("client1", healed, when="crl_renewed"))


# what OpenVPN 2.6 on the Pi logs (seen in these scenarios), and what the runbook's tun0 check then says
NO_TUN = "Cannot open TUN/TAP dev /dev/net/tun: No such file or directory"
NO_NET_ADMIN = "Cannot ioctl TUNSETIFF tun: Operation not permitted"
NO_TUN0 = 'Device "tun0" does not exist'
TUN_CHECK = TUN_UP.title.split(" {", 1)[0]  # "check that tun0 is": the step that stops the setup


@pytest.mark.lab_params(pi_net_admin="NET_RAW")
def test_no_net_admin(scenario: ScenarioRun) -> None:
    """The Pi's container has /dev/net/tun but not CAP_NET_ADMIN: OpenVPN cannot create tun0
    (`Cannot ioctl TUNSETIFF tun: Operation not permitted`), and the checks say what is missing."""
    run = scenario
    with pytest.raises(StepFailed):
        run.procedure("setup_server_offline_ca")
    run.note("the setup stopped at the start of the server, as expected without CAP_NET_ADMIN")
    run.check(StepFailedWith(TUN_CHECK, NO_TUN0, rc=1))
    run.check(ServerStoppedWith(NO_NET_ADMIN))
    run.check(ServerStoppedWith(NO_TUN), expect="fail")
    run.check(TunDeviceUsable(), expect="fail")
    run.check(ServerTunnelUp(), expect="fail")


@pytest.mark.lab_params(pi_tun_device="/dev/null")
def test_no_tun(scenario: ScenarioRun) -> None:
    """The Pi's container has no /dev/net/tun: the server cannot start, and the checks say why
    (`Cannot open TUN/TAP dev /dev/net/tun`) and what to give the container."""
    run = scenario
    with pytest.raises(StepFailed):
        run.procedure("setup_server_offline_ca")
    run.note("the setup stopped at the start of the server, as expected without /dev/net/tun")
    run.check(StepFailedWith(TUN_CHECK, NO_TUN0, rc=1))
    run.check(ServerStoppedWith(NO_TUN))
    run.check(ServerStoppedWith(NO_NET_ADMIN), expect="fail")
    run.check(RunsArmBinaries("pi"))
    run.check(TunDeviceUsable(), expect="fail")
    run.check(ServerTunnelUp(), expect="fail")
