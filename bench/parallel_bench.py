"""Benchmark (not a test): a selection run serially against `-j 2` and `-j 4` on one engine, with and without
the warm pool (`--prefetch`: the next scenario's lab comes up while one runs).

A mode is `N` (`-j N` with its default prefetch: 0 serial, 1 parallel) or `N:P` (`-j N --prefetch P`). For each
mode it runs `opslab run TARGETS [-j N] [--prefetch P]` once, one mode after the other, and records:
- wall time of the whole command (images are built once before, so no mode pays for a build);
- peak memory of the run: every 0.5 s the sum of what its lab containers use (cgroup memory less inactive page
  cache, as `docker stats` counts it) plus the resident memory of its own processes (opslab, pytest workers);
  the containers are found by their owner label (org.opslab.owner), so other runs on the engine do not count;
- the machine's load average (1 min) at the start, the end and the mean of the samples: the machine may be shared,
  and a loaded machine stretches every timing (say so with the numbers);
- each scenario's verdict and metrics, side by side across the modes: parallelism must not change a verdict; a
  metric that drifts is shown with its values.

    python bench/parallel_bench.py [--targets arp mysql] [--modes 1 1:1 2:0 2 4] [--out reports/bench-parallel.json]

Nothing is asserted: the numbers are printed and written to --out as JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from lab import dockerapi  # noqa: E402
from lab.images import build_lab  # noqa: E402
from lab.lifecycle import LABEL_LAB, LABEL_OWNER  # noqa: E402
from lab.spec import get_spec  # noqa: E402

CGROUP = Path("/sys/fs/cgroup")


def loadavg() -> float:
    return float(Path("/proc/loadavg").read_text().split()[0])


def tree(pid: int) -> set[int]:
    """`pid` and every process below it."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
        except (OSError, IndexError, ValueError):
            continue
    out, todo = set(), [pid]
    while todo:
        p = todo.pop()
        if p not in out:
            out.add(p)
            todo.extend(children.get(p, []))
    return out


def rss(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def container_memory(cid: str) -> int:
    """Bytes a container uses, page cache that could be dropped left out (cgroup v1 or v2)."""
    for base, usage, inactive in (
        (CGROUP / "memory" / "docker" / cid, "memory.usage_in_bytes", "total_inactive_file"),
        (CGROUP / "system.slice" / f"docker-{cid}.scope", "memory.current", "inactive_file"),
        (CGROUP / "docker" / cid, "memory.current", "inactive_file"),
    ):
        try:
            used = int((base / usage).read_text())
            stat = dict(line.split() for line in (base / "memory.stat").read_text().splitlines())
            return max(0, used - int(stat.get(inactive, 0)))
        except (OSError, ValueError):
            continue
    return 0


class Sampler(threading.Thread):
    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid, self.stop_flag = pid, threading.Event()
        self.peak, self.loads, self.containers = 0, [loadavg()], 0

    def run(self) -> None:
        client = dockerapi.client()
        while not self.stop_flag.wait(0.5):
            pids = tree(self.pid)
            ours = []
            for c in client.containers.list(filters={"label": LABEL_LAB}, ignore_removed=True):
                owner = c.labels.get(LABEL_OWNER, "::").rsplit(":", 2)[1]
                if owner.isdigit() and int(owner) in pids:
                    ours.append(c.id)
            used = sum(container_memory(cid) for cid in ours) + sum(rss(p) for p in pids)
            self.peak = max(self.peak, used)
            self.containers = max(self.containers, len(ours))
            self.loads.append(loadavg())


def run_mode(targets: list[str], mode: str, report: Path) -> dict[str, Any]:
    jobs_text, _, prefetch = mode.partition(":")
    jobs = int(jobs_text)
    argv = [str(ROOT / ".venv/bin/opslab"), "run", *targets, "--report", str(report)]
    if jobs > 1:
        argv += ["-j", str(jobs)]
    if prefetch:
        argv += ["--prefetch", prefetch]
    load0 = loadavg()
    t0 = time.monotonic()
    proc = subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    sampler = Sampler(proc.pid)
    sampler.start()
    out, _ = proc.communicate()
    wall = time.monotonic() - t0
    sampler.stop_flag.set()
    sampler.join()
    report.parent.mkdir(parents=True, exist_ok=True)
    (report.parent / f"{report.name}.log").write_text(out)
    results = json.loads((report / "results.json").read_text()) if (report / "results.json").exists() else {}
    return {
        "mode": mode,
        "jobs": jobs,
        "prefetch": int(prefetch) if prefetch else int(jobs > 1),
        "exit": proc.returncode,
        "wall_s": round(wall, 1),
        "peak_memory_mib": round(sampler.peak / 2**20),
        "most_containers": sampler.containers,
        "load_start": load0,
        "load_end": loadavg(),
        "load_mean": round(sum(sampler.loads) / len(sampler.loads), 2),
        "scenarios": {
            s["id"]: {"verdict": s["verdict"], "duration_s": s["duration_s"], "metrics": s["metrics"]}
            for s in results.get("scenarios", [])
        },
    }


def label(mode: dict[str, Any]) -> str:
    return f"-j {mode['jobs']} prefetch {mode['prefetch']}"


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--targets", nargs="+", default=["arp", "mysql"])
    ap.add_argument("--modes", nargs="+", default=["1", "1:1", "2:0", "2", "4"], help="N or N:PREFETCH")
    ap.add_argument("--out", type=Path, default=ROOT / "reports" / "bench-parallel.json")
    args = ap.parse_args()
    for lab in sorted({t.split("/")[0] for t in args.targets}):
        build_lab(get_spec(lab), lambda msg: None)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    modes = []
    for spec in args.modes:
        mode = run_mode(args.targets, spec, ROOT / "reports" / f"bench-parallel-{stamp}-j{spec.replace(':', 'p')}")
        modes.append(mode)
        print(
            f"{label(mode)}: {mode['wall_s']:.0f}s wall, peak {mode['peak_memory_mib']} MiB"
            f" ({mode['most_containers']} containers at most), load {mode['load_start']:.1f} → {mode['load_end']:.1f}"
            f" (mean {mode['load_mean']:.1f}), exit {mode['exit']}",
            flush=True,
        )
    serial = modes[0]
    for mode in modes[1:]:
        print(f"{label(mode)}: {mode['wall_s'] / serial['wall_s']:.2f} of {label(serial)}'s wall time")
    print("\nverdicts and metrics (" + " | ".join(label(m) for m in modes) + "):")
    drift = False
    for sid in serial["scenarios"]:
        got = [m["scenarios"].get(sid, {"verdict": "missing", "metrics": {}}) for m in modes]
        verdicts = [g["verdict"] for g in got]
        mark = "" if len(set(verdicts)) == 1 else "   <-- VERDICT DRIFT"
        drift |= bool(mark)
        print(f"  {sid}: {' | '.join(verdicts)}{mark}")
        for key in sorted(got[0]["metrics"]):
            values = [g["metrics"].get(key) for g in got]
            if all(isinstance(v, (int, float)) for v in values):
                print(f"      {key}: {' | '.join(f'{v:g}' for v in values)}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"targets": args.targets, "cores": os.cpu_count(), "modes": modes}, indent=1))
    print(f"\n{'verdicts drifted' if drift else 'no verdict drifted'}; written to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
