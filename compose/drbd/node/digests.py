"""Block digests of this node's DRBD backing disk, for the judges: `digests.py` (the disk of /etc/drbd.d/r0.res).

Prints one JSON object: {"t": seconds since the epoch, "block_size", "blocks", "digests": one short SHA-1 (16 hex
digits) per block}, or "digests": null when the backing file does not exist yet (a blank disk: all zero blocks).
Reads only. The node's entrypoint keeps what the disk held as the node booted (before `drbdadm up`); the judges
compare it with the disk after its resync, and with the peer's disk (scenarios/drbd/checks.py).
"""

from __future__ import annotations

import hashlib
import json
import time

from sims.drbd.config import load_resource


def main() -> None:
    cfg = load_resource()
    out: dict[str, object] = {"t": time.time(), "block_size": cfg.block_size, "blocks": cfg.blocks, "digests": None}
    if cfg.disk.exists():
        with open(cfg.disk, "rb") as f:
            out["digests"] = [hashlib.sha1(f.read(cfg.block_size)).hexdigest()[:16] for _ in range(cfg.blocks)]
    print(json.dumps(out))


if __name__ == "__main__":
    main()
