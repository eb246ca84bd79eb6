"""Faults of the arp lab."""

from __future__ import annotations

import re

from lab.faults import Fault
from lab.scenario import ScenarioRun

TABLE = "opslab_fault"
DROP_COUNTER = re.compile(r"counter packets (\d+) bytes \d+ drop")  # the drop rule's counter in `nft list`


class DropArp(Fault):
    """The gateway loses the first `count` ARP frames that a host sends for the service IP.

    An nftables rule in the gateway's `arp` family input hook drops frames whose sender MAC is the host's and
    sender IP the service IP, until a quota of `count` frames (28 bytes of ARP each) is used up; later ones pass.
    """

    FRAME = 28

    def __init__(self, sender_host: str = "new", count: int = 1) -> None:
        self.sender_host = sender_host
        self.count = count

    def describe(self) -> str:
        return f"the gateway drops the first {self.count} ARP frame(s) from {self.sender_host} for the service IP"

    def invoke(self, run: ScenarioRun) -> None:
        mac = run.host(self.sender_host).net.mac()
        match = f"arp saddr ether {mac} arp saddr ip {run.facts['vip']}"
        run.host("gateway").check_output(
            f"nft add table arp {TABLE} && "
            f"nft add chain arp {TABLE} input '{{ type filter hook input priority 0; }}' && "
            f"nft add rule arp {TABLE} input {match} quota over {self.count * self.FRAME} bytes accept && "
            f"nft add rule arp {TABLE} input {match} counter drop"
        )

    def heal(self, run: ScenarioRun) -> None:
        # only what is there: after a half-done invoke there may be no table, and that is not a failure
        run.host("gateway").check_output(
            f"if nft list table arp {TABLE} >/dev/null 2>&1; then nft delete table arp {TABLE}; fi"
        )

    def gone(self, run: ScenarioRun) -> tuple[bool, str]:
        tables = run.host("gateway").check_output("nft list tables arp").split("\n")
        left = f"table arp {TABLE}" in (t.strip() for t in tables)
        return not left, f"gateway: nft table arp {TABLE} {'still drops ARP' if left else 'is gone'}"

    def dropped(self, run: ScenarioRun) -> int:
        """How many frames the rule has dropped so far (read from its counter)."""
        out = run.host("gateway").run(f"nft list table arp {TABLE}").stdout
        return sum(int(n) for n in DROP_COUNTER.findall(out))
