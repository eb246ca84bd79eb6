"""Benchmark (not a test): how long `opslab up mysql` takes until the three servers are up AND replicating.

Warm: images present. "Replicating" = both slaves report Slave_IO_Running and Slave_SQL_Running Yes (polled
every 50 ms from the moment the lab is up). Reports medians over --repeat runs; nothing is asserted (the machine
is shared and noisy). For comparison, dbdeployer's `deploy replication --concurrent` needs 7.8 s for the same.

    python bench/mysql_bench.py [--repeat 5] [--cold] [--engine mariadb-10.11|mariadb-11.8]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from lab import dockerapi  # noqa: E402
from lab.images import build_lab, lab_images  # noqa: E402
from lab.lifecycle import Lab  # noqa: E402
from lab.spec import get_spec  # noqa: E402
from lab.wait import wait_until  # noqa: E402
from scenarios.mysql.db import Sql  # noqa: E402
from scenarios.mysql.dialect import DEFAULT, RUNNABLE  # noqa: E402
from scenarios.mysql.lab import SLAVES  # noqa: E402


def replicating(lab: Lab) -> bool:
    for s in SLAVES:
        st = Sql(lab.host(s), lab.env["MYSQL_ENGINE"]).slave_status() or {}
        if st.get("Slave_IO_Running") != "Yes" or st.get("Slave_SQL_Running") != "Yes":
            return False
    return True


def time_up(engine: str) -> tuple[float, float]:
    lab = Lab(get_spec("mysql"), params={"engine": engine})
    t0 = time.monotonic()
    with lab:
        up = time.monotonic() - t0
        wait_until(lambda: replicating(lab), what="both slaves to replicate", timeout=60, interval=0.05)
        total = time.monotonic() - t0
    return up, total


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--cold", action="store_true", help="also time a build of the image from the base image")
    ap.add_argument("--engine", default=DEFAULT, choices=RUNNABLE)
    args = ap.parse_args()
    spec = get_spec("mysql")
    env = spec.param_env({"engine": args.engine})
    if args.cold:
        for image in lab_images(spec, env):
            dockerapi.client().images.remove(image, force=True)
        t0 = time.monotonic()
        build_lab(spec, print, env=env)
        print(f"mysql image build: {time.monotonic() - t0:.1f}s")
    build_lab(spec, print, env=env)
    runs = [time_up(args.engine) for _ in range(args.repeat)]
    ups, totals = [u for u, _ in runs], [t for _, t in runs]
    print(
        f"opslab up mysql engine={args.engine} (warm): healthy median {statistics.median(ups):.2f}s; "
        f"up and replicating median {statistics.median(totals):.2f}s "
        f"(min {min(totals):.2f}s, max {max(totals):.2f}s, n={len(totals)})"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
