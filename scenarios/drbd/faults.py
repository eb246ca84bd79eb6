"""Faults of the drbd lab. Each heals, and a heal is safe when its invoke only half happened.

- `UnpluggedReplicationLink(node)`: the node's next boot happens with its replication cable unplugged (a marker
  on its disk that the node's boot reads: everything on eth1 dropped), e.g. the new hardware of a replacement.
  Heal: plug it in (drop rules and marker removed).
- `CutLink(node, kind)`: on a running node, drop heartbeat (UDP 694) or replication (TCP 7789) on eth1.
- `ThrottleReplication(node, rate)`: the node's eth1 sends at most `rate` (tbf), so a resync lasts.
- `CrashNode(node)`: the node's machine dies at once (SIGKILL to everything: `docker kill`). Heal: power it on.
"""

from __future__ import annotations

from lab import dockerapi
from lab.faults import Fault
from lab.scenario import ScenarioRun

UNPLUG_MARKER = "/var/lib/drbd/.unplug-replication-link"
PORTS = {"heartbeat": "udp dport 694", "replication": "tcp dport 7789"}
PORTS_BACK = {"heartbeat": "udp sport 694", "replication": "tcp sport 7789"}


class UnpluggedReplicationLink(Fault):
    def __init__(self, node: str) -> None:
        self.node = node

    def describe(self) -> str:
        return f"{self.node} boots with its replication link unplugged"

    def invoke(self, run: ScenarioRun) -> None:
        run.host(self.node).check_output("touch %s", UNPLUG_MARKER)

    def heal(self, run: ScenarioRun) -> None:
        h = run.host(self.node)
        h.run("rm -f %s", UNPLUG_MARKER)
        h.run("nft delete table inet opslab_unplugged")


class CutLink(Fault):
    def __init__(self, node: str, kind: str = "heartbeat") -> None:
        assert kind in PORTS
        self.node = node
        self.kind = kind
        self.table = f"opslab_cut_{kind}"

    def describe(self) -> str:
        return f"{self.node} loses its {self.kind} traffic on the replication network ({PORTS[self.kind]})"

    def invoke(self, run: ScenarioRun) -> None:
        t, fwd, back = self.table, PORTS[self.kind], PORTS_BACK[self.kind]
        run.host(self.node).check_output(
            f"nft add table inet {t} && "
            f"nft add chain inet {t} in '{{ type filter hook input priority 0; }}' && "
            f"nft add chain inet {t} out '{{ type filter hook output priority 0; }}' && "
            f"nft add rule inet {t} in iifname eth1 {fwd} drop && nft add rule inet {t} in iifname eth1 {back} drop && "
            f"nft add rule inet {t} out oifname eth1 {fwd} drop && nft add rule inet {t} out oifname eth1 {back} drop"
        )

    def heal(self, run: ScenarioRun) -> None:
        run.host(self.node).run(f"nft delete table inet {self.table}")


class ThrottleReplication(Fault):
    def __init__(self, node: str, rate: str = "2mbit") -> None:
        self.node = node
        self.rate = rate

    def describe(self) -> str:
        return f"{self.node}'s replication link sends at most {self.rate}"

    def invoke(self, run: ScenarioRun) -> None:
        run.host(self.node).check_output(f"tc qdisc add dev eth1 root tbf rate {self.rate} burst 16kb latency 400ms")

    def heal(self, run: ScenarioRun) -> None:
        run.host(self.node).run("tc qdisc del dev eth1 root")


class CrashNode(Fault):
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
