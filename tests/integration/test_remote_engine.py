"""Labs on a Docker engine that is not the one of this machine's default socket, and `--engines` across two.

The module's fixture starts a second dockerd on this machine: its own socket, data root, exec root (so its own
containerd), pid file and cgroup parent, and its own network namespace (`unshare --net`), so its bridges and
iptables rules never meet the main engine's (no `--bip` or iptables settings to coordinate: `--bridge none`, and
its lab networks live in that namespace). It reaches nothing outside, as labs need nothing outside. The images the
scenarios need are copied into it from the main engine (`docker save | docker load`, no registry; image ids and the
inputs labels survive, so opslab finds them up to date and builds nothing). At the end every container of it is
removed, the daemon is stopped (TERM, waited for) and its folder deleted.

What is shown: an arp scenario (its judges read the packet capture, which runs in a lab host) and a mysql scenario
pass through `opslab run` with `DOCKER_HOST` pointing at the second engine, and their lab networks were made on
that engine, not on the main one (the engines' own event streams say so); then `opslab run --engines MAIN,SECOND`
runs two scenarios, one on each engine, into one report; a bad engine URL is refused before any lab starts.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from lab import dockerapi
from lab.images import BASE, build_lab, lab_images, pinned
from lab.spec import get_spec
from lab.wait import wait_until

pytestmark = pytest.mark.docker

OPSLAB = [sys.executable, "-m", "lab"]
ARP = "arp/arping_variants"  # judged from the capture (AnnouncedByArp, strict and not)
MYSQL = "mysql/wrong_binlog_file"  # the lab's quickest scenario


def _docker(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["docker", *args], env=env, capture_output=True, text=True, check=False, timeout=120)


def _env(url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "DOCKER_CONTEXT"}
    env["DOCKER_HOST"] = url
    return env


def _images_for(labs: list[str]) -> list[str]:
    """Every image the labs' default instances run, built on the main engine if missing, and their base images."""
    refs: set[str] = set()
    for name in labs:
        spec = get_spec(name)
        build_lab(spec, lambda msg: None)
        refs |= set(pinned(spec).values())
        refs |= {b["args"].get("BASE", BASE) for b in lab_images(spec).values()}
    return sorted(refs)


@pytest.fixture(scope="module")
def engines() -> Iterator[tuple[str, str]]:
    """(main engine URL, second engine URL): a second dockerd started here, with the labs' images loaded."""
    if os.geteuid() != 0 or not shutil.which("dockerd") or not shutil.which("unshare"):
        pytest.skip("a second dockerd needs root, dockerd and unshare (make test runs as root)")
    main = dockerapi.engine().url
    folder = Path(f"/tmp/opslab-dockerd2-{os.getpid()}")
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    sock = folder / "docker.sock"
    url = f"unix://{sock}"
    daemon = (
        f"ip link set lo up && exec dockerd --host {url} --data-root {folder}/data --exec-root {folder}/exec"
        f" --pidfile {folder}/docker.pid --bridge none --cgroup-parent opslab-dockerd2-{os.getpid()}"
    )
    log = open(folder / "dockerd.log", "wb")
    proc = subprocess.Popen(
        ["unshare", "--net", "sh", "-c", daemon],
        stdout=log,
        stderr=log,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        wait_until(
            lambda: proc.poll() is not None or _docker(_env(url), "version").returncode == 0,
            what="the second dockerd to answer",
            timeout=60,
            interval=0.2,
        )
        assert proc.poll() is None, (folder / "dockerd.log").read_text()[-2000:]
        refs = _images_for(["arp", "mysql"])
        t0 = time.monotonic()
        save = subprocess.Popen(["docker", "save", *refs], env=_env(main), stdout=subprocess.PIPE)
        load = subprocess.run(
            ["docker", "load", "-q"], env=_env(url), stdin=save.stdout, capture_output=True, text=True, check=False
        )
        assert save.wait() == 0 and load.returncode == 0, load.stderr
        print(f"second engine {url}: {len(refs)} images loaded in {time.monotonic() - t0:.1f}s")
        yield main, url
    finally:
        ids = _docker(_env(url), "ps", "-aq").stdout.split()
        if ids:
            _docker(_env(url), "rm", "-f", "-v", *ids)
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=30)
        log.close()
        shutil.rmtree(folder, ignore_errors=True)


