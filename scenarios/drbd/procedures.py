"""The drbd lab's procedures, as an engineer types them.

`replace_both_nodes` is the runbook: replace all hardware but the disks, one node at a time, the secondary first,
with the service running. A node is shut down (heartbeat stopped, the resource taken down, the machine powered
off), replaced (a new container, hence a new NIC, on the same disk) and booted with its replication link; it
resyncs; redundancy is checked; then heartbeat is stopped on the primary so the new node takes over, and the old
primary goes the same way. Steps on `local` run on this machine (the "data centre"): `{compose}` is this lab
instance's docker compose command.

State-changing steps carry a `verify` command (read-only; `local` ones run on this machine) that rehearse runs after
a person did the step by hand; steps that only read or wait are `readonly` (verified by running them again); the
resync waits name a progress probe (how far the resync has got).

`PREPARE` is the state every scenario starts from: the volume's first full sync (alpha forced Primary on two
just-created disks), then heartbeat enabled and started on both nodes; alpha takes the resource group.
"""

from lab.procedure import Procedure, Step

HB = "/etc/init.d/heartbeat"
SYNCED = "until drbdadm dstate r0 2>/dev/null | grep -qx UpToDate/UpToDate; do sleep 0.2; done"
# `drbdadm status r0` of drbd-utils' v84 drbdsetup: both roles known, connected, both disks UpToDate
REDUNDANT = (
    r"^r0 role:(Primary|Secondary)\n  disk:UpToDate\n"
    r"  peer role:(Primary|Secondary)\n    replication:Established peer-disk:UpToDate$"
)
# read-only: how far a resync has got ("sync'ed: 41.0%"), else the connection state; shown while a step waits
RESYNC_PROGRESS = (
    '(drbdadm proc-drbd r0 2>/dev/null || drbdadm status r0) | grep -o "sync\'ed: *[0-9.]*%" || drbdadm cstate r0'
)
# read-only checks of the state a step leaves (rehearse runs them after a person did the step by hand)
HB_RUNNING = f"{HB} status"
HB_STOPPED = f"! {HB} status"
R0_DOWN = "drbdadm cstate r0 | grep -qx Unconfigured"


def container(node: str, status: str) -> str:
    """Verifies, on this machine, that the node's container is in `status` (exited, created, running)."""
    return f'test -n "$({{compose}} ps -a -q --status {status} {node})"'


def wait_peer_active(peer: str) -> str:
    return f"until cl_status nodestatus {peer} 2>/dev/null | grep -qx active; do sleep 0.2; done; cl_status hbstatus"


def shut_down(node: str, n: int) -> tuple[Step, ...]:
    return (
        Step(node, f"{HB} stop", f"{n}. stop heartbeat on {node}", verify=HB_STOPPED),
        Step(node, "drbdadm down r0", f"{n + 1}. take r0 down on {node}", verify=R0_DOWN),
        Step(
            "local",
            f"{{compose}} stop {node}",
            f"{n + 2}. shut {node} down",
            local=True,
            verify=container(node, "exited"),
        ),
    )


def replace(node: str, n: int) -> Step:
    return Step(
        "local",
        f"{{compose}} rm -f {node} && {{compose}} create --no-build {node}",
        f"{n}. replace {node}'s hardware: a new machine (new NIC) around the same disk",
        local=True,
        verify=container(node, "created"),
    )


def boot(node: str, n: int) -> Step:
    return Step(
        "local",
        f"{{compose}} start {node}",
        f"{n}. boot {node} with its replication link plugged in",
        local=True,
        verify=container(node, "running"),
    )


def resync(node: str, n: int) -> Step:
    return Step(
        node,
        SYNCED,
        f"{n}. wait for {node}'s resync (both UpToDate)",
        timeout=60,
        readonly=True,
        progress=RESYNC_PROGRESS,
    )


