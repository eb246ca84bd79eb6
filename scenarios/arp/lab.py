"""The arp lab: a service IP moves from `old` to `new`; `client` reaches it through `gateway`.

Parameters set the gateway's neighbour-cache timers (per interface, at start: /proc/sys is read-only in a
container). After the owner of an address vanishes, Linux keeps sending to the cached MAC for about
reachable_time (random in [base/2, 3·base/2]) + delay_first_probe_time + ucast_solicit × retrans_time,
then asks again by broadcast. `lifetime_s` below is the part that does not depend on chance; scenarios start a
migration just after the entry was confirmed, so the outage without a gratuitous ARP is lifetime_s plus at
most 3·base/2. A router-like four-hour cache: `--param delay_first_probe_s=14400`. Each parameter is an int in
the range the kernel accepts for its sysctl.
"""

from __future__ import annotations

from typing import Any

from lab.lifecycle import Lab
from lab.spec import LabSpec, Param

SERVICE_SUFFIX = 100  # the service IP is <lan>.100 (the compose file gives the hosts .10 to .20)
# The kernel keeps these timers as an int of jiffies and refuses a sysctl write beyond it (the container would
# not start): at HZ=1000, at most INT_MAX ms, INT_MAX/1000 s. A probe timer fires no sooner than HZ/100
# (10 ms) whatever retrans_time_ms says, so a smaller value would make `lifetime_s` wrong; a base reachable
# time of 0 makes every entry stale the moment it is confirmed, which no scenario's timing allows for.
INT_MAX = 2**31 - 1
JIFFIES_S_MAX = INT_MAX // 1000
RETRANS_MIN_MS = 10


def facts(lab: Lab) -> dict[str, Any]:
    delay = int(lab.env["ARP_DELAY_FIRST_PROBE_S"])
    probes = int(lab.env["ARP_UCAST_SOLICIT"])
    retrans_ms = int(lab.env["ARP_RETRANS_MS"])
    lan = lab.net_prefix("lan")
    return {
        "vip": f"{lan}.{SERVICE_SUFFIX}",
        "prefix": 24,
        "gateway_ip": lab.ip("gateway", "lan"),
        "gateway_wan_ip": lab.ip("gateway", "wan"),
        "old_ip": lab.ip("old", "lan"),
        "new_ip": lab.ip("new", "lan"),
        "client_ip": lab.ip("client", "wan"),
        "lifetime_s": delay + probes * retrans_ms / 1000,
        "reachable_max_s": 1.5 * int(lab.env["ARP_BASE_REACHABLE_MS"]) / 1000,
    }


SPEC = LabSpec(
    name="arp",
    title="move a service IP to another server; stale ARP cache and the gratuitous-ARP fix",
    params=(
        Param(
            "delay_first_probe_s",
            "3",
            "seconds the gateway uses a stale entry before probing it",
            "ARP_DELAY_FIRST_PROBE_S",
            type="int",
            min=0,
            max=JIFFIES_S_MAX,
        ),
        Param(
            "ucast_solicit",
            "3",
            "unicast probes to the cached MAC before giving up",
            "ARP_UCAST_SOLICIT",
            type="int",
            min=0,
            max=INT_MAX,
        ),
        Param(
            "retrans_ms",
            "1000",
            "milliseconds between probes",
            "ARP_RETRANS_MS",
            type="int",
            min=RETRANS_MIN_MS,
            max=INT_MAX,
        ),
        Param(
            "base_reachable_ms",
            "500",
            "base reachable time of a confirmed entry (milliseconds)",
            "ARP_BASE_REACHABLE_MS",
            type="int",
            min=1,
            max=INT_MAX,
        ),
    ),
    facts=facts,
    ready_timeout=60.0,
    scenario_timeout_s=300.0,
    groups={"servers": ("old", "new")},
)
