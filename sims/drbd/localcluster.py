"""Two real daemons of the stand-in on 127.0.0.x, for tests and the benchmark; and polling with a deadline.

Contract: `two_daemons(dir, size=, net=, disk=)` writes a resource file for nodes alpha and beta on two free
loopback addresses, starts both daemons with `--up`, yields a `Cluster` (status, Volume, drbdadm, kill/start,
logs, disk images), and stops the daemons on exit whatever happened. `wait_until(probe, what, timeout)` polls a
condition until a deadline and, on timeout, says what it waited for and what it saw last.
"""

from __future__ import annotations

import contextlib
import io
import os
import random
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from sims.drbd import drbdadm
from sims.drbd.client import DaemonUnavailable, Volume

ROOT = Path(__file__).resolve().parents[2]
T = TypeVar("T")


def wait_until(probe: Callable[[], T], what: str, timeout: float = 15.0, interval: float = 0.02) -> T:
    """Poll `probe` until it returns something truthy; on timeout say what we waited for and what we saw last."""
    __tracebackhide__ = True
    deadline = time.monotonic() + timeout
    last: object = None
    while time.monotonic() < deadline:
        try:
            value = probe()
        except DaemonUnavailable as e:
            last = e
        else:
            if value:
                return value
            last = value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}; last seen: {last!r}")


def free_loopback_pair() -> tuple[tuple[str, int], tuple[str, int]]:
    """Two distinct 127.0.0.x addresses, each with a port free on it right now."""
    hosts = random.sample(range(2, 250), 2)
    out = []
    for h in hosts:
        ip = f"127.0.0.{h}"
        with socket.socket() as s:
            s.bind((ip, 0))
            out.append((ip, s.getsockname()[1]))
    return out[0], out[1]


RES_TEMPLATE = """\
resource r0 {{
  protocol C;
  net {{ {net} }}
  disk {{ {disk} }}
  sim {{ size {size}; }}
  on alpha {{ disk {d}/alpha.img; address {a[0]}:{a[1]};
             sim {{ control {d}/alpha.sock; log {d}/alpha.log; }} }}
  on beta  {{ disk {d}/beta.img;  address {b[0]}:{b[1]};
             sim {{ control {d}/beta.sock;  log {d}/beta.log; }} }}
}}
"""


@dataclass
class Cluster:
    dir: Path
    config: Path
    procs: dict[str, subprocess.Popen[bytes]]

    def volume(self, node: str) -> Volume:
        return Volume(self.dir / f"{node}.sock")

    def status(self, node: str) -> dict[str, Any]:
        with self.volume(node) as v:
            return v.status()

    def drbdadm(self, node: str, *args: str) -> subprocess.CompletedProcess[str]:
        """Run drbdadm for `node` in this process (its output captured), as the shell would see it."""
        argv = ["-c", str(self.config), "--node", node, *args]
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            rc = drbdadm.run(argv)
        return subprocess.CompletedProcess(["drbdadm", *argv], rc, out.getvalue(), err.getvalue())

    def start(self, node: str) -> None:
        self.procs[node] = subprocess.Popen(
            [sys.executable, "-m", "sims.drbd.daemon", "-c", str(self.config), "--node", node, "--up", "--quiet"],
            cwd=ROOT,
            env=_env(),
        )
        wait_until(lambda: self.status(node), f"the {node} daemon to answer")

    def kill(self, node: str) -> None:
        proc = self.procs.pop(node)
        proc.kill()
        proc.wait(10)

    def log(self, node: str) -> str:
        return (self.dir / f"{node}.log").read_text()

    def image(self, node: str) -> bytes:
        return (self.dir / f"{node}.img").read_bytes()


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return env


@contextmanager
def two_daemons(tmp: Path, *, size: str = "1M", net: str = "", disk: str = "resync-rate 4M;") -> Iterator[Cluster]:
    a, b = free_loopback_pair()
    config = tmp / "r0.res"
    config.write_text(RES_TEMPLATE.format(net=net, disk=disk, size=size, d=tmp, a=a, b=b))
    cluster = Cluster(tmp, config, {})
    try:
        for node in ("alpha", "beta"):
            cluster.start(node)
        yield cluster
    finally:
        for node in list(cluster.procs):
            with cluster.volume(node) as v:
                try:
                    v.request("stop")
                except DaemonUnavailable:
                    pass
            try:
                cluster.procs[node].wait(5)
            except subprocess.TimeoutExpired:
                cluster.kill(node)
