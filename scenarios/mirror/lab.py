"""The mirror lab: wget on `client` mirrors http://example.org/ (nginx on `origin`) for offline use.

`external` serves the second domain, cdn.example.net; both names resolve inside the lab only (the client's hosts file).
`viewer` has no network at all: it serves the client's mirror (a shared volume, read-only) on its loopback and
loads it in headless Chromium, the offline browser.

Parameters keep the suite quick while running the runbook's command as written: `wait_s` is its `--wait`
(1 s, as in the runbook), `limit_rate` its `--limit-rate` (500K), `large_kb` the size of the large file that
shows the rate limit (1 MiB: about two seconds at 500K, well above what socket buffers hold).
"""

from __future__ import annotations

from typing import Any

from lab.lifecycle import Lab
from lab.spec import LabSpec, Param

ORIGIN = "example.org"
EXTERNAL = "cdn.example.net"
MIRRORS = "/srv/mirror"  # the shared volume: the client writes mirrors here, the viewer serves them
LARGE_PATH = "/files/big.bin"


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
        Param("wait_s", "1", "wget's --wait (seconds between requests)", "MIRROR_WAIT_S"),
        Param("limit_rate", "500K", "wget's --limit-rate", "MIRROR_LIMIT_RATE"),
        Param("large_kb", "1024", "size of the large file /files/big.bin in KiB", "MIRROR_LARGE_KB"),
    ),
    facts=facts,
    ready_timeout=60.0,
)
