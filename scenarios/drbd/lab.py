"""The drbd lab: two storage nodes (alpha, beta) with a DRBD-style volume (sims/drbd) under Linux-HA heartbeat 3.

`lan` carries the service (the floating IP, port 8080, owned by whichever node heartbeat gave the
resource group `drbddisk::r0 IPaddr2::<vip>/24/eth0 recordd`) and the client; `repl` carries DRBD's replication
(TCP 7789) and heartbeat's ucast (UDP 694). Heartbeat's timers and the volume's resync rate are parameters, with
the forms and relations heartbeat 3 itself accepts (deadtime above twice the keepalive, initdead not below the
deadtime): a lab heartbeat would refuse to start is refused before it is made.

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
from lab.spec import LabSpec, Param, Rule

PORT = 8080
NODES = ("alpha", "beta")
# Heartbeat reads a time as a decimal number of seconds, or of milliseconds/microseconds with `ms`/`us`
# (get_msec in its config.c: `2s` is refused), rounded to whole ms; a time of 0 ms is refused.
HB_TIME = r"(\d+(\.\d*)?|\.\d+)(ms|msec|us|usec)?"
HB_LEAST_S = 0.001


def hb_ms(text: str) -> float:
    """A heartbeat time (`HB_TIME`) in milliseconds, as heartbeat reads it."""
    m = re.fullmatch(HB_TIME, text.strip(), re.IGNORECASE)
    if not m:
        raise ValueError(text)
    unit = (m.group(3) or "").lower()
    return float(m.group(1)) * (1 if unit.startswith("m") else 0.001 if unit.startswith("u") else 1000)


def compose_command(lab: Lab) -> str:
    """`docker compose` for this instance: its project, its variables, and an override that gives a replaced node
    opslab's labels (copied from the client, which is never replaced; opslab's own override only lives during up)
    and the lab's resolver settings (`Lab.service_overrides`: a replaced node resolves as the old one did)."""
    env = " ".join(f"{k}={shlex.quote(v)}" for k, v in sorted(lab.env.items()))
    labels = {
        k: v
        for k, v in dockerapi.client().containers.get(lab.container_name("client")).labels.items()
        if k.startswith("org.opslab.")
    }
    override = Path(tempfile.gettempdir()) / f"{lab.project}-replace.override.json"
    extra = lab.service_overrides()
    override.write_text(json.dumps({"services": {h: {"labels": labels, **extra.get(h, {})} for h in lab.spec.hosts}}))
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
            "deadtime_s",
            "2",
            "heartbeat deadtime: seconds of silence before the peer is declared dead",
            "HB_DEADTIME",
            type="float",
            min=HB_LEAST_S,
        ),
        Param(
            "initdead_s",
            "4",
            "heartbeat initdead: how long a booting node waits for its peer",
            "HB_INITDEAD",
            type="float",
            min=HB_LEAST_S,
        ),
        Param(
            "keepalive",
            "250ms",
            "heartbeat keepalive interval",
            "HB_KEEPALIVE",
            pattern=HB_TIME,
            form="a heartbeat time: seconds (2, 0.5) or with ms/us (250ms)",
        ),
        Param("warntime_s", "1", "heartbeat warntime", "HB_WARNTIME", type="float", min=HB_LEAST_S),
        Param(
            "resync_rate",
            "4M",
            "DRBD resync-rate, read as DRBD reads it: KiB/s, or with a K/M/G suffix",
            "DRBD_RESYNC_RATE",
            pattern=r"[1-9]\d*[kmg]?",
            form="a rate like 4M, 512K or 250 (KiB/s; DRBD's least is 1)",
        ),
    ),
    rules=(
        Rule(
            ("keepalive",),
            "heartbeat refuses a keepalive under 1 ms",
            lambda v: hb_ms(str(v["keepalive"])) >= 1,
            "give keepalive a time like 250ms or 1 (seconds)",
        ),
        Rule(
            ("deadtime_s", "keepalive"),
            "heartbeat refuses a deadtime not above twice the keepalive",
            lambda v: float(v["deadtime_s"]) * 1000 > 2 * hb_ms(str(v["keepalive"])),
            "raise deadtime_s or lower keepalive (the defaults are deadtime_s=2, keepalive=250ms)",
        ),
        Rule(
            ("initdead_s", "deadtime_s"),
            "heartbeat refuses an initdead below the deadtime",
            lambda v: float(v["initdead_s"]) >= float(v["deadtime_s"]),
            "give initdead_s at least deadtime_s (the defaults are initdead_s=4, deadtime_s=2)",
        ),
    ),
    facts=facts,
    ready_timeout=90.0,
    groups={"nodes": ("alpha", "beta")},
)