PREPARE = (
    Step(
        "alpha",
        "drbdadm primary --force r0",
        "initial sync: alpha's data is the good one",
        verify="drbdadm role r0 | grep -q ^Primary/",
    ),
    Step(
        "alpha",
        SYNCED,
        "wait for the initial full sync",
        timeout=60,
        readonly=True,
        progress=RESYNC_PROGRESS,
    ),
    Step("alpha", "drbdadm secondary r0", "hand r0 to heartbeat", verify="drbdadm role r0 | grep -q ^Secondary/"),
    Step(
        "alpha",
        f"touch /var/lib/drbd/.heartbeat-enabled && {HB} start",
        "enable and start heartbeat on alpha",
        verify=HB_RUNNING,
    ),
    Step(
        "beta",
        f"touch /var/lib/drbd/.heartbeat-enabled && {HB} start",
        "enable and start heartbeat on beta",
        verify=HB_RUNNING,
    ),
    Step(
        "client",
        "python3 /opt/opslab/node/writer.py wait {url} 30",
        "the service answers on the floating IP",
        timeout=40,
        readonly=True,
    ),
)

REPLACE_BOTH_NODES = Procedure(
    "replace_both_nodes",
    "replace both nodes' hardware, secondary first, with no downtime beyond one failover",
    (
        *shut_down("beta", 1),
        replace("beta", 4),
        boot("beta", 5),
        resync("beta", 6),
        Step("alpha", "drbdadm status r0", "7. check redundancy on alpha", expect_output=REDUNDANT, readonly=True),
        Step(
            "client",
            "ping -c1 -W1 {beta_ip} >/dev/null; ip neigh show {beta_ip}",
            "8. check the network: the client has learned beta's new MAC",
            expect_output="lladdr",
            readonly=True,
        ),
        Step(
            "beta", wait_peer_active("alpha"), "9. check heartbeat on beta: alpha is active", timeout=30, readonly=True
        ),
        Step(
            "alpha", wait_peer_active("beta"), "10. check heartbeat on alpha: beta is active", timeout=30, readonly=True
        ),
        Step("alpha", f"{HB} stop", "11. stop heartbeat on the primary: beta takes over", verify=HB_STOPPED),
        Step(
            "beta",
            "until /etc/ha.d/resource.d/recordd status; do sleep 0.2; done; drbdadm role r0",
            "12. the service runs on beta",
            expect_output="^Primary/",
            timeout=30,
            readonly=True,
        ),
        Step("alpha", "drbdadm down r0", "13. take r0 down on alpha", verify=R0_DOWN),
        Step("local", "{compose} stop alpha", "14. shut alpha down", local=True, verify=container("alpha", "exited")),
        replace("alpha", 15),
        boot("alpha", 16),
        resync("alpha", 17),
        Step("beta", "drbdadm status r0", "18. check redundancy on beta", expect_output=REDUNDANT, readonly=True),
    ),
)


REPLACE_SECONDARY = Procedure(
    "replace_secondary",
    "the runbook's first half: shut the secondary down, replace its hardware, boot it",
    (*shut_down("beta", 1), replace("beta", 4), boot("beta", 5)),
)

RECOVER_SPLIT_BRAIN = Procedure(
    "recover_split_brain",
    "after a split brain, keep alpha's data and discard beta's (the victim)",
    (
        Step("beta", f"{HB} stop", "stop heartbeat on the victim (it gives up the service and the IP)"),
        Step("beta", "drbdadm role r0 | grep -q ^Secondary || drbdadm secondary r0", "the victim is Secondary"),
        Step("beta", "drbdadm connect --discard-my-data r0", "the victim connects, discarding its changes"),
        Step("alpha", "drbdadm cstate r0 | grep -qx StandAlone && drbdadm connect r0 || true", "the survivor connects"),
        Step("alpha", "arping -U -c 2 -I eth0 {vip}", "the survivor announces the floating IP again"),
        Step("beta", SYNCED, "wait for the victim's resync", timeout=60),
        Step("beta", f"{HB} start", "start heartbeat on the victim again"),
        Step("beta", "drbdadm status r0", "check redundancy", expect_output=REDUNDANT),
    ),
)

PROCEDURES = {p.name: p for p in (REPLACE_BOTH_NODES, REPLACE_SECONDARY, RECOVER_SPLIT_BRAIN)}
