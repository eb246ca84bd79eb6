"""The pytest plugin's verdicts, end to end through pytest itself, with a fake lab (no Docker).

A scenario's verdict must be the truth whatever breaks: a crash after a passing check is `error` (results.json,
junit.xml), an undecided scenario is not green in JUnit, a scenario past its deadline is `error` and its lab is
removed, a lab that does not come up is `error`.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

CONFTEST = """
import dataclasses
import pathlib

import pytest

import lab.plugin
import lab.registry
from lab.host import FakeTransport, Host

EVENTS = []
REAL_LABS = lab.registry.labs


def pytest_configure(config):
    # the fake scenarios are registered as the scenarios of arp and mysql, as another package's lab would be
    here = pathlib.Path(__file__).parent
    fake = {n: dataclasses.replace(d, scenarios=(here / "scenarios" / n).resolve()) for n, d in REAL_LABS().items()}
    lab.registry.labs = lambda: fake


def pytest_unconfigure(config):
    lab.registry.labs = REAL_LABS


class FakeLab:
    def __init__(self, spec, *, params=None, keep=False, progress=None):
        self.spec, self.keep, self.params = spec, keep, dict(params or {})
        self.env = spec.param_env(params)
        self.project = "opslab-fake-1"

    def up(self, *, build=True):
        EVENTS.append("up")
        if self.spec.name == "mysql":
            raise RuntimeError("compose exploded")
        return self

    def down(self):
        EVENTS.append("down")

    def host(self, name):
        return Host(name, name, FakeTransport())

    def container_name(self, name):
        return name

    def facts(self):
        return {}

    def logs(self):
        return {"old": "a log line\\n"}


@pytest.fixture(autouse=True)
def fake_lab(monkeypatch):
    monkeypatch.setattr(lab.plugin, "Lab", FakeLab)
    monkeypatch.setattr(lab.plugin, "build_lab", lambda spec, progress, **kw: [])
    yield
    with open("events.txt", "a") as fh:
        fh.write(" ".join(EVENTS) + "\\n")
    EVENTS.clear()
"""

SCENARIOS = """
import time

from lab.checks import Check, CheckResult


class Passes(Check):
    def evaluate(self, run):
        return self.result(True, "fine")


class Undecided(Check):
    def evaluate(self, run):
        return self.unknown("could not tell")


def test_crashes_after_a_passing_check(scenario):
    scenario.check(Passes())
    {}["boom"]


def test_undecided(scenario):
    scenario.check(Undecided())


def test_hangs(scenario):
    scenario.check(Passes())
    time.sleep(60)  # the hang under test: the 2 s deadline must cut it short


def test_passes(scenario):
    scenario.check(Passes())
