"""Faults of the drbd lab. Each heals, a heal is safe when its invoke only half happened, and each has a
read-only probe (`gone`) that says whether the fault is still in place (see lab.faults).

- `UnpluggedReplicationLink(node)`: the node's next boot happens with its replication cable unplugged (a marker
  on its disk that the node's boot reads: everything on eth1 dropped), e.g. the new hardware of a replacement.
  Heal: plug it in (drop rules and marker removed).
- `CutLink(node, kind)`: on a running node, drop heartbeat (UDP 694) or replication (TCP 7789) on eth1.
- `ThrottleReplication(node, rate)`: the node's eth1 sends at most `rate` (tbf), so a resync lasts.
- `CrashNode(node)`: the node's machine dies at once (SIGKILL to everything: `docker kill`). Heal: power it on.
- `PauseNode(node)`: the node's machine freezes (`docker pause`: every process stopped, heartbeat silent, DRBD's
  peer sees it time out). Heal: unpause; gone when the container runs again.

`FAULTS` is the lab's fault library (lab.faults): crash_node, cut_replication, cut_heartbeat, throttle_resync,
pause_node.
"""

from __future__ import annotations

from lab import dockerapi, netfilter
from lab.errors import CommandError, UsageError
from lab.faults import Fault, FaultKind, fault_arg
from lab.netfilter import Drop, DropFault
from lab.scenario import ScenarioRun

UNPLUG_MARKER = "/var/lib/drbd/.unplug-replication-link"
PORTS = {"heartbeat": ("udp", 694), "replication": ("tcp", 7789)}
UNPLUGGED = "opslab_unplugged"  # the table the node's boot makes when it finds the marker


class UnpluggedReplicationLink(Fault):
    def __init__(self, node: str) -> None:
        self.node = node

    def describe(self) -> str:
        return f"{self.node} boots with its replication link unplugged"

    def invoke(self, run: ScenarioRun) -> None:
        run.host(self.node).check_output("touch %s", UNPLUG_MARKER)

    def heal(self, run: ScenarioRun) -> None:
        h = run.host(self.node)
        h.check_output("rm -f %s", UNPLUG_MARKER)
        # the table exists only if the node booted with the marker: deleted (and verified gone) when it is there
        netfilter.heal(h, "inet", UNPLUGGED)

    def gone(self, run: ScenarioRun) -> tuple[bool, str]:
        h = run.host(self.node)
        marker = h.run("test -e %s", UNPLUG_MARKER)
        if marker.rc not in (0, 1):
            raise CommandError(f"{marker.command}  (on {self.node})", marker.rc, marker.stdout, marker.stderr)
        left = [
            what
            for what, there in (
                (UNPLUG_MARKER, marker.rc == 0),
                (f"nft table inet {UNPLUGGED}", netfilter.table_present(h, "inet", UNPLUGGED)),
            )
            if there
        ]
        return not left, f"{self.node}: " + (f"still there: {', '.join(left)}" if left else "replication link plugged")


class CutLink(DropFault):
    """`kind` traffic (its protocol and port, either end) on the node's eth1 dropped in and out (lab.netfilter)."""

    def __init__(self, node: str, kind: str = "heartbeat") -> None:
        if kind not in PORTS:
            raise UsageError(f"CutLink cannot cut {kind!r} traffic", f"kind is one of: {', '.join(PORTS)}")
        self.node = self.host = node
        self.kind = kind
        self.table = f"opslab_cut_{kind}"

    def describe(self) -> str:
        proto, port = PORTS[self.kind]
        return f"{self.node} loses its {self.kind} traffic on the replication network ({proto} dport {port})"

    def drop(self, run: ScenarioRun) -> Drop:
        proto, port = PORTS[self.kind]
        return Drop(self.table, iface="eth1", proto=proto, port=port)


