"""What the openvpn lab's runbooks are staged and judged with (see lab.plan): one plan for setting the server up,
used by the scenario `setup_server` and by `opslab rehearse openvpn setup_server` (and its variants).

Staged: nothing (a bare Pi). After the procedure client1 installs the keys the runbook handed over, starts openvpn
with the sample client.conf and waits for `Initialization Sequence Completed` (a client that never connects is
left to the checks, not cut short). The goal: the Pi runs ARM binaries and has a tunnel device, tun0 is the
server's address, forwarding is on, the CRL current, the server accepted client1, client1's tunnel is up and it
reaches the LAN host through it. Watched throughout: the home LAN stays closed to a client without a tunnel.

Procedures that need a running server (`connect_client`, `revoke_client`, `restart_server`) are rehearsed with
`DEFAULT`: the server set up first from the offline CA (`setup_server_offline_ca`), then judged as a server.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from lab.plan import Expect, Plan, settled
from lab.scenario import ScenarioRun
from scenarios.openvpn.checks import (
    ClientTunnelUp,
    CrlCurrent,
    ForwardingEnabled,
    LanClosedWithoutTunnel,
    PeerConnectionInitiated,
    ReachesLanHostThroughTunnel,
    RunsArmBinaries,
    ServerTunnelUp,
    TunDeviceUsable,
)
from scenarios.openvpn.lab import CLIENT_LOG, SERVER_LOG
from scenarios.openvpn.procedures import PKI, SETUP_OFFLINE_CA, client_steps

WATCH = [LanClosedWithoutTunnel]
PROOF_CLIENT = "client1"  # the client whose keys every setup procedure hands over

CONNECT_TIMEOUT = 90.0  # a TLS handshake with an emulated ARM server, on a shared machine
COMPLETED = "Initialization Sequence Completed"


def setup_server(run: ScenarioRun) -> None:
    for step in SETUP_OFFLINE_CA:
        run.step(step)


def server_metrics(run: ScenarioRun) -> None:
    run.metric("pki_build_s", sum(s.duration_s for s in run.steps if s.title.startswith(PKI)))
    run.metric("server_start_s", sum(s.duration_s for s in run.steps if s.title.startswith(("start the", "check"))))


def connect(run: ScenarioRun, client: str, keys: str | None = None) -> tuple[int, int, float]:
    """Start a client; returns (server log mark, client log mark, start time)."""
    marks = run.host("pi").log_mark(SERVER_LOG), run.host(client).log_mark(CLIENT_LOG)
    t0 = time.time()
    for step in client_steps(client, keys):
        run.step(step)
    return marks[0], marks[1], t0


def wait_connected(run: ScenarioRun, client: str, since: int, t0: float | None = None) -> None:
    h = run.host(client)
    run.wait_for(
        lambda: COMPLETED in h.log_since(CLIENT_LOG, since),
        what=f"{client} to log '{COMPLETED}'",
        timeout=CONNECT_TIMEOUT,
        interval=0.2,
    )
    if t0 is not None:
        run.metric(f"connect_{client}_s", time.time() - t0)


@dataclass
class Marks:
    """Where the server's and the client's logs stood before the client connected (its checks read from there)."""

    pi: int = 0
    client: int = 0


class SetupServer(Plan):
    """Set the server up on a bare Pi; proved by a client that connects and reaches the home LAN."""

    title = "set the OpenVPN server up: tun0, forwarding, a current CRL, and a client that reaches the LAN"

    def before(self, run: ScenarioRun) -> Marks:
        return Marks()

    def after(self, run: ScenarioRun, stage: Any) -> None:
        server_metrics(run)
        stage.pi, stage.client, t0 = connect(run, PROOF_CLIENT)
        settled(run, lambda: wait_connected(run, PROOF_CLIENT, stage.client, t0))

    def judgements(self, run: ScenarioRun, stage: Any) -> list[Expect]:
        marks = stage if isinstance(stage, Marks) else Marks()
        return [
            Expect(RunsArmBinaries("pi")),
            Expect(RunsArmBinaries(PROOF_CLIENT), "fail"),
            Expect(TunDeviceUsable()),
            Expect(ServerTunnelUp(), robust=True),
            Expect(ForwardingEnabled()),
            Expect(CrlCurrent(), robust=True),
            Expect(PeerConnectionInitiated(PROOF_CLIENT, marks.pi)),
            Expect(ClientTunnelUp(PROOF_CLIENT, marks.client)),
            Expect(ReachesLanHostThroughTunnel(PROOF_CLIENT)),
        ]


class ServerRunning(Plan):
    """A procedure on a running server: the server set up from the offline CA first; judged as a server."""

    title = "a procedure on a running server: tun0, forwarding, a current CRL"

    def before(self, run: ScenarioRun) -> None:
        setup_server(run)

    def judgements(self, run: ScenarioRun, stage: Any) -> list[Expect]:
        return [Expect(ServerTunnelUp()), Expect(ForwardingEnabled()), Expect(CrlCurrent())]


SETUP_SERVER = SetupServer()
PLANS: dict[str, Plan] = {
    name: SETUP_SERVER for name in ("setup_server", "setup_server_dh2048", "setup_server_offline_ca")
}
DEFAULT: Plan = ServerRunning()
