"""The keepalived lab's runbook: take the MASTER (lb1) down for maintenance; the BACKUP (lb2) takes the VIP over.

`failover` stops keepalived on lb1 as its init script would (SIGTERM: keepalived sends a priority-0 advert and
releases the VIP). Its broken variants: `crash_master` (lb1 vanishes as on a power loss: the link goes down first,
so that keepalived's VRRP process, which says goodbye when its parent dies, cannot be heard; the backup waits out
the master-down interval) and `stop_the_backup` (the operator stops the wrong node).
"""

from lab.procedure import Procedure, Step

HOLDS_VIP = "ip -o addr show dev eth0 | grep -q ' {vip}/'"
STOP_MASTER = Step(
    "lb1",
    "kill -TERM $(cat /run/keepalived.pid)",
    "stop keepalived on the master (lb1)",
    verify=f"! pgrep -x keepalived && ! {HOLDS_VIP}",
)
CRASH_MASTER = Step(
    "lb1",
    "ip link set eth0 down; pkill -KILL -x keepalived",
    "lb1 dies at once, as on a power loss: its network gone, then keepalived killed (no goodbye advert gets out)",
)
STOP_BACKUP = Step(
    "lb2",
    "kill -TERM $(cat /run/keepalived.pid)",
    "stop keepalived on lb2 (the backup: the wrong node)",
    verify="! pgrep -x keepalived",
)

PROCEDURES = {
    p.name: p
    for p in (
        Procedure("failover", "take the master down for maintenance; the backup takes the VIP over", (STOP_MASTER,)),
        Procedure("crash_master", "the master's keepalived crashes", (CRASH_MASTER,)),
        Procedure("stop_the_backup", "stop keepalived on the wrong node (the backup)", (STOP_BACKUP,)),
    )
}
