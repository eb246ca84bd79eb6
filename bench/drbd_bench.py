"""Benchmark of the DRBD stand-in over loopback: replicated 4 KiB writes (protocol C) and resync speed.

Not a test. Starts two daemons on 127.0.0.x (sims.drbd.localcluster), makes alpha Primary, then reports:
- replicated writes: throughput (writes/s, MiB/s) and latency (median, p95) of sequential 4 KiB writes through the
  local API (`Volume.write_block`), each returning only when the peer's disk has the block;
- the same writes with the link down (local disk + bitmap only), to show what replication costs;
- resync speed: the initial full sync, and a bitmap-based resync of the blocks written while disconnected.
Usage: python bench/drbd_bench.py [--writes N] [--size 16M] [--json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sims.drbd.client import Volume  # noqa: E402
from sims.drbd.localcluster import Cluster, two_daemons, wait_until  # noqa: E402

BS = 4096


def both_connected_up_to_date(c: Cluster) -> bool:
    return all(
        s["cstate"] == "Connected" and s["disk"] == s["peer_disk"] == "UpToDate"
        for s in (c.status("alpha"), c.status("beta"))
    )


def timed_writes(volume: Volume, count: int, blocks: int, tag: int) -> dict[str, float]:
    latencies = []
    start = time.perf_counter()
    for i in range(count):
        data = (tag * 1_000_003 + i).to_bytes(8, "big") * (BS // 8)
        t0 = time.perf_counter()
        volume.write_block(i % blocks, data)
        latencies.append(time.perf_counter() - t0)
    elapsed = time.perf_counter() - start
    latencies.sort()
    return {
        "writes": count,
        "writes_per_s": round(count / elapsed, 1),
        "mib_per_s": round(count * BS / elapsed / 2**20, 2),
        "latency_median_ms": round(statistics.median(latencies) * 1000, 3),
        "latency_p95_ms": round(latencies[int(0.95 * (len(latencies) - 1))] * 1000, 3),
    }


def resync_figures(c: Cluster, blocks: int) -> dict[str, float]:
    rs = c.status("beta")["resync"]
    elapsed = rs.get("elapsed_s") or float("nan")
    return {
        "blocks": rs["total"],
        "mib": round(rs["total"] * BS / 2**20, 2),
        "seconds": round(elapsed, 3),
        "mib_per_s": round(rs["total"] * BS / 2**20 / elapsed, 2),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--writes", type=int, default=2000)
    parser.add_argument("--size", default="16M", help="device size (drbd.conf syntax)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    results: dict[str, object] = {}
    # resync-rate at DRBD's maximum (4 GiB/s): the figures are the stand-in's own speed, not a configured limit
    with tempfile.TemporaryDirectory() as tmp, two_daemons(Path(tmp), size=args.size, disk="resync-rate 4G;") as c:
        blocks = c.status("alpha")["blocks"]
        wait_until(lambda: c.status("beta")["cstate"] == "Connected", "both daemons connected")
        assert c.drbdadm("alpha", "primary", "--force", "r0").returncode == 0
        wait_until(lambda: both_connected_up_to_date(c), "the initial full sync", timeout=120)
        results["initial_full_sync"] = resync_figures(c, blocks)

        with c.volume("alpha") as alpha:
            results["replicated_writes"] = timed_writes(alpha, args.writes, blocks, tag=1)
            assert c.drbdadm("alpha", "disconnect", "r0").returncode == 0
            results["local_writes_link_down"] = timed_writes(alpha, args.writes, blocks, tag=2)
            dirty = c.status("alpha")["out_of_sync_blocks"]
            assert c.drbdadm("alpha", "connect", "r0").returncode == 0
            wait_until(lambda: both_connected_up_to_date(c), "the bitmap-based resync", timeout=120)
            results["bitmap_resync"] = resync_figures(c, blocks) | {"dirty_blocks": dirty}
        results["disks_identical"] = c.image("alpha") == c.image("beta")

    if args.json:
        print(json.dumps(results, indent=1))
    else:
        for name, figures in results.items():
            print(f"{name}: {figures}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
