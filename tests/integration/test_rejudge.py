"""`opslab rejudge` on a real run: the arp runbook run once, judged again from its report as it was (no change,
exit 0), then with the client's recorded answers after the move edited into silence (OutageBelow pass → fail,
exit 1). The checks that read the lab are kept with their old verdict and say that they need it."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from lab.spec import ROOT

pytestmark = pytest.mark.docker


def opslab(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "lab", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=900,
    )


def test_a_real_run_rejudged_as_it_was_then_with_its_traffic_edited(tmp_path: Path) -> None:
    report = tmp_path / "report"
    p = opslab("run", "arp/migrate_with_garp", "--report", str(report))
    assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-2000:]

    p = opslab("rejudge", str(report))
    assert p.returncode == 0, p.stdout + p.stderr
    assert "arp/migrate_with_garp: pass (unchanged)" in p.stdout
    assert "same     OutageBelow(1s): pass" in p.stdout and "same     ServiceBackWithin: pass" in p.stdout
    assert "kept     GatewayKnowsNewMac: pass, old verdict kept — cannot rejudge: needs the lab" in p.stdout

    edited = tmp_path / "edited"
    shutil.copytree(report, edited)
    events = [json.loads(line) for line in (edited / "history.jsonl").read_text().splitlines()]
    (outage,) = [e for e in events if e["kind"] == "check" and e["name"] == "OutageBelow(1s)"]
    since = outage["judge"]["kwargs"]["since"]
    for e in events:  # the client heard nothing for 1.5 s after the move
        if e["kind"] == "op" and e["name"] == "PingService" and since < e["t"] <= since + 1.5:
            e["ok"] = False
    (edited / "history.jsonl").write_text("".join(json.dumps(e) + "\n" for e in events))
    p = opslab("rejudge", str(edited))
    assert p.returncode == 1, p.stdout + p.stderr
    assert "arp/migrate_with_garp: pass → fail" in p.stdout
    # the silence runs from the last answer before the edited window to the first after it: 1.5 s and up to a
    # ping interval (and the client's own lateness) more
    changed = r"CHANGED  OutageBelow\(1s\): pass → fail — now: longest silence (1\.[5-9]|2\.)\d*s"
    assert re.search(changed, p.stdout), p.stdout
