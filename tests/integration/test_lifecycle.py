"""Lab lifecycle against the real Docker engine: side by side copies, clean removal, Ctrl-C, killed runs."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap

import pytest

from lab import dockerapi
from lab.lifecycle import LABEL_PROJECT, Lab, instances, sweep_stale
from lab.spec import ROOT, get_spec

pytestmark = pytest.mark.docker


def leftovers(project: str) -> list[str]:
    c = dockerapi.client()
    flt = {"label": f"{LABEL_PROJECT}={project}"}
    return (
        [x.name for x in c.containers.list(all=True, filters=flt)]
        + [x.name for x in c.networks.list(filters=flt)]
        + [x.name for x in c.volumes.list(filters=flt)]
    )


def test_two_copies_run_side_by_side_and_down_removes_everything() -> None:
    spec = get_spec("arp")
    with Lab(spec) as a, Lab(spec) as b:
        assert a.project != b.project
        assert a.net_prefix("lan") != b.net_prefix("lan")
        for lab in (a, b):  # each copy's client reaches its own gateway
            gw = lab.ip("gateway", "wan")
            assert lab.host("client").run("ping -c1 -W2 %s", gw).succeeded
        assert {a.project, b.project} <= set(instances("arp"))
    assert leftovers(a.project) == [] and leftovers(b.project) == []


def run_script(body: str) -> subprocess.Popen[str]:
    code = textwrap.dedent(body)
    return subprocess.Popen(
        [sys.executable, "-c", code],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def project_from(proc: subprocess.Popen[str]) -> str:
    assert proc.stdout is not None
    line = proc.stdout.readline().strip()  # blocks until the lab is up (the script prints then)
    assert line.startswith("opslab-arp-"), line + (proc.stderr.read() if proc.stderr else "")
    return line


def test_ctrl_c_takes_the_lab_down() -> None:
    # Ctrl-C as a terminal delivers it: a process started in the background by a non-interactive shell (a CI
    # script's `cmd &`) inherits SIGINT ignored, and Python then keeps ignoring it; a terminal's process does not
    proc = run_script("""
        import signal, sys, threading
        signal.signal(signal.SIGINT, signal.default_int_handler)
        from lab.lifecycle import Lab, interrupts_as_keyboard
        from lab.spec import get_spec
        with interrupts_as_keyboard(), Lab(get_spec("arp")) as lab:
            print(lab.project, flush=True)
            threading.Event().wait(120)
    """)
    project = project_from(proc)
    assert leftovers(project)
    os.killpg(proc.pid, signal.SIGINT)
    try:
        proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGTERM)  # interrupts_as_keyboard: the lab still comes down
        proc.wait(timeout=60)
        pytest.fail("the script did not end within 60 s of Ctrl-C")
    assert leftovers(project) == []


def test_what_a_killed_run_left_is_swept_at_the_next_start() -> None:
    proc = run_script("""
        import os, signal
        from lab.lifecycle import Lab
        from lab.spec import get_spec
        lab = Lab(get_spec("arp")).up()
        print(lab.project, flush=True)
        os.kill(os.getpid(), signal.SIGKILL)
    """)
    project = project_from(proc)
    proc.wait(timeout=30)
    assert leftovers(project), "the killed run should have left its lab behind"
    removed = sweep_stale()
    assert project in removed and leftovers(project) == []


def test_a_kept_lab_is_not_swept_and_the_cli_manages_it() -> None:
    up = subprocess.run(
        [sys.executable, "-m", "lab", "up", "arp"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=300,
    )
    assert up.returncode == 0, up.stderr
    project = next(w for w in up.stdout.split() if w.startswith("opslab-arp-"))
    try:
        assert project not in sweep_stale()  # its owner (the `up` process) is gone, but it was kept
        status = subprocess.run([sys.executable, "-m", "lab", "status"], cwd=ROOT, capture_output=True, text=True)
        assert project in status.stdout and "kept" in status.stdout
        bad = subprocess.run(
            [sys.executable, "-m", "lab", "shell", project, "nosuchhost"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            stdin=subprocess.DEVNULL,
        )
        assert bad.returncode == 2 and "no host 'nosuchhost'" in bad.stderr and "Hint: its hosts:" in bad.stderr
        assert "Traceback" not in bad.stderr
        ok = subprocess.run(
            [sys.executable, "-m", "lab", "shell", project, "old", "hostname"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            stdin=subprocess.DEVNULL,
        )
        assert ok.stdout.strip() == "old"
    finally:
        down = subprocess.run([sys.executable, "-m", "lab", "down", project], cwd=ROOT, capture_output=True, text=True)
    assert down.returncode == 0 and leftovers(project) == []


def test_a_stopped_engine_is_one_line_with_a_hint() -> None:
    env = {**os.environ, "DOCKER_HOST": "unix:///nonexistent/docker.sock"}
    p = subprocess.run(
        [sys.executable, "-m", "lab", "up", "arp"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=env,
        stdin=subprocess.DEVNULL,
        timeout=60,
    )
    assert p.returncode == 3
    assert "Docker engine is not reachable" in p.stderr and "Hint:" in p.stderr and "Traceback" not in p.stderr


def test_a_host_step_that_hangs_is_killed_in_its_host_at_its_timeout() -> None:
    """`Step("gateway", "sleep 3600", timeout=5)`: the step fails "timed out after 5 s" and nothing of it is
    left running in the gateway (the command and what it started are killed there, not only the docker exec)."""
    from lab.procedure import Step
    from lab.scenario import ScenarioRun, StepFailed

    with Lab(get_spec("arp")) as lab:
        run = ScenarioRun("arp/hung_step", lab)
        with pytest.raises(StepFailed) as e:
            run.step(Step("gateway", "sleep 3600 & sleep 3599; echo never", timeout=5))
        assert "timed out after 5 s" in e.value.message and run.steps[0].duration_s < 30
        ps = lab.host("gateway").run("ps -eo args")
        left = ps.stdout
        assert ps.succeeded and "ps -eo args" in left, ps  # the listing works (and would show a survivor)
        assert "sleep 3600" not in left and "sleep 3599" not in left, left
        run.close()


def test_labs_started_at_once_get_distinct_subnets_from_the_engine_alone() -> None:
    """Three instances started at the same moment read the same free subnets from the engine; the engine refuses
    the pools taken meanwhile and the losers allocate again (no lock on this machine): all come up, none overlap."""
    from concurrent.futures import ThreadPoolExecutor

    spec = get_spec("arp")
    said: list[str] = []
    labs = [Lab(spec, progress=said.append) for _ in range(3)]
    try:
        with ThreadPoolExecutor(3) as pool:
            list(pool.map(lambda lab: lab.up(build=False), labs))
        nets = [lab.net_prefix(n) for lab in labs for n in spec.networks]
        assert len(set(nets)) == len(nets), nets
        for lab in labs:
            assert lab.host("client").run("ping -c1 -W2 %s", lab.ip("gateway", "wan")).succeeded
    finally:
        for lab in labs:
            lab.down()
    assert all(leftovers(lab.project) == [] for lab in labs)
    print([m for m in said if "taken meanwhile" in m])
