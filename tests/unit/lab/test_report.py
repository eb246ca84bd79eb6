"""Tests for lab/report.py: the report folder a run leaves behind (no Docker)."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from lab.report import worst, write_report

T0 = 1_700_000_000.0
EVIL = "<script>alert('x')</script> & \"quotes\""


def _step(host: str, command: str, started: float, *, ok: bool = True, rc: int = 0, **kw: Any) -> dict[str, Any]:
    return {
        "host": host,
        "command": command,
        "title": kw.get("title", command),
        "rc": rc,
        "ok": ok,
        "started": started,
        "duration_s": kw.get("duration_s", 0.5),
        "stdout": kw.get("stdout", ""),
        "stderr": kw.get("stderr", ""),
    }


def _event(t: float, kind: str, name: str, **kw: Any) -> dict[str, Any]:
    return {
        "t": t,
        "kind": kind,
        "name": name,
        "host": kw.pop("host", None),
        "ok": kw.pop("ok", None),
        "detail": kw.pop("detail", ""),
        **kw,
    }


def _passing() -> dict[str, Any]:
    start = T0
    ops = [_event(start + 1 + i * 0.5, "op", "write", ok=True) for i in range(6)]
    return {
        "id": "arp/migrate_with_garp",
        "lab": "arp",
        "verdict": "pass",
        "duration_s": 5.0,
        "started": start,
        "project": "opslab-arp-3f2a1c",
        "description": "Move the service IP with a gratuitous ARP.",
        "steps": [
            _step("old", "ip addr del 10.0.0.10/24 dev eth0", start + 0.5),
            _step("new", "ip addr add 10.0.0.10/24 dev eth0", start + 1.5, stdout="added\n"),
        ],
        "faults": [],
        "checks": [
            {
                "name": "ClientReachesNewServer",
                "verdict": "pass",
                "detail": "mac matches",
                "expected": "pass",
                "evidence": {"mac": "02:42:ac:11:00:03"},
            },
        ],
        "metrics": {"lost_writes": 0, "unavailable_s": 0.0},
        "error": None,
        # Deliberately out of order: the history file must sort it.
        "history": [
            _event(start + 4.5, "check", "ClientReachesNewServer", ok=True),
            *ops,
            _event(start + 0.1, "lab", "up", detail="project opslab-arp-3f2a1c"),
        ],
        "logs": {"old": "old booted\nold serving", "client": "client up\n"},
    }


def _failing() -> dict[str, Any]:
    start = T0 + 2.25  # interleaves with the first scenario in time
    ops = [_event(start + 1 + i * 0.5, "op", "write", ok=not (3 <= i <= 6)) for i in range(10)]
    return {
        "id": "arp/stale_arp_without_garp",
        "lab": "arp",
        "verdict": "fail",
        "duration_s": 7.5,
        "started": start,
        "project": "opslab-arp-99aa00",
        "description": f"Stale ARP cache. {EVIL}",
        "steps": [
            _step("old", "ip addr del 10.0.0.10/24 dev eth0", start + 0.5),
            _step("new", f"echo '{EVIL}'", start + 2.0, ok=False, rc=3, stderr=f"boom {EVIL}\x1b[0m\x00"),
        ],
        "faults": [
            {
                "name": "DropGratuitousArp",
                "detail": "drop arp on gw",
                "invoked": start + 1.0,
                "healed": start + 5.0,
                "heal_ok": True,
            },
        ],
        "checks": [
            {
                "name": "ClientReachesNewServer",
                "verdict": "fail",
                "detail": f"stale mac {EVIL}",
                "expected": "pass",
                "evidence": {"neigh": EVIL},
            },
            # Expected failure observed: this one matches and must not be reported as failing.
            {
                "name": "StaleArpDetected",
                "verdict": "fail",
                "detail": "stale entry seen",
                "expected": "fail",
                "evidence": {},
            },
        ],
        "metrics": {"lost_writes": 4, "unavailable_s": 1.5},
        "error": None,
        "history": [
            *ops,
            _event(start + 1.0, "fault", "DropGratuitousArp", ok=True),
            _event(start + 5.0, "heal", "DropGratuitousArp", ok=True),
            _event(start + 6.0, "metric", "unavailable_s", detail="1.5 s", value=1.5),
            _event(start + 6.5, "note", "operator", detail=f"note {EVIL}"),
            _event(start + 7.0, "check", "ClientReachesNewServer", ok=False),
        ],
        "logs": {"old": "old says bye\n", "gw/router": "gw forwarding\n"},
    }


def _erroring() -> dict[str, Any]:
    start = T0 + 20
    return {
        "id": "mysql/rebuild_from_master",
        "lab": "mysql",
        "verdict": "error",
        "duration_s": 1.25,
        "started": start,
        "project": "opslab-mysql-123456",
        "description": "",
        "steps": [],
        "faults": [],
        "checks": [],
        "metrics": {},
        "error": "LabError: master did not become healthy within 60 s",
        "history": [_event(start + 0.2, "lab", "up", ok=False, detail="timeout")],
        "logs": {"old": "mysql old log\n"},
    }


@pytest.fixture
def scenarios() -> list[dict[str, Any]]:
    return [_passing(), _failing(), _erroring()]


@pytest.fixture
def folder(tmp_path: Path, scenarios: list[dict[str, Any]]) -> Path:
    out = write_report(tmp_path / "report", scenarios, title=f"nightly {EVIL}")
    assert out == tmp_path / "report"
    return out


@pytest.mark.parametrize(
    ("verdicts", "expected"),
    [
        ([], "unknown"),
        (["pass"], "pass"),
        (["pass", "unknown"], "unknown"),
        (["unknown", "fail", "pass"], "fail"),
        (["fail", "error", "pass"], "error"),
        (iter(["pass", "pass"]), "pass"),
        (["pass", "bogus"], "error"),
    ],
)
def test_worst_ranks_error_fail_unknown_pass(verdicts: Any, expected: str) -> None:
    assert worst(verdicts) == expected


def test_writes_every_file_and_no_temporaries(folder: Path) -> None:
    names = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*"))
    assert names == [
        "history.jsonl",
        "junit.xml",
        "logs",
        "logs/arp",
        "logs/arp/migrate_with_garp",
        "logs/arp/migrate_with_garp/client.log",
        "logs/arp/migrate_with_garp/old.log",
        "logs/arp/stale_arp_without_garp",
        "logs/arp/stale_arp_without_garp/gw_router.log",
        "logs/arp/stale_arp_without_garp/old.log",
        "logs/mysql",
        "logs/mysql/rebuild_from_master",
        "logs/mysql/rebuild_from_master/old.log",
        "report.html",
        "results.json",
    ]


def test_results_json_has_the_contract_keys_summary_and_worst_verdict(folder: Path) -> None:
    results = json.loads((folder / "results.json").read_text())
    assert results["verdict"] == "error"
    assert results["summary"] == {"total": 3, "pass": 1, "fail": 1, "unknown": 0, "error": 1}
    entries = results["scenarios"]
    assert [e["id"] for e in entries] == [
        "arp/migrate_with_garp",
        "arp/stale_arp_without_garp",
        "mysql/rebuild_from_master",
    ]
    expected_keys = {
        "id",
        "lab",
        "verdict",
        "duration_s",
        "steps",
        "faults",
        "checks",
        "metrics",
        "description",
        "project",
        "started",
        "params",
        "facts",
        "watch",
        "error",
    }
    for entry in entries:
        assert set(entry) == expected_keys
        for check in entry["checks"]:
            assert set(check) == {"name", "verdict", "detail", "expected", "evidence"}
    failing = entries[1]
    assert failing["verdict"] == "fail"
    assert failing["checks"][0]["evidence"] == {"neigh": EVIL}
    assert failing["metrics"] == {"lost_writes": 4, "unavailable_s": 1.5}
    assert failing["faults"][0]["name"] == "DropGratuitousArp"
    assert failing["steps"][1]["rc"] == 3
    assert entries[2]["error"] == "LabError: master did not become healthy within 60 s"
    assert entries[0]["project"] == "opslab-arp-3f2a1c"


def test_results_json_is_strict_json_even_with_nan_metrics(tmp_path: Path) -> None:
    scenario = _passing()
    scenario["metrics"] = {"ratio": float("nan"), "n": 2}
    write_report(tmp_path, [scenario])
    text = (tmp_path / "results.json").read_text()
    assert "NaN" not in text
    assert json.loads(text)["scenarios"][0]["metrics"] == {"ratio": None, "n": 2}


def test_empty_run_is_unknown(tmp_path: Path) -> None:
    write_report(tmp_path, [])
    results = json.loads((tmp_path / "results.json").read_text())
    assert results == {
        "verdict": "unknown",
        "summary": {"total": 0, "pass": 0, "fail": 0, "unknown": 0, "error": 0},
        "scenarios": [],
    }
    suite = ET.parse(tmp_path / "junit.xml").getroot()
    assert suite.get("tests") == "0"
    assert (tmp_path / "history.jsonl").read_text() == ""


def test_junit_counts_failures_and_errors(folder: Path) -> None:
    suite = ET.parse(folder / "junit.xml").getroot()
    assert suite.tag == "testsuite"
    assert suite.get("name") == "opslab"
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors"), suite.get("skipped")) == (
        "3",
        "1",
        "1",
        "0",
    )
    cases = {c.get("name"): c for c in suite.findall("testcase")}
    assert set(cases) == {"arp/migrate_with_garp", "arp/stale_arp_without_garp", "mysql/rebuild_from_master"}
    assert cases["mysql/rebuild_from_master"].get("classname") == "mysql"
    assert cases["arp/stale_arp_without_garp"].get("time") == "7.500"

    passing = cases["arp/migrate_with_garp"]
    assert passing.find("failure") is None and passing.find("error") is None
    assert "[pass] ClientReachesNewServer" in (passing.findtext("system-out") or "")

    failure = cases["arp/stale_arp_without_garp"].find("failure")
    assert failure is not None
    message = failure.get("message") or ""
    assert "ClientReachesNewServer" in message
    # A check that failed as expected is not a failure of the scenario.
    assert "StaleArpDetected" not in message
    assert "StaleArpDetected" not in (failure.text or "")
    assert "step failed on new" in (failure.text or "")
    assert EVIL in (failure.text or "")  # escaped on write, intact after parsing
    out = cases["arp/stale_arp_without_garp"].findtext("system-out") or ""
    assert "StaleArpDetected" in out and "ClientReachesNewServer" in out

    error = cases["mysql/rebuild_from_master"].find("error")
    assert error is not None
    assert error.get("message") == "LabError: master did not become healthy within 60 s"


def test_junit_unknown_is_a_failure_and_control_characters_keep_it_valid(tmp_path: Path) -> None:
    scenario = _passing()
    scenario["verdict"] = "unknown"
    scenario["checks"][0]["verdict"] = "unknown"
    scenario["checks"][0]["detail"] = "terminal junk \x1b[31m\x00\x07"
    write_report(tmp_path, [scenario])
    suite = ET.parse(tmp_path / "junit.xml").getroot()  # raises if the control characters leaked
    assert suite.get("skipped") == "0" and suite.get("failures") == "1" and suite.get("errors") == "0"
    assert suite.find("testcase/skipped") is None  # never green in CI
    failure = suite.find("testcase/failure")
    assert failure is not None
    assert failure.get("message") == "verdict unknown: check(s) could not decide: ClientReachesNewServer"


def test_history_is_every_event_sorted_by_time_with_its_scenario(folder: Path, scenarios: list[Any]) -> None:
    lines = (folder / "history.jsonl").read_text().splitlines()
    events = [json.loads(line) for line in lines]
    assert len(events) == sum(len(s["history"]) for s in scenarios)
    times = [e["t"] for e in events]
    assert times == sorted(times)
    assert {e["scenario"] for e in events} == {s["id"] for s in scenarios}
    # Scenarios overlap in time, so sorting interleaves them rather than concatenating.
    order = [e["scenario"] for e in events]
    assert order.index("arp/stale_arp_without_garp") < len(order) - 1 - order[::-1].index("arp/migrate_with_garp")
    assert events[0] == {
        "t": T0 + 0.1,
        "kind": "lab",
        "name": "up",
        "host": None,
        "ok": None,
        "detail": "project opslab-arp-3f2a1c",
        "scenario": "arp/migrate_with_garp",
    }
    metric = next(e for e in events if e["kind"] == "metric")
    assert metric["value"] == 1.5  # extra keys survive


def test_host_logs_are_kept_per_scenario(folder: Path) -> None:
    logs = folder / "logs"
    assert (logs / "arp/migrate_with_garp/old.log").read_text().startswith("old booted\nold serving\n")
    assert "old says bye" in (logs / "arp/stale_arp_without_garp/old.log").read_text()
    assert "mysql old log" in (logs / "mysql/rebuild_from_master/old.log").read_text()
    assert (logs / "arp/stale_arp_without_garp/gw_router.log").read_text() == "gw forwarding\n"
    assert "old says bye" not in (logs / "arp/migrate_with_garp/old.log").read_text()


def test_host_names_that_sanitize_alike_do_not_overwrite(tmp_path: Path) -> None:
    scenario = _erroring()
    scenario["logs"] = {"a/b": "slash\n", "a_b": "underscore\n", "..": "dots\n"}
    write_report(tmp_path, [scenario])
    folder = tmp_path / "logs" / "mysql" / "rebuild_from_master"
    texts = [p.read_text() for p in sorted(folder.iterdir())]
    assert len(texts) == 3
    assert sum("slash" in t for t in texts) == 1 and sum("underscore" in t for t in texts) == 1
    assert all(p.is_file() for p in folder.iterdir())


def test_html_is_self_contained_escaped_and_has_timelines(folder: Path) -> None:
    page = (folder / "report.html").read_text()
    for scenario_id in ("arp/migrate_with_garp", "arp/stale_arp_without_garp", "mysql/rebuild_from_master"):
        assert scenario_id in page
    assert page.count("<svg") == 3
    assert "<script" not in page
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in page
    assert "src=" not in page and "<link" not in page
    assert "LabError: master did not become healthy within 60 s" in page
    assert "<details>" in page and "<code>" in page
    # Overall verdict in the header, and one badge per verdict kind in the counts.
    assert re.search(r'<h1>nightly .*<span class="badge v-error">error</span></h1>', page)


def test_html_timeline_shows_outage_window_fault_span_and_op_ticks(folder: Path) -> None:
    page = (folder / "report.html").read_text()
    failing = page[page.index('id="s1-arp-stale_arp_without_garp"') : page.index('id="s2-')]
    svg = failing[failing.index("<svg") : failing.index("</svg>")]
    # Ops 3..6 failed (t = +2.5 .. +4.0 s): one outage window of 1.5 s.
    assert "unavailable 1.50s: 4 failed operation(s)" in svg
    assert svg.count('stroke="#c5221f" stroke-width="1.5"') == 4
    assert svg.count('stroke="#1e8e3e" stroke-width="1.5"') == 6
    assert "DropGratuitousArp: drop arp on gw (+1.00s → +5.00s)" in svg
    assert "1 unavailable window(s), longest 1.50 s" in failing
    # Metric and note events are listed, escaped.
    assert "unavailable_s" in failing and "note &lt;script&gt;" in failing
    passing = page[page.index('id="s0-') : page.index('id="s1-')]
    assert "unavailable window" in passing and "0 failed" in passing
    assert "unavailable 0" not in passing


def test_rewriting_a_folder_replaces_the_files(tmp_path: Path) -> None:
    write_report(tmp_path, [_failing()])
    write_report(tmp_path, [_passing()])
    results = json.loads((tmp_path / "results.json").read_text())
    assert results["verdict"] == "pass"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_html_timeline_separates_outage_windows(tmp_path: Path) -> None:
    scenario = _failing()
    pattern = [True, False, False, True, True, False, True, None]
    start = scenario["started"]
    scenario["history"] = [_event(start + i, "op", "write", ok=ok) for i, ok in enumerate(pattern)]
    write_report(tmp_path, [scenario])
    page = (tmp_path / "report.html").read_text()
    assert "2 unavailable window(s), longest 1.00 s" in page
    assert "unavailable 1.00s: 2 failed operation(s) from +1.00s to +2.00s" in page
    assert "unavailable 0.00s: 1 failed operation(s) from +5.00s to +5.00s" in page
    assert page.count('stroke="#9aa0a6" stroke-width="1.5"') == 1  # outcome unknown: grey, not an outage


def test_a_fault_left_in_place_is_named_in_the_faults_table(tmp_path: Path) -> None:
    scenario = _failing()
    scenario["verdict"] = "error"
    scenario["faults"] = [
        {
            "name": "DropArp",
            "detail": "drop arp on gw",
            "invoked": scenario["started"] + 1.0,
            "healed": scenario["started"] + 5.0,
            "heal_ok": False,
            "heal_detail": "still in place 10s after its heal: gateway: nft table arp opslab_fault still drops ARP",
        }
    ]
    out = write_report(tmp_path / "report", [scenario])
    page = (out / "report.html").read_text()
    assert "FAILED — still in place 10s after its heal: gateway: nft table arp opslab_fault still drops ARP" in page
    entry = json.loads((out / "results.json").read_text())["scenarios"][0]
    assert entry["faults"][0]["heal_ok"] is False and "still drops ARP" in entry["faults"][0]["heal_detail"]


def test_a_labs_kept_files_land_under_files_per_scenario(tmp_path: Path) -> None:
    kept = tmp_path / "copied" / "client" / "mirror" / "example.org"
    kept.mkdir(parents=True)
    (kept / "index.html").write_text("<h1>offline</h1>")
    scenario = {**_passing(), "files": str(tmp_path / "copied")}
    out = write_report(tmp_path / "r", [scenario, _failing()])
    lab, name = scenario["id"].split("/", 1)
    assert (out / "files" / lab / name / "client" / "mirror" / "example.org" / "index.html").read_text() == (
        "<h1>offline</h1>"
    )
    assert "files" not in json.loads((out / "results.json").read_text())["scenarios"][0]


def test_a_file_that_cannot_be_kept_is_noted_not_judged(fake_lab: Any) -> None:
    from dataclasses import replace

    from lab.scenario import ScenarioRun

    fake_lab.spec = replace(fake_lab.spec, keep_files=(("client", "/srv/nothing"),))

    def copy_out(host: str, path: str, dest: Path) -> None:
        raise FileNotFoundError(path)

    fake_lab.copy_out = copy_out
    run = ScenarioRun("fake/x", fake_lab)
    run.close()
    assert run.error is None
    assert any("could not keep client:/srv/nothing" in e.detail for e in run.history.events("note"))


def test_a_matrix_run_has_one_column_per_combination_with_its_server_version(tmp_path: Path) -> None:
    runs = []
    for engine, verdict, version in (("a-1", "pass", "1.0.3"), ("b-2", "fail", "2.1.0")):
        for name in ("mysql/rebuild", "mysql/gtid"):
            s = _passing()
            s.update(
                id=f"{name}[engine={engine}]",
                verdict=verdict,
                params={"engine": engine},
                facts={"server_version": version},
            )
            runs.append(s)
    page = (write_report(tmp_path, runs[:3]) / "report.html").read_text()
    head = page.split("<h3>Matrix</h3>")[1].split("</thead>")[0]
    assert "<th>engine=a-1<br>" in head and "1.0.3" in head and "<th>engine=b-2<br>" in head and "2.1.0" in head
    rows = page.split("<h3>Matrix</h3>")[1].split("</table>")[0].split("<tr>")[2:]
    assert len(rows) == 2 and rows[0].count("v-pass") == 1 and rows[0].count("v-fail") == 1
    assert "not run" in rows[1]  # mysql/gtid ran on a-1 only


def test_a_run_without_matrix_has_no_matrix_table(folder: Path) -> None:
    assert "<h3>Matrix</h3>" not in (folder / "report.html").read_text()


def test_the_temporary_copies_of_kept_files_are_removed_once_reported(tmp_path: Path) -> None:
    import tempfile

    from lab.files import KEPT_COPY_PREFIX
    from lab.report import discard_kept_copies, write_report

    copy = Path(tempfile.mkdtemp(prefix=KEPT_COPY_PREFIX))
    (copy / "client").mkdir()
    (copy / "client" / "index.html").write_text("mirrored")
    merged = tmp_path / "earlier" / "files" / "mirror" / "scope"  # a report's own folder, as merge passes it on
    merged.mkdir(parents=True)
    scenarios = [
        {"id": "mirror/mirror_site", "lab": "mirror", "verdict": "pass", "files": str(copy)},
        {"id": "mirror/scope", "lab": "mirror", "verdict": "pass", "files": str(merged)},
    ]
    out = write_report(tmp_path / "report", scenarios)
    discard_kept_copies(scenarios)
    assert (out / "files" / "mirror" / "mirror_site" / "client" / "index.html").read_text() == "mirrored"
    assert not copy.exists() and merged.exists()
