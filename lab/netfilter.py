"""nftables drop faults: one opslab-owned table per fault, made at once, deleted, and verified gone.

Every fault that drops traffic in a host (a lost ARP announcement, a cut heartbeat link, a silenced machine) is one
`Drop`: a table of its own (named `opslab_*`, so it is never a table the host's software made) in one nftables
family, with a chain per direction and drop rules that match by protocol, port, address and interface:

    Drop("opslab_cut_heartbeat", iface="eth1", proto="udp", port=694)       # inet, both directions, either port
    Drop("opslab_fault", family="arp", direction="in", src_mac=mac, src_ip=vip, quota_bytes=28)
    Drop("opslab_silence", family="netdev", iface="eth0")                 # every frame in and out of eth0

- `Drop.script()` is the table as `nft -f` input (a pure function of the fields, unit-tested); `inject(host)` loads
  it in one transaction, so an invoke never leaves half a table behind. A direction's chain hooks `input`/`output`
  (`ingress`/`egress` on the interface's device for `netdev`); each rule counts what it drops (`counter drop`).
  `port` matches either end (dport and sport: the traffic both ways); `quota_bytes` drops only until that many
  bytes matched, later ones pass (the first N frames lost).
- `remove(host, family, table)` deletes the table when it is there and does not fail when it is not (a heal after
  a half-done invoke). `table_gone(host, ...)` is the read-only probe: `nft list tables FAMILY`, and whether the
  table is among them, with a detail naming it. `heal(host, ...)` is the verified heal: remove, list the tables
  again, and raise `TableNotRemoved` when it is still there.
- `dropped(text)` sums the drop counters of `nft list table` output.

`DropFault` is a `lab.faults.Fault` made of one `Drop` on one host: a lab's fault says which host and which table
(`host`, `family`, `table`) and builds its rules in `drop(run)` (it may read the lab: a MAC, a fact); invoke, heal
and probe are this module's. Bad rule input (a table not named `opslab_*`, a port without tcp/udp, a netdev table
without an interface) is a `UsageError` when the `Drop` is made, before anything runs in a host.
"""

from __future__ import annotations

import re
import shlex
from abc import abstractmethod
from dataclasses import dataclass
from typing import TYPE_CHECKING

from lab.errors import OpslabError, UsageError
from lab.faults import Fault
from lab.host import Host, Reader

if TYPE_CHECKING:
    from lab.scenario import ScenarioRun

FAMILIES = ("inet", "ip", "arp", "netdev")
DIRECTIONS = ("in", "out", "both")
HOOKS = {"in": "input", "out": "output"}
NETDEV_HOOKS = {"in": "ingress", "out": "egress"}
TABLE_NAME = re.compile(r"opslab_[a-z0-9_]+")
IFACE = re.compile(r"[A-Za-z0-9_.-]{1,15}")
MAC = re.compile(r"[0-9a-f]{2}(:[0-9a-f]{2}){5}")
IPV4 = re.compile(r"\d{1,3}(\.\d{1,3}){3}(/\d{1,2})?")
DROP_COUNTER = re.compile(r"counter packets (\d+) bytes \d+ drop")  # a drop rule's counter in `nft list`


class TableNotRemoved(OpslabError):
    """A drop fault's table is still in the host's ruleset after it was deleted."""


