"""Benchmark (not a test): how many fault-schedule examples per minute `opslab explore` runs on a lab.

Each example is what exploration runs: a fresh lab instance, the plan staged, one fault of the library (in turn)
before the first step and healed after it, the robust checks, the lab taken down. Reports the median seconds per
example and examples per minute; nothing is asserted (the machine is shared and noisy).

    python bench/explore_bench.py [--target arp/migrate_with_garp] [--examples 5] [--param K=V]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from lab.explore import LabExecutor, resolve_target  # noqa: E402
from lab.schedule import Injection, Schedule  # noqa: E402
from lab.spec import parse_params  # noqa: E402


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--target", default="arp/migrate_with_garp")
    p.add_argument("--examples", type=int, default=5)
    p.add_argument("--param", action="append", default=[])
    args = p.parse_args()
    target = resolve_target(args.target, None)
    params = parse_params(args.param)
    names = list(target.library)
    times, verdicts = [], []
    with tempfile.TemporaryDirectory() as work:
        execute = LabExecutor(target, Path(work), lambda msg: None)
        for n in range(args.examples):
            kind = target.library[names[n % len(names)]]
            schedule = Schedule(target.id, (Injection(0, kind.name, kind.values(), 1),), params)
            t0 = time.monotonic()
            out = execute(schedule)
            times.append(time.monotonic() - t0)
            verdicts.append(out.verdict)
            print(f"example {n + 1}: {kind.name} before step 1 → {out.verdict} in {times[-1]:.1f}s", flush=True)
    median = statistics.median(times)
    print(f"{args.target}: median {median:.1f}s per example, {60 / median:.1f} examples per minute ({verdicts})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
