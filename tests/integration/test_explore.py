"""Fault schedules on a live lab: a sweep of the arp runbook with one fault, and the replay of a schedule file.

The gateway's cache is made long-lived (`delay_first_probe_s=20`, as the `garp_lost` scenario does) so that a lost
gratuitous ARP stays visible for longer than any heal takes on a loaded machine.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.integration.opslab_cli import opslab

pytestmark = pytest.mark.docker
LONG_CACHE = "delay_first_probe_s=20"


def test_a_sweep_of_the_arp_runbook_finds_the_one_boundary_where_a_lost_garp_breaks_it(tmp_path: Path) -> None:
    p = opslab(
        "explore",
        "arp/migrate_with_garp",
        "--sweep",
        "--faults",
        "drop_garp",
        "--param",
        LONG_CACHE,
        "--out",
        str(tmp_path),
    )
    assert p.returncode == 1, p.stdout[-3000:] + p.stderr[-2000:]  # one cell is not pass
    folder = tmp_path / "arp" / "migrate_with_garp-sweep"
    cells = json.loads((folder / "sweep.json").read_text())
    verdict = {(tuple(i["at"] for i in c["schedule"]["injections"]) or ("none",))[0]: c["verdict"] for c in cells}
    # the announcement is step 3 (boundary 2): only a drop in place while it runs breaks the runbook
    assert verdict == {"none": "pass", 0: "pass", 1: "pass", 2: "fail"}, p.stdout[-3000:]
    broke = next(c["broke"] for c in cells if c["verdict"] == "fail")
    assert broke[0].startswith("ServiceBackWithin: fail"), broke
    html = (folder / "report.html").read_text()
    assert "Sweep: what happens if a fault strikes before step N" in html and "drop_garp" in html
    assert "before step 3: gratuitous ARP" in p.stdout


def test_a_schedule_file_replays_the_lost_garp(tmp_path: Path) -> None:
    schedule = tmp_path / "lost.schedule.json"
    schedule.write_text(
        json.dumps(
            {
                "target": "arp/migrate_with_garp",
                "params": {"delay_first_probe_s": "20"},
                "injections": [{"at": 2, "fault": "drop_garp", "args": {"count": 1}, "heal_after": 1}],
            }
        )
    )
    p = opslab("run", "arp/migrate_with_garp", "--replay", str(schedule), "--report", str(tmp_path / "report"))
    assert p.returncode == 1, p.stdout[-3000:] + p.stderr[-2000:]
    assert "broke: ServiceBackWithin: fail" in p.stdout
    data = json.loads((tmp_path / "report" / "results.json").read_text())
    (run,) = data["scenarios"]
    assert run["verdict"] == "fail" and [f["name"] for f in run["faults"]] == ["DropArp"]
    assert run["faults"][0]["heal_ok"] is True
    history = [json.loads(line) for line in (tmp_path / "report" / "history.jsonl").read_text().splitlines()]
    assert any(e["kind"] == "note" and e["detail"].startswith("schedule: drop_garp before step 3") for e in history)
