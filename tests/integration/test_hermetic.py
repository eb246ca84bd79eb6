"""Hermetic labs: every lab passes a scenario with the outside resolver black-holed (OPSLAB_RESOLVER=blackhole).

A lab program that waits on outside DNS (a reverse lookup, a name only the machine's resolver knows) takes the
black hole's full timeout there and its scenario fails or errs, on every machine alike. The probe shows the
black hole still swallows an outside lookup, so a pass here cannot come from a resolver that answers.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from lab import dockerapi
from lab.lifecycle import BLACKHOLE_HOST, Lab
from lab.spec import ROOT, get_spec

pytestmark = pytest.mark.docker

# one quick scenario per lab, each one that makes the lab's programs do their job (drbd: a takeover of the
# floating IP, where heartbeat starts the service that once waited on a reverse lookup)
SCENARIOS = (
    "arp/migrate_with_garp",
    "mysql/rebuild_from_master",
    "mirror/mirror_site",
    "openvpn/client_connects",
    "drbd/primary_crash",
)
UNANSWERED_AFTER_S = 4.0  # glibc asks 127.0.0.11 for 5 s before its second try: no answer by then is no answer


def test_an_outside_lookup_gets_no_answer_in_a_black_holed_lab(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPSLAB_RESOLVER", "blackhole")  # as the scenarios below get it
    with Lab(get_spec("arp")) as lab:
        client = lab.host("client")
        for host in lab.spec.hosts:
            dns = dockerapi.client().containers.get(lab.container_name(host)).attrs["HostConfig"]["Dns"]
            assert dns == [f"{lab.net_prefix('wan' if host == 'client' else 'lan')}.{BLACKHOLE_HOST}"], (host, dns)
        own = client.run("getent hosts %s", lab.ip("gateway", "wan"))
        assert own.rc == 0, f"a lab address no longer resolves inside the lab: {own.stderr}"
        # an address of the lab's own subnet that no host holds: Docker's DNS forwards its reverse lookup outside
        unheld = f"{lab.net_prefix('wan')}.77"
        t0 = time.monotonic()
        r = client.run("timeout %s getent hosts %s", f"{UNANSWERED_AFTER_S:g}", unheld)
        took = time.monotonic() - t0
        assert r.rc == 124, f"an outside lookup got an answer (getent exit {r.rc} after {took:.1f}s): {r.stdout}"
        assert took >= UNANSWERED_AFTER_S


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_each_lab_passes_with_the_outside_resolver_black_holed(
    scenario: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    # each run's own report folder, kept with the suite's report (`--opslab-report`, as `make test` gives) so that
    # a failure here can be studied after the run
    suite_report = request.config.getoption("--opslab-report")
    report = Path(suite_report).resolve() / "hermetic" / scenario.replace("/", "-") if suite_report else tmp_path
    p = subprocess.run(
        [sys.executable, "-m", "lab", "run", scenario, "--report", str(report)],
        cwd=ROOT,
        env={**os.environ, "OPSLAB_RESOLVER": "blackhole"},
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=900,
    )
    [entry] = json.loads((report / "results.json").read_text())["scenarios"]
    failed = [f"{c['name']}: {c['verdict']} ({c['detail']})" for c in entry["checks"] if c["verdict"] != c["expected"]]
    why = entry.get("error") or "; ".join(failed)
    assert entry["verdict"] == "pass", f"{scenario}: {entry['verdict']}: {why} (report: {report})"
    assert p.returncode == 0
