"""The arp lab's procedures, as an engineer types them (iputils arping on the servers).

Steps that move the address carry a `verify` command (read-only, on the same host) that rehearse runs after a
person did the step by hand. The gratuitous ARP changes the gateway, not the host it runs on: the plan's checks
(AnnouncedByArp, GatewayKnowsNewMac) judge it.
"""

from lab.procedure import Procedure, Step

HOLDS_VIP = "ip -o addr show dev eth0 | grep -q ' {vip}/'"  # verifies the step left the address there
SERVICE_ON_OLD = Step(
    "old", "ip addr add {vip}/{prefix} dev eth0", "the service IP lives on the old server", verify=HOLDS_VIP
)
REMOVE_FROM_OLD = Step(
    "old", "ip addr del {vip}/{prefix} dev eth0", "remove the service IP from the old server", verify=f"! {HOLDS_VIP}"
)
ADD_ON_NEW = Step(
    "new", "ip addr add {vip}/{prefix} dev eth0", "add the service IP on the new server", verify=HOLDS_VIP
)
GARP = Step(
    "new",
    "arping -s {vip} -c1 -U {gateway_ip}",
    "gratuitous ARP: tell the gateway the service IP's new MAC (iputils arping)",
)
GARP_THREE = Step("new", "arping -s {vip} -c 3 -U {gateway_ip}", "gratuitous ARP again, three times")

# the state every procedure starts from: the service IP on the old server (scenarios and rehearsals run it first)
PREPARE = (SERVICE_ON_OLD,)

PROCEDURES = {
    p.name: p
    for p in (
        Procedure(
            "migrate_without_garp", "move the service IP, and forget to tell the gateway", (REMOVE_FROM_OLD, ADD_ON_NEW)
        ),
        Procedure(
            "migrate_with_garp",
            "move the service IP and announce it with a gratuitous ARP (the runbook)",
            (REMOVE_FROM_OLD, ADD_ON_NEW, GARP),
        ),
        Procedure(
            "migrate_keeping_old",
            "add the service IP on the new server while the old one still has it",
            (ADD_ON_NEW, GARP),
        ),
        Procedure("repeat_garp", "announce the service IP again, three times (arping -c 3)", (GARP_THREE,)),
    )
}
