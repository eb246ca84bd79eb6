"""`opslab new lab NAME` writes a lab package that follows opslab's conventions and whose own tests pass.

The round trip with Docker (`pip install ./NAME && opslab run NAME`) is examples/keepalived's and `make test`'s;
here: what is written, that it loads as a lab definition, that its unit tests pass, and what is refused.
"""

from __future__ import annotations

import importlib
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from lab.cli import main
from lab.errors import UsageError
from lab.registry import LabDefinition
from lab.scaffold import new_lab


@pytest.fixture
def made(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    new_lab("demolab", tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path / "demolab"))
    yield tmp_path / "demolab"
    for name in [m for m in sys.modules if m == "demolab" or m.startswith("demolab.")]:
        del sys.modules[name]


def test_the_package_registers_its_lab_by_entry_point(made: Path) -> None:
    text = (made / "pyproject.toml").read_text()
    assert '[project.entry-points."opslab.labs"]\ndemolab = "demolab.definition:LAB"' in text
    assert (made / "README.md").read_text().startswith("# demolab")


def test_it_loads_as_a_lab_definition_with_two_scenarios(made: Path) -> None:
    lab = importlib.import_module("demolab.definition").LAB
    assert isinstance(lab, LabDefinition) and lab.spec.name == "demolab"
    assert list(lab.procedures) == ["deploy", "deploy_without_switch"] and set(lab.plans) == {"deploy"}
    [tests] = lab.scenario_files()
    assert "def test_deploy(scenario" in tests.read_text() and 'expect={"RunsRelease": "fail"}' in tests.read_text()
    assert lab.spec.param_values() == {"first_release": 1}
    assert lab.spec.hosts == ["server"] and lab.spec.networks == ["lan"]


def test_its_compose_file_follows_the_conventions(made: Path) -> None:
    compose = made / "demolab" / "compose"
    server = yaml.safe_load((compose / "compose.yaml").read_text())["services"]["server"]
    assert server["pull_policy"] == "never" and "build" in server
    assert server["healthcheck"]["test"] == ["CMD", "test", "-f", "/run/opslab-ready"]
    assert server["networks"]["lan"]["ipv4_address"].startswith("${LAN_NET:-")
    assert "touch /run/opslab-ready" in (compose / "entrypoint.sh").read_text()
    assert (compose / "entrypoint.sh").stat().st_mode & 0o111


def test_its_unit_tests_of_the_check_pass(made: Path) -> None:
    p = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"],
        cwd=made,
        capture_output=True,
        text=True,
        timeout=120,
        env={"PYTHONPATH": str(made), "PATH": "/usr/bin:/bin"},
    )
    assert p.returncode == 0 and "5 passed" in p.stdout, p.stdout + p.stderr


@pytest.mark.parametrize(
    ("name", "says"),
    [("Bad-Name", "cannot name a lab"), ("class", "cannot name a lab"), ("arp", "a lab named arp is installed")],
)
def test_a_bad_or_taken_name_is_refused_before_anything_is_written(tmp_path: Path, name: str, says: str) -> None:
    with pytest.raises(UsageError, match=says) as e:
        new_lab(name, tmp_path)
    assert e.value.hint and not list(tmp_path.iterdir())


def test_an_existing_folder_is_never_overwritten(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "demolab").mkdir()
    assert main(["new", "lab", "demolab", "--dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "exists already" in err and "Hint:" in err and not list((tmp_path / "demolab").iterdir())
