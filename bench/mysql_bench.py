"""Benchmark (not a test): how long `opslab up mysql` takes until the three servers are up AND replicating.

Warm: images present. "Replicating" = both slaves report Slave_IO_Running and Slave_SQL_Running Yes (polled
every 50 ms from the moment the lab is up). Reports medians over --repeat runs; nothing is asserted (the machine
is shared and noisy). For comparison, dbdeployer's `deploy replication --concurrent` needs 7.8 s for the same.

The baseline, run alternately with opslab in the same process so both meet the same machine: plain
`docker compose -f compose/mysql/compose.yaml up --wait` of the same file with the engine's variables (what a
person does to look around), then the same replication poll through `docker exec`, then `down -v`. The ratio of
the medians is opslab's overhead (images check, subnet allocation, compose override, attach, hooks).

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

import os  # noqa: E402
import subprocess  # noqa: E402
import uuid  # noqa: E402

from lab import dockerapi  # noqa: E402
from lab.images import build_lab, lab_images  # noqa: E402
from lab.lifecycle import Lab, allocate_subnets, engine_subnets  # noqa: E402
from lab.spec import get_spec  # noqa: E402
from lab.wait import wait_until  # noqa: E402
from scenarios.mysql.db import Sql, parse_batch  # noqa: E402
from scenarios.mysql.dialect import DEFAULT, RUNNABLE, canonical, dialect  # noqa: E402
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


def time_plain_compose(engine: str) -> tuple[float, float]:
    """`docker compose up --wait` of the same file, then the same poll for replication (through docker exec)."""
    spec = get_spec("mysql")
    project = f"bench-plain-{uuid.uuid4().hex[:6]}"
    env = dict(spec.param_env({"engine": engine}))
    free = allocate_subnets(len(spec.networks), engine_subnets(), "10.214.0.0/16")
    for name, subnet in zip(spec.networks, free, strict=True):
        env[f"{name.upper()}_NET"] = str(subnet.network_address).rsplit(".", 1)[0]
    compose = ["docker", "compose", "-p", project, "-f", str(spec.compose_file)]
    client = dialect(engine).client
    show = dialect(engine).show_slave_status

    def plain_replicating() -> bool:
        for s in SLAVES:
            r = subprocess.run(
                ["docker", "exec", f"{project}-{s}-1", client, "--batch", "-e", show],
                capture_output=True,
                text=True,
            )
            rows = parse_batch(r.stdout) if r.returncode == 0 else []
            st = canonical(rows[0]) if rows else {}
            if st.get("Slave_IO_Running") != "Yes" or st.get("Slave_SQL_Running") != "Yes":
                return False
        return True

    full_env = {**os.environ, **env}
    t0 = time.monotonic()
    try:
        subprocess.run([*compose, "up", "--wait", "--no-build", "--quiet-pull"], env=full_env, check=True)
        up = time.monotonic() - t0
        wait_until(plain_replicating, what="both slaves to replicate (plain compose)", timeout=60, interval=0.05)
        total = time.monotonic() - t0
    finally:
        subprocess.run([*compose, "down", "-v", "-t", "1"], env=full_env, capture_output=True)
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
    runs, plain = [], []
    for _ in range(args.repeat):  # alternately, so both meet the same machine
        runs.append(time_up(args.engine))
        plain.append(time_plain_compose(args.engine))
    for who, timed in (("opslab up mysql", runs), ("docker compose up --wait", plain)):
        ups, totals = [u for u, _ in timed], [t for _, t in timed]
        print(
            f"{who} engine={args.engine} (warm): healthy median {statistics.median(ups):.2f}s; "
            f"up and replicating median {statistics.median(totals):.2f}s "
            f"(min {min(totals):.2f}s, max {max(totals):.2f}s, n={len(totals)})"
        )
    ratio = statistics.median(t for _, t in runs) / statistics.median(t for _, t in plain)
    print(f"opslab / plain compose, up and replicating: {ratio:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
