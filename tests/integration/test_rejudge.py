"""`opslab rejudge` on a real run: the arp runbook run once, judged again from its report as it was (no change,
exit 0), then with the client's recorded answers after the announcement edited into silence (OutageBelow pass → fail,
exit 1). The checks that read the lab are kept with their old verdict and say that they need it."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from tests.integration.opslab_cli import opslab

pytestmark = pytest.mark.docker


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
    ping = [e for e in events if e["kind"] == "op" and e["name"] == "PingService"]
    last = max(e["t"] for e in ping)
    # the recording goes on past the announcement at least while arping waits for its reply (1 s) and until the
    # client is answered after the last step: longer than the check's 1 s limit
    assert last - since > 1.0, f"the recorded traffic ends {last - since:.2f}s after the announcement"
    for e in ping:  # the client heard nothing after the move
        if e["t"] > since:
            e["ok"] = False
    (edited / "history.jsonl").write_text("".join(json.dumps(e) + "\n" for e in events))
    p = opslab("rejudge", str(edited))
    assert p.returncode == 1, p.stdout + p.stderr
    assert "arp/migrate_with_garp: pass → fail" in p.stdout
    found = re.search(r"CHANGED  OutageBelow\(1s\): pass → fail — now: longest silence (\d+\.\d+)s", p.stdout)
    assert found is not None, p.stdout
    assert float(found.group(1)) >= last - since - 0.01, p.stdout  # from the announcement to the recording's end
