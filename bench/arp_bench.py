"""Benchmark (not a test): how long `opslab up arp` takes, cold and warm, and the whole arp suite.

Cold: the lab's image removed first (rebuilt from the cached base image). Warm: images present. Reports
medians over --repeat runs; nothing is asserted (the machine is shared and noisy).

    python bench/arp_bench.py [--repeat 5] [--suite]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from lab import dockerapi  # noqa: E402
from lab.images import lab_images  # noqa: E402
from lab.lifecycle import Lab  # noqa: E402
from lab.spec import get_spec  # noqa: E402


def time_up() -> float:
    t0 = time.monotonic()
    with Lab(get_spec("arp")):
        elapsed = time.monotonic() - t0
    return elapsed


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--suite", action="store_true", help="also time `opslab run arp`")
    args = ap.parse_args()
    spec = get_spec("arp")
    for image in lab_images(spec):
        dockerapi.client().images.remove(image, force=True)
    cold = time_up()
    warm = [time_up() for _ in range(args.repeat)]
    print(
        f"opslab up arp: cold {cold:.1f}s (image rebuilt), warm median {statistics.median(warm):.2f}s "
        f"(min {min(warm):.2f}s, max {max(warm):.2f}s, n={len(warm)})"
    )
    if args.suite:
        t0 = time.monotonic()
        rc = subprocess.call(
            [sys.executable, "-m", "lab", "run", "arp", "--report", "/tmp/opslab-bench-report"],
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
        )
        print(f"opslab run arp: {time.monotonic() - t0:.1f}s (exit {rc})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
