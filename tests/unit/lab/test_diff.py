"""`opslab diff` on canned report folders (tests/unit/lab/data/diff/a and b): verdicts, checks, metrics, steps."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lab.cli import main
from lab.diff import diff_reports, render
from lab.errors import UsageError

DATA = Path(__file__).parent / "data" / "diff"
A, B = DATA / "a", DATA / "b"


def by_id(a: Path = A, b: Path = B):  # type: ignore[no-untyped-def]
    return {s.id: s for s in diff_reports(a, b).scenarios}


def test_a_check_that_passed_and_now_fails_is_a_regression_named_in_the_text() -> None:
    s = by_id()["arp/migrate_with_garp"]
    assert (s.verdict_a, s.verdict_b, s.regressed) == ("pass", "fail", True)
    assert [c.name for c in s.checks if c.regressed] == ["OutageBelow", "AnnouncedByArp"]
    text = render(diff_reports(A, B), "text")
    assert "check OutageBelow: pass → fail (expected pass)  REGRESSED" in text
    assert "metric outage_s 0.07 → 6.2 (+6.13)" in text
    assert "metric total_outage_s — → 6.9" in text and "metric arp_frames_seen 14 → 14\n" in text
    assert "step removed: [new] handler: announce the service IP" in text
    assert "regressed: arp/migrate_with_garp (pass → fail; OutageBelow, AnnouncedByArp)" in text


def test_commands_are_not_compared_steps_are_counted() -> None:
    d = by_id()
    assert d["arp/migrate_with_garp"].steps_added == []  # same titles, other addresses: no step added
    assert d["arp/duplicate_ip"].steps_added == ["[new] add"]  # run twice in B, once in A


def test_what_was_expected_to_fail_and_still_fails_is_no_regression_and_improvements_are_none() -> None:
    d = by_id()
    assert not d["arp/duplicate_ip"].regressed  # NoAddressConflict fail, expected fail, in both
    assert not d["arp/garp_lost"].regressed  # fail → pass
    assert d["arp/arping_variants"].verdict_a == "—" and not d["arp/arping_variants"].regressed


def test_an_expected_failure_that_no_longer_shows_is_a_regression(tmp_path: Path) -> None:
    data = json.loads((A / "results.json").read_text())
    data["scenarios"][1]["checks"][0]["verdict"] = "pass"  # NoAddressConflict expected to fail, now passes
    data["scenarios"][1]["verdict"] = "fail"
    (tmp_path / "results.json").write_text(json.dumps(data))
    s = by_id(A, tmp_path)["arp/duplicate_ip"]
    assert s.regressed and [c.name for c in s.checks if c.regressed] == ["NoAddressConflict"]


def test_a_report_against_itself_has_no_regression_and_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["diff", str(A), str(A)]) == 0
    assert capsys.readouterr().out.rstrip().endswith("no regression")


def test_the_command_exits_1_on_a_regression_in_every_format(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["diff", str(A), str(B)]) == 1
    assert "OutageBelow" in capsys.readouterr().out
    assert main(["diff", str(A), str(B), "--format", "markdown"]) == 1
    md = capsys.readouterr().out
    assert "| OutageBelow | pass | fail | pass | ❌ regressed |" in md
    assert "| outage_s | 0.07 | 6.2 | +6.13 |" in md
    assert "| `arp/migrate_with_garp` | pass | fail | ❌ regressed |" in md
    assert main(["diff", str(A), str(B / "results.json"), "--format", "json"]) == 1
    data = json.loads(capsys.readouterr().out)
    assert data["regressed"] is True
    mig = data["scenarios"][0]
    assert mig["id"] == "arp/migrate_with_garp" and mig["regressed"] is True
    assert {"name": "outage_s", "a": 0.07, "b": 6.2, "change": 6.13} in mig["metrics"]


def test_a_folder_without_results_is_refused_with_a_hint(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(UsageError, match="is not a report folder"):
        diff_reports(tmp_path, B)
    (tmp_path / "results.json").write_text("{")
    assert main(["diff", str(tmp_path), str(B)]) == 2
    err = capsys.readouterr().err
    assert "cannot read" in err and "Hint: give a report folder" in err