"""


def run_scenarios(pytester: pytest.Pytester, *args: str) -> tuple[dict[str, dict], ET.Element]:
    pytester.makeconftest(CONFTEST)
    (pytester.path / "scenarios/arp").mkdir(parents=True, exist_ok=True)
    (pytester.path / "scenarios/arp/test_fake.py").write_text(SCENARIOS)
    (pytester.path / "scenarios/mysql").mkdir(exist_ok=True)
    (pytester.path / "scenarios/mysql/test_fake_mysql.py").write_text("def test_never_up(scenario):\n    pass\n")
    pytester.runpytest_inprocess("-p", "no:cacheprovider", "--opslab-report", "out", *args)
    data = json.loads((pytester.path / "out/results.json").read_text())
    junit = ET.parse(pytester.path / "out/junit.xml").getroot()
    return {s["id"]: s for s in data["scenarios"]}, junit


def case(junit: ET.Element, sid: str) -> ET.Element:
    found = [c for c in junit.iter("testcase") if c.get("name") == sid]
    assert found, f"no testcase {sid}"
    return found[0]


def test_verdicts_are_the_truth_whatever_breaks(pytester: pytest.Pytester) -> None:
    results, junit = run_scenarios(pytester, "--opslab-timeout", "2")

    crash = results["arp/crashes_after_a_passing_check"]
    assert crash["verdict"] == "error" and "KeyError: 'boom'" in crash["error"]
    assert case(junit, crash["id"]).find("error") is not None

    undecided = results["arp/undecided"]
    assert undecided["verdict"] == "unknown"
    tc = case(junit, undecided["id"])
    assert tc.find("skipped") is None and tc.find("failure") is not None
    assert "could not decide" in (tc.find("failure").get("message") or "")
    assert junit.get("skipped") == "0"

    hung = results["arp/hangs"]
    assert hung["verdict"] == "error" and "deadline of 2 s" in hung["error"]

    never_up = results["mysql/never_up"]
    assert never_up["verdict"] == "error" and "RuntimeError: compose exploded" in never_up["error"]

    assert results["arp/passes"]["verdict"] == "pass"
    assert case(junit, "arp/passes").find("failure") is None

    # every lab that was started was taken down, the hung one included
    events = (pytester.path / "events.txt").read_text().split()
    assert events.count("up") == 5 and events.count("down") == 5


def test_logs_are_kept_per_scenario(pytester: pytest.Pytester) -> None:
    run_scenarios(pytester, "-k", "passes or undecided")
    logs = pytester.path / "out" / "logs"
    assert (logs / "arp" / "passes" / "old.log").read_text() == "a log line\n"
    assert (logs / "arp" / "undecided" / "old.log").is_file()
    assert sorted(p.name for p in logs.iterdir()) == ["arp"]


def test_a_scenario_fixture_outside_scenarios_is_refused(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_x="def test_x(scenario):\n    pass\n")
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider")
    result.stdout.fnmatch_lines(["*the scenario fixture is for the scenario files of a lab*"])
    assert Path(pytester.path / "out").exists() is False


def test_parallel_workers_results_merge_into_one_report_in_the_selections_order(pytester: pytest.Pytester) -> None:
    """`pytest -n 2`: every worker's scenarios are in the one report the controller writes, in collection order,
    with their logs and history; no worker wrote a report of its own (the folder holds exactly the merged one)."""
    serial, _ = run_scenarios(pytester, "--opslab-timeout", "2")
    (pytester.path / "out").rename(pytester.path / "serial")
    parallel, junit = run_scenarios(pytester, "--opslab-timeout", "2", "-n", "2")
    assert list(parallel) == list(serial)  # the selection's order, all five
    assert {k: v["verdict"] for k, v in parallel.items()} == {k: v["verdict"] for k, v in serial.items()}
    assert [c.get("name") for c in junit.iter("testcase")] == list(serial)
    assert junit.get("tests") == "5" and junit.get("errors") == "3"
    history = [json.loads(line) for line in (pytester.path / "out/history.jsonl").read_text().splitlines()]
    assert {e["scenario"] for e in history} >= {"arp/passes", "arp/undecided"}
    assert (pytester.path / "out/logs/arp/passes/old.log").read_text() == "a log line\n"
    assert "opslab_result" not in (pytester.path / "out/junit.xml").read_text()


def test_a_scenario_whose_worker_dies_is_an_error_in_the_report(pytester: pytest.Pytester) -> None:
    """A worker killed in the middle of a scenario sends no result: the controller reports the scenario as `error`
    (naming the worker), never leaves it out, and the other scenarios are still there."""
    (pytester.path / "scenarios/arp").mkdir(parents=True)
    (pytester.path / "scenarios/arp/test_dies.py").write_text(
        "import os\n\ndef test_killed(scenario):\n    os._exit(3)\n"
    )
    results, junit = run_scenarios(pytester, "-n", "2", "-k", "killed or passes")
    assert list(results) == ["arp/killed", "arp/passes"]  # the selection's order: test_dies.py, then test_fake.py
    killed = results["arp/killed"]
    assert killed["verdict"] == "error" and "no result came back from worker gw" in killed["error"]
    assert results["arp/passes"]["verdict"] == "pass"
    assert case(junit, "arp/killed").find("error") is not None