@dataclass(frozen=True)
class Drop:
    """One drop fault's nftables table: what it drops, where, in which direction."""

    table: str
    family: str = "inet"
    direction: str = "both"
    iface: str | None = None
    proto: str | None = None  # tcp, udp, icmp...; None: any
    port: int | None = None  # with tcp/udp: either end (dport and sport)
    src_ip: str | None = None
    dst_ip: str | None = None
    src_mac: str | None = None
    quota_bytes: int | None = None  # drop only the first this many bytes that match

    def __post_init__(self) -> None:
        what = f"nft drop table {self.table!r}"
        if not TABLE_NAME.fullmatch(self.table):
            raise UsageError(f"{what}: not an opslab table name", "name it opslab_<what it does>, lower case")
        if self.family not in FAMILIES:
            raise UsageError(f"{what}: no nftables family {self.family!r}", f"one of: {', '.join(FAMILIES)}")
        if self.direction not in DIRECTIONS:
            raise UsageError(f"{what}: no direction {self.direction!r}", f"one of: {', '.join(DIRECTIONS)}")
        if self.iface is not None and not IFACE.fullmatch(self.iface):
            raise UsageError(f"{what}: {self.iface!r} is not an interface name", "e.g. eth0")
        if self.family == "netdev" and self.iface is None:
            raise UsageError(f"{what}: a netdev table hooks one device", "give iface, e.g. eth0")
        if self.family == "arp" and (self.proto or self.port is not None):
            raise UsageError(f"{what}: ARP has no protocol or port", "match ARP by src_mac, src_ip, dst_ip")
        if self.proto is not None and not re.fullmatch(r"[a-z0-9]+", self.proto):
            raise UsageError(f"{what}: {self.proto!r} is not a protocol name", "e.g. tcp, udp, icmp")
        if self.port is not None and (self.proto not in ("tcp", "udp") or not 0 < self.port < 65536):
            raise UsageError(f"{what}: port {self.port} needs proto tcp or udp and 1-65535", "e.g. proto='udp'")
        for name, value, form in (("src_ip", self.src_ip, IPV4), ("dst_ip", self.dst_ip, IPV4)):
            if value is not None and not form.fullmatch(value):
                raise UsageError(f"{what}: {name} {value!r} is not an IPv4 address", "e.g. 10.0.0.5 or 10.0.0.0/24")
        if self.src_mac is not None and not MAC.fullmatch(self.src_mac):
            raise UsageError(f"{what}: src_mac {self.src_mac!r} is not a MAC address", "lower case, colons")
        if self.quota_bytes is not None and self.quota_bytes < 1:
            raise UsageError(f"{what}: quota_bytes must be at least 1", "the bytes dropped before traffic passes")

    @property
    def chains(self) -> tuple[str, ...]:
        return ("in", "out") if self.direction == "both" else (self.direction,)

    def hook(self, chain: str) -> str:
        if self.family == "netdev":
            return f"type filter hook {NETDEV_HOOKS[chain]} device {self.iface} priority 0; policy accept;"
        return f"type filter hook {HOOKS[chain]} priority 0; policy accept;"

    def matches(self, chain: str) -> list[str]:
        """What each drop rule of `chain` matches (one rule per entry; '' matches everything)."""
        parts = []
        if self.iface is not None and self.family != "netdev":
            parts.append(f'{"iifname" if chain == "in" else "oifname"} "{self.iface}"')
        if self.family == "arp":
            if self.src_mac:
                parts.append(f"arp saddr ether {self.src_mac}")
            if self.src_ip:
                parts.append(f"arp saddr ip {self.src_ip}")
            if self.dst_ip:
                parts.append(f"arp daddr ip {self.dst_ip}")
        else:
            if self.src_mac:
                parts.append(f"ether saddr {self.src_mac}")
            if self.src_ip:
                parts.append(f"ip saddr {self.src_ip}")
            if self.dst_ip:
                parts.append(f"ip daddr {self.dst_ip}")
            if self.proto is not None and self.port is None:
                parts.append(f"meta l4proto {self.proto}")
        base = " ".join(parts)
        if self.port is not None:
            return [f"{base} {self.proto} {end} {self.port}".strip() for end in ("dport", "sport")]
        return [base]

    def rules(self, chain: str) -> list[str]:
        out = []
        for match in self.matches(chain):
            if self.quota_bytes is not None:  # over the quota, traffic passes; until then it falls to the drop
                out.append(f"{match} quota over {self.quota_bytes} bytes accept".strip())
            out.append(f"{match} counter drop".strip())
        return out

    def script(self) -> str:
        """The table as `nft -f` input: loaded in one transaction."""
        lines = [f"table {self.family} {self.table} {{"]
        for chain in self.chains:
            lines.append(f"\tchain {chain} {{")
            lines.append(f"\t\t{self.hook(chain)}")
            lines.extend(f"\t\t{rule}" for rule in self.rules(chain))
            lines.append("\t}")
        lines.append("}")
        return "\n".join(lines) + "\n"

    def describe(self) -> str:
        return f"nft table {self.family} {self.table}"


def inject(host: Host, drop: Drop) -> None:
    """Load the drop table into the host's ruleset (one `nft -f` transaction; raises when nft refuses it)."""
    host.check_output(f"printf %s {shlex.quote(drop.script())} | nft -f -")


def remove(host: Host, family: str, table: str) -> None:
    """Delete the table when it is there; nothing to delete is no failure. Raises when nft fails."""
    host.check_output(f"if nft list table {family} {table} >/dev/null 2>&1; then nft delete table {family} {table}; fi")


def table_present(host: Reader, family: str, table: str) -> bool:
    """Read-only: whether the table is among the host's tables of that family (`nft list tables FAMILY`)."""
    listed = host.check_output(f"nft list tables {family}").splitlines()
    return f"table {family} {table}" in (line.strip() for line in listed)


def table_gone(host: Reader, family: str, table: str) -> tuple[bool, str]:
    """The probe of a drop fault: whether its table is gone, and a detail naming it."""
    left = table_present(host, family, table)
    return not left, f"{host.name}: nft table {family} {table} " + ("still drops" if left else "is gone")


def heal(host: Host, family: str, table: str) -> None:
    """The verified heal: delete the table, list the tables again, and raise `TableNotRemoved` if it is there."""
    remove(host, family, table)
    gone, seen = table_gone(host, family, table)
    if not gone:
        raise TableNotRemoved(f"{seen} after nft delete table", f"look with `nft list ruleset` on {host.name}")


def dropped(listing: str) -> int:
    """Packets dropped so far, summed over the drop rules' counters in `nft list table` output."""
    return sum(int(n) for n in DROP_COUNTER.findall(listing))


class DropFault(Fault):
    """A fault that is one `Drop` table on one host: subclasses set `host`, `family`, `table` and build `drop(run)`."""

    host: str
    family: str = "inet"
    table: str

    @abstractmethod
    def drop(self, run: ScenarioRun) -> Drop:
        """The table to load (family and table name as the fault's own), built when the fault is invoked."""

    def invoke(self, run: ScenarioRun) -> None:
        drop = self.drop(run)
        if (drop.family, drop.table) != (self.family, self.table):
            raise UsageError(
                f"{self.name} built {drop.describe()}, not its own nft table {self.family} {self.table}",
                "build the Drop with the fault's family and table",
            )
        inject(run.host(self.host), drop)

    def heal(self, run: ScenarioRun) -> None:
        heal(run.host(self.host), self.family, self.table)

    def gone(self, run: ScenarioRun) -> tuple[bool, str]:
        return table_gone(run.host(self.host), self.family, self.table)

    def dropped(self, run: ScenarioRun) -> int:
        """How many packets its rules have dropped so far (0 when the table is not there)."""
        return dropped(run.host(self.host).run(f"nft list table {self.family} {self.table}").stdout)
