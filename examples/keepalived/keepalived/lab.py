"""The keepalived lab: two load balancers, lb1 (MASTER) and lb2 (BACKUP), share a virtual IP by VRRP.

keepalived 2.2 from Debian runs on both (VRRP version 3, one instance, `advert_int` a parameter); each balancer
serves its own name over HTTP on port 80, so an answer says which one holds the VIP. A client asks the VIP every
100 ms (keepalived.workloads). A BACKUP takes the VIP over when the MASTER says it leaves (a priority-0 advert, sent
when keepalived stops) or when it has heard nothing for the master-down interval: 3 × advert_int plus a skew of
(256 − priority) / 256 × advert_int (RFC 5798), 3.6 s for lb2 at the default advert_int 1.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from lab.lifecycle import Lab
from lab.spec import LabSpec, Param

VIP_SUFFIX = 100
BALANCERS = ("lb1", "lb2")
BACKUP_PRIORITY = 100  # lb2's, in compose.yaml


def master_down_s(advert_int: float, priority: int = BACKUP_PRIORITY) -> float:
    """How long a backup waits without adverts before it takes over (RFC 5798 Master_Down_Interval)."""
    return 3 * advert_int + (256 - priority) / 256 * advert_int


def facts(lab: Lab) -> dict[str, Any]:
    advert = int(lab.env["ADVERT_INT"])
    return {
        "vip": f"{lab.net_prefix('lan')}.{VIP_SUFFIX}",
        "advert_int": advert,
        "master_down_s": master_down_s(advert),
        "lb1_ip": lab.ip("lb1", "lan"),
        "lb2_ip": lab.ip("lb2", "lan"),
    }


SPEC = LabSpec(
    name="keepalived",
    title="keepalived VRRP failover: take the master down, the VIP moves to the backup, the service keeps answering",
    params=(
        Param(
            "advert_int",
            "1",
            "seconds between VRRP adverts (keepalived's advert_int); a backup takes over after about 3.6 of them",
            "ADVERT_INT",
            type="int",
            min=1,
            max=10,
        ),
    ),
    facts=facts,
    ready_timeout=60.0,
    scenario_timeout_s=180.0,
    compose_folder=Path(__file__).parent / "compose",
)