class ThrottleReplication(Fault):
    def __init__(self, node: str, rate: str = "2mbit") -> None:
        self.node = node
        self.rate = rate

    def describe(self) -> str:
        return f"{self.node}'s replication link sends at most {self.rate}"

    def invoke(self, run: ScenarioRun) -> None:
        run.host(self.node).check_output(f"tc qdisc add dev eth1 root tbf rate {self.rate} burst 16kb latency 400ms")

    def heal(self, run: ScenarioRun) -> None:
        # `tc qdisc del` fails when there is no root qdisc to delete (an invoke that never happened)
        run.host(self.node).check_output(
            "if tc qdisc show dev eth1 | grep -q '^qdisc tbf'; then tc qdisc del dev eth1 root; fi"
        )

    def gone(self, run: ScenarioRun) -> tuple[bool, str]:
        qdiscs = run.host(self.node).check_output("tc qdisc show dev eth1").strip()
        root = qdiscs.splitlines()[0] if qdiscs else "none"
        return "qdisc tbf" not in qdiscs, f"{self.node}: eth1's root qdisc: {root}"


class CrashNode(Fault):
    heal_within = 30.0  # the machine boots: its entrypoint brings DRBD and heartbeat up before it is ready

    def __init__(self, node: str) -> None:
        self.node = node

    def describe(self) -> str:
        return f"{self.node} crashes (every process killed at once)"

    def invoke(self, run: ScenarioRun) -> None:
        dockerapi.client().containers.get(run.lab.container_name(self.node)).kill()

    def heal(self, run: ScenarioRun) -> None:
        c = dockerapi.client().containers.get(run.lab.container_name(self.node))
        c.reload()
        if c.status != "running":
            c.start()

    def gone(self, run: ScenarioRun) -> tuple[bool, str]:
        c = dockerapi.client().containers.get(run.lab.container_name(self.node))
        if c.status != "running":
            return False, f"{self.node}: its container is {c.status}"
        # the entrypoint marks the end of the boot (DRBD up, heartbeat started): before it the node is not back
        booted = run.host(self.node).run("test -e /run/opslab-ready").succeeded
        return booted, f"{self.node}: running, " + ("booted" if booted else "still booting")


class PauseNode(Fault):
    def __init__(self, node: str) -> None:
        self.node = node

    def describe(self) -> str:
        return f"{self.node} freezes (every process paused)"

    def invoke(self, run: ScenarioRun) -> None:
        dockerapi.client().containers.get(run.lab.container_name(self.node)).pause()

    def heal(self, run: ScenarioRun) -> None:
        c = dockerapi.client().containers.get(run.lab.container_name(self.node))
        c.reload()
        if c.status == "paused":
            c.unpause()

    def gone(self, run: ScenarioRun) -> tuple[bool, str]:
        c = dockerapi.client().containers.get(run.lab.container_name(self.node))
        return c.status != "paused", f"{self.node}: its container is {c.status}"


NODE = fault_arg("node", "alpha", "which node", choices=("alpha", "beta"))
FAULTS = (
    FaultKind(
        "crash_node", "a node's machine dies at once (docker kill); healed by powering it on", CrashNode, (NODE,)
    ),
    FaultKind(
        "cut_replication",
        "a node loses its replication traffic (TCP 7789 on eth1 dropped both ways)",
        lambda node: CutLink(node, "replication"),
        (NODE,),
    ),
    FaultKind(
        "cut_heartbeat",
        "a node loses its heartbeat traffic (UDP 694 on eth1 dropped both ways)",
        lambda node: CutLink(node, "heartbeat"),
        (NODE,),
    ),
    FaultKind(
        "throttle_resync",
        "a node's replication link sends at most `rate` (tbf), so a resync lasts",
        ThrottleReplication,
        (NODE, fault_arg("rate", "2mbit", "the link's rate", pattern=r"\d+(k|m)?bit", form="a rate like 2mbit")),
    ),
    FaultKind("pause_node", "a node's machine freezes (docker pause); healed by unpausing it", PauseNode, (NODE,)),
)
