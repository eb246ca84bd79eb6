"""Judges cannot act: a check gets a RunView, which has no doer in it, and the type checker says so."""

import textwrap
from pathlib import Path
from typing import Any

import pytest

from lab.scenario import ScenarioRun
from lab.view import RunView

DOERS = ("step", "verify", "procedure", "fault", "inject", "heal", "start", "stop", "capture", "lab", "close",
         "metric", "note", "history", "wait_for", "watch", "check")


def test_a_view_reads_the_run_but_offers_none_of_its_doers(fake_lab: Any) -> None:
    run = ScenarioRun("fake/x", fake_lab)
    view = run.view
    assert isinstance(view, RunView)
    for doer in DOERS:
        assert not hasattr(view, doer), doer
    with pytest.raises(AttributeError):
        view.anything = 1  # type: ignore[attr-defined]
    with pytest.raises(TypeError):
        view.facts["vip"] = "10.0.0.9"  # type: ignore[index]
    run.metric("outage_s", 1.5)
    assert view.metrics == {"outage_s": 1.5}  # live: it sees the run as it is now
    with pytest.raises(TypeError):
        view.metrics["outage_s"] = 0.0  # type: ignore[index]


def test_the_type_checker_refuses_a_check_that_acts(tmp_path: Path) -> None:
    from mypy import api

    src = tmp_path / "acting_check.py"
    src.write_text(textwrap.dedent("""
        from lab.checks import Check, CheckResult
        from lab.view import RunView

        class Meddles(Check):
            def evaluate(self, run: RunView) -> CheckResult:
                run.step(None)
                run.host("old").run_background("sleep 1", "/tmp/log")
                return self.result(True, "")
    """))
    out, _err, status = api.run([str(src), "--no-incremental", "--cache-dir", str(tmp_path / "cache")])
    assert status == 1
    assert '"RunView" has no attribute "step"' in out
    assert '"Reader" has no attribute "run_background"' in out