class NetworksMade:
    """The networks an engine creates while this is open, from its live event stream (`docker events` keeps too
    few past events to ask afterwards: every `docker exec` is one). On leaving, a marker network is made and
    removed, and the stream read until it shows: every earlier event has then arrived."""

    def __init__(self, url: str) -> None:
        self.url = url
        argv = ["docker", "events", "--filter", "type=network", "--filter", "event=create"]
        self.proc = subprocess.Popen(
            [*argv, "--format", "{{.Actor.Attributes.name}}"], env=_env(url), stdout=subprocess.PIPE, text=True
        )
        self.names: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.names.append(line.strip())

    def __enter__(self) -> NetworksMade:
        return self

    def __exit__(self, *exc: object) -> None:
        marker = f"eventmark-{secrets.token_hex(4)}"
        try:
            _docker(_env(self.url), "network", "create", "--internal", marker)
            _docker(_env(self.url), "network", "rm", marker)
            wait_until(lambda: marker in self.names, what=f"{marker} in the event stream", timeout=30)
        finally:
            self.proc.terminate()
            self.proc.wait(timeout=30)
        self.names.remove(marker)

    def made(self, projects: dict[str, str]) -> set[str]:
        """The scenarios whose lab networks this engine made."""
        return {sid for sid, p in projects.items() if any(n.startswith(f"{p}_") for n in self.names)}


def _run(args: list[str], env: dict[str, str], report: Path) -> dict[str, object]:
    r = subprocess.run([*OPSLAB, "run", *args, "--report", str(report)], env=env, text=True, capture_output=True)
    assert (report / "results.json").exists(), r.stdout[-3000:] + r.stderr[-3000:]
    results: dict[str, object] = json.loads((report / "results.json").read_text())
    print(r.stdout[-2000:])
    return results


def _projects(results: dict[str, object]) -> dict[str, str]:
    return {s["id"]: s["project"] for s in results["scenarios"]}


def test_arp_and_mysql_on_the_second_engine(engines: tuple[str, str], tmp_path: Path) -> None:
    main, second = engines
    with NetworksMade(main) as on_main, NetworksMade(second) as on_second:
        results = _run([ARP, MYSQL], _env(second), tmp_path / "report")
    verdicts = {s["id"]: s["verdict"] for s in results["scenarios"]}
    assert verdicts == {ARP: "pass", MYSQL: "pass"}, json.dumps(results["scenarios"], indent=1)[:4000]
    arp = next(s for s in results["scenarios"] if s["id"] == ARP)
    assert arp["metrics"]["arp_frames_seen"] > 0
    projects = _projects(results)
    assert on_second.made(projects) == {ARP, MYSQL}
    assert on_main.made(projects) == set()


def test_engines_spreads_scenarios_over_both(engines: tuple[str, str], tmp_path: Path) -> None:
    main, second = engines
    env = {k: v for k, v in os.environ.items() if k not in ("DOCKER_HOST", "DOCKER_CONTEXT")}
    chosen = ["arp/migrate_with_garp", "arp/duplicate_ip"]
    with NetworksMade(main) as on_main, NetworksMade(second) as on_second:
        results = _run([*chosen, "--engines", f"{main},{second}"], env, tmp_path / "report")
    assert results["verdict"] == "pass", json.dumps(results["scenarios"], indent=1)[:4000]
    assert [s["id"] for s in results["scenarios"]] == chosen
    projects = _projects(results)
    first, other = on_main.made(projects), on_second.made(projects)
    assert len(first) == 1 and len(other) == 1 and first | other == set(chosen), (first, other)


def test_a_bad_engine_is_refused_before_any_lab_starts(engines: tuple[str, str], tmp_path: Path) -> None:
    _, second = engines
    with NetworksMade(second) as on_second:
        for bad in ("http://example.org", f"{second},unix:///nonexistent/docker.sock"):
            r = subprocess.run(
                [*OPSLAB, "run", "arp/duplicate_ip", "--engines", bad, "--report", str(tmp_path / "bad")],
                text=True,
                capture_output=True,
            )
            out = r.stdout + r.stderr
            assert r.returncode != 0 and "Hint:" in out and "Traceback" not in out, out
    assert not (tmp_path / "bad" / "results.json").exists()
    assert not on_second.names, on_second.names
