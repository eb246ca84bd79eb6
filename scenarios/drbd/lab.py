"""The drbd lab: two storage nodes (alpha, beta) with a DRBD-style volume (sims/drbd) under Linux-HA heartbeat 3.

`lan` carries the service (the floating IP, port 8080, owned by whichever node heartbeat gave the
resource group `drbddisk::r0 IPaddr2::<vip>/24/eth0 recordd`) and the client; `repl` carries DRBD's replication
(TCP 7789) and heartbeat's ucast (UDP 694). Heartbeat's timers and the volume's resync rate are parameters.

The addresses are written once, in the compose file's `x-addresses` block (which the nodes' configuration reads
too); the facts `vip`, `alpha_ip`, `beta_ip`, `alpha_repl_ip`, `beta_repl_ip` are that block with this instance's
networks filled in. The fact `compose` is the docker compose command line of this instance (its project, files and
variables), so a step that replaces a node's hardware reads as an engineer would type it: `{compose} rm -sf beta`.
"""

from __future__ import annotations

import json
import re
import shlex
import tempfile
from pathlib import Path
from typing import Any

from lab import dockerapi
from lab.lifecycle import Lab
from lab.spec import LabSpec, Param

PORT = 8080
NODES = ("alpha", "beta")


def compose_command(lab: Lab) -> str:
    """`docker compose` for this instance: its project, its variables, and an override that gives a replaced node
    opslab's labels (copied from the client, which is never replaced; opslab's own override only lives during up)."""
    env = " ".join(f"{k}={shlex.quote(v)}" for k, v in sorted(lab.env.items()))
    labels = {
        k: v
        for k, v in dockerapi.client().containers.get(lab.container_name("client")).labels.items()
        if k.startswith("org.opslab.")
    }
    override = Path(tempfile.gettempdir()) / f"{lab.project}-replace.override.json"
    override.write_text(json.dumps({"services": {h: {"labels": labels} for h in lab.spec.hosts}}))
    files = f"-f {shlex.quote(str(lab.spec.compose_file))} -f {shlex.quote(str(override))}"
    return f"env {env} docker compose -p {lab.project} {files}"


def addresses(lab: Lab) -> dict[str, str]:
    """The compose file's `x-addresses`, `${VAR}` filled in from this instance's variables as compose does."""
    raw = lab.spec.compose()["x-addresses"]
    return {name: re.sub(r"\$\{(\w+)\}", lambda m: lab.env[m.group(1)], str(value)) for name, value in raw.items()}


def facts(lab: Lab) -> dict[str, Any]:
    addr = addresses(lab)
    return {
        "vip": addr["vip"],
        "url": f"http://{addr['vip']}:{PORT}",
        "alpha_ip": addr["alpha_ip"],
        "beta_ip": addr["beta_ip"],
        "alpha_repl_ip": addr["alpha_repl_ip"],
        "beta_repl_ip": addr["beta_repl_ip"],
        "deadtime_s": float(lab.env["HB_DEADTIME"]),
        "initdead_s": float(lab.env["HB_INITDEAD"]),
        "compose": compose_command(lab),
    }


SPEC = LabSpec(
    name="drbd",
    title="replace both nodes of a DRBD pair under heartbeat with no downtime; split brain and its recovery",
    params=(
        Param(
            "deadtime_s", "2", "heartbeat deadtime: seconds of silence before the peer is declared dead", "HB_DEADTIME"
        ),
        Param("initdead_s", "4", "heartbeat initdead: how long a booting node waits for its peer", "HB_INITDEAD"),
        Param("keepalive", "250ms", "heartbeat keepalive interval", "HB_KEEPALIVE"),
        Param("warntime_s", "1", "heartbeat warntime", "HB_WARNTIME"),
        Param("resync_rate", "4M", "DRBD resync-rate (KiB/s as DRBD reads it; K/M suffixes)", "DRBD_RESYNC_RATE"),
    ),
    facts=facts,
    ready_timeout=90.0,
)
