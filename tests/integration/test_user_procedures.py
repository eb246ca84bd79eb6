"""A user's own procedure in place of the built-in one, judged by the same checks; rehearsal without a prompt."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.integration.opslab_cli import opslab

pytestmark = pytest.mark.docker
DATA = Path(__file__).parent / "data"


def verdicts(report: Path) -> dict[str, dict[str, str]]:
    data = json.loads((report / "results.json").read_text())
    return {s["id"]: {c["name"]: c["verdict"] for c in s["checks"]} for s in data["scenarios"]}


def test_a_users_script_passes_the_runbooks_checks(tmp_path: Path) -> None:
    p = opslab(
        "run", "arp/migrate_with_garp", "--procedure", str(DATA / "migrate_by_script.sh"), "--report", str(tmp_path)
    )
    assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-2000:]
    checks = verdicts(tmp_path)["arp/migrate_with_garp"]
    assert checks["OutageBelow(1s)"] == "pass" and checks["AnnouncedByArp"] == "pass"
    steps = json.loads((tmp_path / "results.json").read_text())["scenarios"][0]["steps"]
    assert any("migrate_by_script.sh" in s["command"] for s in steps)


def test_a_users_runbook_that_forgets_the_garp_fails_them(tmp_path: Path) -> None:
    runbook = tmp_path / "forgets_garp.steps"
    runbook.write_text(
        "# moves the address, tells nobody\nold: ip addr del {vip}/24 dev eth0\nnew: ip addr add {vip}/24 dev eth0\n"
    )
    report = tmp_path / "report"
    p = opslab("run", "arp/migrate_with_garp", "--procedure", f"migrate_with_garp={runbook}", "--report", str(report))
    assert p.returncode == 1, p.stdout[-3000:]
    checks = verdicts(report)["arp/migrate_with_garp"]
    assert checks["OutageBelow(1s)"] == "fail" and checks["AnnouncedByArp"] == "fail"
    assert "FAIL" in p.stdout and "report.html" in p.stdout


def test_rehearse_walks_every_step_watches_and_ends_in_a_verdict(tmp_path: Path) -> None:
    p = opslab("rehearse", "arp", "migrate_with_garp", "--yes", "--report", str(tmp_path))
    assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-2000:]
    assert "step 3/3 [new]" in p.stdout and "arping -s" in p.stdout and "watching, all through: SingleOwner" in p.stdout
    assert "✓ OutageBelow(1s): pass" in p.stdout and p.stdout.rstrip().splitlines()[-1] == "verdict: pass"
    assert verdicts(tmp_path)["arp/rehearse_migrate_with_garp"]["SingleOwner"] == "pass"


def test_rehearsing_a_runbook_that_moves_the_ip_quietly_fails(tmp_path: Path) -> None:
    runbook = tmp_path / "quiet.steps"
    runbook.write_text("old: ip addr del {vip}/24 dev eth0\nnew: ip addr add {vip}/24 dev eth0\n")
    p = opslab(
        "rehearse",
        "arp",
        "migrate_with_garp",
        "--yes",
        "--procedure",
        str(runbook),
        "--report",
        str(tmp_path / "report"),
    )
    assert p.returncode == 1, p.stdout[-3000:] + p.stderr[-2000:]
    assert "✗ OutageBelow(1s): fail (expected pass)" in p.stdout
    assert p.stdout.rstrip().splitlines()[-1] == "verdict: fail"
