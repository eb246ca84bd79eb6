"""`opslab rejudge` on canned report folders: a fake run recorded through the real engine and report writer, judged
again as it was (nothing changes), then after a recorded value is edited (a check's verdict changes). Checks that
need the lab keep their old verdict and say so. No Docker."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from lab.checks import Check, CheckResult, Invariant, NoRecipe, OutageBelow, ServiceBackWithin, StepFailedWith
from lab.cli import main
from lab.errors import UsageError
from lab.procedure import Step
from lab.rejudge import NEEDS_LAB, load, rejudge, render
from lab.report import write_report
from lab.scenario import ScenarioRun
from lab.view import NeedsLab, RecordedView, RunView
from lab.workloads import Op, Workload


class Canned(Workload):
    """A workload whose operations are given: one answer every 0.1 s from `start` for `n` operations."""

    def __init__(self, start: float, n: int) -> None:
        self.ops = [Op(start + i * 0.1, True, f"seq={i}") for i in range(n)]

    def start(self, run: ScenarioRun) -> None:
        return None

    def stop(self, run: ScenarioRun) -> list[Op]:
        return list(self.ops)


class GatewayUp(Check):
    """Reads a host: cannot be judged from a report."""

    def evaluate(self, run: RunView) -> CheckResult:
        return self.result(run.host("gateway").run("true").succeeded, "gateway answers")


class Held(Invariant):
    def evaluate(self, run: RunView) -> CheckResult:
        return self.result(True, "held")


class Boom(Check):
    from_history = True

    def __init__(self, *args: Any) -> None:
        self.args = args

    def evaluate(self, run: RunView) -> CheckResult:
        return self.result(True, "fine when it ran")


def recorded(fake_lab: Any, tmp_path: Path) -> Path:
    """A report folder of one fake scenario: a step that fails as expected, traffic, a fault, five checks."""
    run = ScenarioRun("fake/rejudged", fake_lab)
    fake_lab.transports["old"].replies["promote"] = (11, "Multiple primaries not allowed by config")
    run.watch(Held())
    run.step(Step("old", "drbdadm promote", title="a second promotion"), check=False)
    t0 = time.time() - 2.5  # the traffic of the last 2.5 s, recorded at its stop as a real workload's is
    w = Canned(t0, 20)
    run.start(w)
    # the workload still runs: its operations are not recorded yet
    early = run.check(OutageBelow("Canned", 1.0), expect="unknown")
    assert early.verdict == "unknown"
    run.stop(w)
    run.metric("outage_s", 0.1)
    run.check(OutageBelow("Canned", 1.0, since=t0))
    run.check(StepFailedWith("a second promotion", "Multiple primaries"))
    run.check(ServiceBackWithin("Canned", 1.0, since=t0))
    run.check(GatewayUp())
    run.close()
    assert run.verdict() == "pass", run.summary()
    folder = tmp_path / "report"
    write_report(folder, [run.to_dict(1.0)])
    return folder


def edit_history(folder: Path, edit: Any) -> None:
    path = folder / "history.jsonl"
    events = [json.loads(line) for line in path.read_text().splitlines()]
    path.write_text("".join(json.dumps(edit(e)) + "\n" for e in events))


def test_a_run_rejudged_as_it_was_changes_nothing(fake_lab: Any, tmp_path: Path) -> None:
    folder = recorded(fake_lab, tmp_path)
    (s,) = rejudge(folder).scenarios
    by = {c.name: c for c in s.checks}
    assert s.old == s.new == "pass" and not s.changed
    # judged again from the history, each as it stood when first judged: same verdict, same detail
    for name in ("OutageBelow(1s)", "StepFailedWith('a second promotion', 'Multiple primaries')", "ServiceBackWithin"):
        assert by[name].rejudged and not by[name].changed, by[name]
    assert [c.new for c in s.checks if c.name == "OutageBelow(1s)"] == ["unknown", "pass"]
    # those that need the lab keep their verdict, said so, never as a new pass
    for name in ("GatewayUp", "Held"):
        assert not by[name].rejudged and by[name].new is None and by[name].why_not == NEEDS_LAB
    text = render(rejudge(folder))
    assert "fake/rejudged: pass (unchanged)" in text
    assert f"kept     GatewayUp: pass, old verdict kept — {NEEDS_LAB}" in text
    assert "checks: 4 rejudged (0 changed), 2 kept with their old verdict (not rejudged)" in text


def test_an_edited_recorded_value_changes_the_verdict(fake_lab: Any, tmp_path: Path) -> None:
    folder = recorded(fake_lab, tmp_path)
    # the client's operations 3..17 were in fact not answered: a silence of 1.5 s
    edit_history(folder, lambda e: {**e, "ok": False} if e["kind"] == "op" and 3 <= int(e["detail"][4:]) <= 17 else e)
    r = rejudge(folder)
    (s,) = r.scenarios
    assert r.changed and s.old == "pass" and s.new == "fail"
    outage = [c for c in s.checks if c.name == "OutageBelow(1s)"][1]
    assert (outage.old, outage.new) == ("pass", "fail") and "longest silence 1.60s" in outage.new_detail
    text = render(r)
    assert "fake/rejudged: pass → fail" in text
    assert "CHANGED  OutageBelow(1s): pass → fail — now: longest silence 1.60s" in text
    assert main(["rejudge", str(folder)]) == 1


def test_an_edited_step_output_changes_the_step_check(fake_lab: Any, tmp_path: Path) -> None:
    folder = recorded(fake_lab, tmp_path)
    data = json.loads((folder / "results.json").read_text())
    data["scenarios"][0]["steps"][0]["stderr"] = "State change failed: (-2) Need access to UpToDate data"
    (folder / "results.json").write_text(json.dumps(data))
    (s,) = rejudge(folder).scenarios
    step = next(c for c in s.checks if c.name.startswith("StepFailedWith"))
    assert (step.old, step.new) == ("pass", "fail") and "no 'Multiple primaries' in its output" in step.new_detail
    assert s.new == "fail"


def test_a_check_that_breaks_today_makes_its_scenario_an_error(
    fake_lab: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run = ScenarioRun("fake/boom", fake_lab)
    run.check(Boom())
    run.close()
    folder = tmp_path / "r"
    write_report(folder, [run.to_dict(1.0)])

    def broken(self: Boom, run: RunView) -> CheckResult:
        raise KeyError("vip")

    monkeypatch.setattr(Boom, "evaluate", broken)
    (s,) = rejudge(folder).scenarios
    assert s.new == "error" and s.broke == "Boom raised KeyError: 'vip'"
    assert s.checks[0].why_not == "cannot rejudge: it raised KeyError: 'vip'" and s.checks[0].new is None


def test_a_check_whose_class_is_gone_or_whose_run_kept_no_recipe_is_kept(fake_lab: Any, tmp_path: Path) -> None:
    folder = recorded(fake_lab, tmp_path)

    def rename(e: dict[str, Any]) -> dict[str, Any]:
        if e["kind"] == "check" and e["name"] == "ServiceBackWithin":
            e["judge"]["check"] = "lab.checks:ServiceBackSoon"
        if e["kind"] == "check" and e["name"].startswith("StepFailedWith"):
            del e["judge"]  # as a run before rejudge existed recorded it
        return e

    edit_history(folder, rename)
    (s,) = rejudge(folder).scenarios
    by = {c.name: c for c in s.checks}
    assert by["ServiceBackWithin"].why_not.startswith("cannot rejudge: lab.checks:ServiceBackSoon is gone")
    assert "recorded no recipe" in by["StepFailedWith('a second promotion', 'Multiple primaries')"].why_not
    assert s.new == "pass" and not s.changed


def test_a_run_that_broke_stays_an_error(fake_lab: Any, tmp_path: Path) -> None:
    run = ScenarioRun("fake/broke", fake_lab)
    run.check(StepFailedWith("nothing", "ran"), expect="fail")
    run.error = "the lab did not come up"
    run.close()
    folder = tmp_path / "r"
    write_report(folder, [run.to_dict(1.0)])
    (s,) = rejudge(folder).scenarios
    assert s.old == s.new == "error" and s.checks[0].rejudged


def test_the_recorded_view_has_no_lab() -> None:
    view = RecordedView({"id": "a/b", "started": 1.0}, [], {"gateway": "log\n"})
    with pytest.raises(NeedsLab, match="reads host gateway"):
        view.host("gateway")
    assert view.hosts == ("gateway",) and view.host_logs() == {"gateway": "log\n"}


def test_the_recorded_view_sees_the_run_as_it_stood_then() -> None:
    scenario = {
        "id": "a/b",
        "started": 0.0,
        "faults": [{"name": "F", "detail": "", "invoked": 1.0, "healed": 5.0, "heal_ok": True, "heal_detail": "ok"}],
        "steps": [],
    }
    events = [
        {"t": 2.0, "kind": "op", "name": "W", "ok": True, "detail": "a"},
        {"t": 3.0, "kind": "workload", "name": "W", "detail": "stop: 1 operations"},
        {"t": 4.0, "kind": "metric", "name": "m", "detail": "1.0", "value": 1.23456},
    ]
    early, late = RecordedView(scenario, events, as_of=2.5), RecordedView(scenario, events)
    assert early.ops == {} and early.metrics == {} and early.faults[0].healed is None
    assert late.ops["W"] == (Op(2.0, True, "a"),) and late.metrics == {"m": 1.235} and late.faults[0].heal_ok


def test_recipes_make_the_same_check_again() -> None:
    c = StepFailedWith("title", "message", rc=3)
    again = Check.from_recipe(json.loads(json.dumps(c.recipe())))
    assert isinstance(again, StepFailedWith) and (again.title, again.message, again.rc) == ("title", "message", 3)
    odd = Boom(("a", 1), {"k": [1.5]}, {2, 1})  # tuples, dicts and sets survive JSON
    again_odd = Check.from_recipe(json.loads(json.dumps(odd.recipe())))
    assert isinstance(again_odd, Boom) and again_odd.args == (("a", 1), {"k": [1.5]}, {1, 2})
    with pytest.raises(NoRecipe, match="an argument JSON cannot hold \\(object\\)"):
        OutageBelow(object(), 1.0).recipe()  # type: ignore[arg-type]
    with pytest.raises(NoRecipe, match="is not a check"):
        Check.from_recipe({"check": "lab.errors:UsageError", "args": ["x"]})
    with pytest.raises(NoRecipe, match="no longer takes the recorded arguments"):
        Check.from_recipe({"check": "lab.checks:OutageBelow", "args": [], "kwargs": {"limit": 1}})


def test_a_bad_report_folder_is_refused_with_a_hint(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["rejudge", str(tmp_path / "nope")]) == 2
    err = capsys.readouterr().err
    assert "is not a report folder (no such folder)" in err and "\nHint: " in err and "Traceback" not in err
    (tmp_path / "results.json").write_text('{"scenarios": []}')
    with pytest.raises(UsageError, match="is not a report folder \\(a file, not a folder\\)"):
        load(tmp_path / "results.json")
    with pytest.raises(UsageError, match="no history.jsonl in it"):
        load(tmp_path)
    (tmp_path / "history.jsonl").write_text('{"t": 1, "kind": "note", "name": "n"}\nnot json\n')
    with pytest.raises(UsageError, match="cannot read .*history.jsonl"):
        load(tmp_path)
    (tmp_path / "results.json").write_text('{"verdict": "pass"}')
    with pytest.raises(UsageError, match="cannot read .*results.json: KeyError"):
        load(tmp_path)


def test_every_check_declared_judgeable_from_history_reads_no_host() -> None:
    import importlib
    import inspect
    import pkgutil

    import scenarios

    labs = [f"scenarios.{m.name}.checks" for m in pkgutil.iter_modules(scenarios.__path__)]
    declared = []
    for name in ["lab.checks", "lab.ansible.checks", *labs]:
        module = importlib.import_module(name)
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if issubclass(cls, Check) and cls.__module__ == name and cls.from_history:
                assert not issubclass(cls, Invariant), cls
                assert "run.host(" not in inspect.getsource(cls), f"{cls.__name__} reads a host"
                declared.append(cls.__name__)
    assert {"OutageBelow", "StepFailedWith", "ServiceBackWithin", "TasksRan"} <= set(declared)
