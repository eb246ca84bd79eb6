"""Benchmark (not a test): the whole openvpn suite with warm images, and where its time goes.

Runs `opslab run openvpn` --repeat times (images built first, not timed) and prints the suite's wall time
(median, min, max), each scenario's median duration, and the median of the metrics that measure emulation:
the Pi's PKI build (easy-rsa under qemu), the server's start, a client's connection. Also the load average,
because the machine is shared: nothing is asserted.

    python bench/openvpn_bench.py [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    subprocess.run([sys.executable, "-m", "lab", "images", "openvpn"], cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    walls: list[float] = []
    durations: dict[str, list[float]] = defaultdict(list)
    metrics: dict[str, list[float]] = defaultdict(list)
    for i in range(args.repeat):
        report = Path(tempfile.mkdtemp(prefix="opslab-openvpn-bench-"))
        load = os.getloadavg()[0]
        t0 = time.monotonic()
        rc = subprocess.call(
            [sys.executable, "-m", "lab", "run", "openvpn", "--report", str(report)],
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
        )
        walls.append(time.monotonic() - t0)
        print(f"run {i + 1}: {walls[-1]:.1f}s (exit {rc}, load average before {load:.1f})")
        for sc in json.loads((report / "results.json").read_text())["scenarios"]:
            durations[sc["id"]].append(sc["duration_s"])
            for name, value in sc["metrics"].items():
                metrics[name].append(value)
    print(
        f"opslab run openvpn: median {statistics.median(walls):.1f}s (min {min(walls):.1f}s, max {max(walls):.1f}s,"
        f" n={len(walls)})"
    )
    for sid, ds in durations.items():
        print(f"  {sid}: median {statistics.median(ds):.1f}s")
    for name, vs in sorted(metrics.items()):
        print(f"  metric {name}: median {statistics.median(vs):.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
