"""The mirror lab: wget on `client` mirrors http://example.org/ (nginx on `origin`) for offline use.

`external` serves the second domain, cdn.example.net; both names resolve inside the lab only (the client's hosts file).
`viewer` has no network at all: it serves the client's mirror (a shared volume, read-only) on its loopback and
loads it in headless Chromium, the offline browser.

Parameters keep the suite quick while running the runbook's command as written: `wait_s` is its `--wait`
(1 s, as in the runbook), `limit_rate` its `--limit-rate` (500K), `large_kb` the size of the large file that
shows the rate limit (1 MiB: about two seconds at 500K, well above what socket buffers hold). Each has the
least value at which the politeness scenario still tells a polite mirror from a careless one.
"""

from __future__ import annotations

from typing import Any

from lab.lifecycle import Lab
from lab.spec import LabSpec, Param

ORIGIN = "example.org"
EXTERNAL = "cdn.example.net"
MIRRORS = "/srv/mirror"  # the shared volume: the client writes mirrors here, the viewer serves them
LARGE_PATH = "/files/big.bin"
# What the politeness scenario can tell apart from a careless mirror (which must fail its checks): gaps of less
# than 0.1 s happen without any --wait, and a large file within the socket buffers (RateLimited.BUFFERS, 128 KiB)
# shows no rate limit at all.
LEAST_WAIT_S = 0.1
LEAST_LARGE_KB = 256


def rate_bytes(rate: str) -> float:
    """wget's --limit-rate value in bytes per second (`500K` = 500 KiB/s, `2m` = 2 MiB/s)."""
    rate = rate.strip()
    scale = {"k": 1024, "m": 1024 * 1024}.get(rate[-1:].lower(), 1)
    return float(rate[:-1] if scale > 1 else rate) * scale


def facts(lab: Lab) -> dict[str, Any]:
    rate = lab.env["MIRROR_LIMIT_RATE"]
    return {
        "origin": ORIGIN,
        "external": EXTERNAL,
        "mirrors": MIRRORS,
        "wait_s": lab.env["MIRROR_WAIT_S"],
        "limit_rate": rate,
        "rate_bytes": rate_bytes(rate),
        "large_path": LARGE_PATH,
        "large_bytes": int(lab.env["MIRROR_LARGE_KB"]) * 1024,
        "origin_ip": lab.ip("origin", "web"),
        "client_ip": lab.ip("client", "web"),
    }


SPEC = LabSpec(
    name="mirror",
    title="mirror a web site with wget for offline use",
    params=(
        Param(
            "wait_s",
            "1",
            "wget's --wait (seconds between requests)",
            "MIRROR_WAIT_S",
            type="float",
            min=LEAST_WAIT_S,
        ),
        Param(
            "limit_rate",
            "500K",
            "wget's --limit-rate (bytes per second, K/M suffixes)",
            "MIRROR_LIMIT_RATE",
            pattern=r"(?!0*(\.0*)?[km]?$)(\d+(\.\d*)?|\.\d+)[km]?",
            form="a rate above 0 like 500K, 2M or 800",
        ),
        Param(
            "large_kb",
            "1024",
            "size of the large file /files/big.bin in KiB",
            "MIRROR_LARGE_KB",
            type="int",
            min=LEAST_LARGE_KB,
        ),
    ),
    facts=facts,
    ready_timeout=60.0,
    keep_files=(("client", MIRRORS),),  # every mirror the client made, browsable in the report
    groups={"sites": ("origin", "external")},
)
