"""`opslab report merge`: shard reports join into the report one run of the whole selection writes."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from lab.errors import UsageError
from lab.merge import merge_reports
from lab.report import write_report


def scenario(sid: str, verdict: str, t: float) -> dict[str, Any]:
    return {
        "id": sid,
        "lab": sid.split("/")[0],
        "verdict": verdict,
        "duration_s": 2.0,
        "started": t,
        "checks": [{"name": "C", "verdict": "pass", "detail": "d", "expected": "pass", "evidence": {}}],
        "history": [{"t": t + 1, "kind": "step", "name": f"step of {sid}"}],
        "logs": {"old": f"log of {sid}\n", "new": "x\n"},
        "error": "boom" if verdict == "error" else None,
    }


def test_shards_merge_into_one_report_in_catalog_order(tmp_path: Path) -> None:
    everything = [
        scenario("arp/migrate_without_garp", "pass", 100.0),
        scenario("arp/migrate_with_garp", "fail", 300.0),
        scenario("arp/duplicate_ip", "pass", 50.0),
        scenario("mysql/rebuild_from_master", "error", 200.0),
    ]
    write_report(tmp_path / "whole", everything)
    write_report(tmp_path / "s1", [everything[1], everything[3]])
    write_report(tmp_path / "s2", [everything[2], everything[0]])
    out = merge_reports([tmp_path / "s1", tmp_path / "s2"], tmp_path / "merged")

    whole, merged = (json.loads((d / "results.json").read_text()) for d in (tmp_path / "whole", out))
    assert merged == whole
    assert [s["id"] for s in merged["scenarios"]] == [s["id"] for s in everything]  # the catalog's order
    assert merged["verdict"] == "error" and merged["summary"]["total"] == 4
    for name in ("history.jsonl", "junit.xml"):
        assert (out / name).read_text() == (tmp_path / "whole" / name).read_text()
    junit = ET.parse(out / "junit.xml").getroot()
    assert junit.get("tests") == "4" and junit.get("failures") == "1" and junit.get("errors") == "1"
    assert (out / "logs/arp/migrate_with_garp/old.log").read_text() == "log of arp/migrate_with_garp\n"
    assert (out / "logs/mysql/rebuild_from_master/new.log").is_file()
    assert "rebuild_from_master" in (out / "report.html").read_text()


def test_a_scenario_in_two_shards_or_a_folder_without_results_is_refused(tmp_path: Path) -> None:
    write_report(tmp_path / "a", [scenario("arp/duplicate_ip", "pass", 1.0)])
    write_report(tmp_path / "b", [scenario("arp/duplicate_ip", "pass", 2.0)])
    with pytest.raises(UsageError, match="is in both") as exc:
        merge_reports([tmp_path / "a", tmp_path / "b"], tmp_path / "m")
    assert exc.value.hint and not (tmp_path / "m").exists()
    with pytest.raises(UsageError, match="cannot be read"):
        merge_reports([tmp_path / "a", tmp_path / "nosuch"], tmp_path / "m")
