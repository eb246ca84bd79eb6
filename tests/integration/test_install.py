"""opslab installed, not run from its checkout: a wheel carries every file a lab needs, and a fresh virtualenv
with that wheel lists the five labs and passes a scenario from a folder that is not the checkout.

Slow (a wheel build and a virtualenv with opslab's dependencies, from the package index pip is set up with), so it
is an integration test; the same round trip for a lab from another package is examples/keepalived in `make test`.
"""

from __future__ import annotations

import json
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest

from lab.spec import ROOT

pytestmark = pytest.mark.docker


def tracked(*folders: str) -> set[str]:
    out = subprocess.run(["git", "ls-files", *folders], cwd=ROOT, capture_output=True, text=True, check=True)
    return {line for line in out.stdout.splitlines() if "__pycache__" not in line}


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    build = tmp_path_factory.mktemp("src")
    # build from a clean copy of the tracked files, as `pip install .` of a fresh clone would
    subprocess.run(f"git ls-files -z | xargs -0 cp --parents -t {build}", shell=True, cwd=ROOT, check=True)
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(out), str(build)], check=True, timeout=600
    )
    [found] = out.glob("opslab-*.whl")
    return found


def test_the_wheel_carries_every_lab_file(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    files = tracked("compose", "fixtures", "sims") | {".dockerignore"}
    missing = sorted(f for f in files if f"opslab_files/{f}" not in names)
    assert not missing, f"not in the wheel: {missing[:10]}"
    assert not [n for n in names if "__pycache__" in n]
    scenarios = tracked("scenarios")
    assert not sorted(f for f in scenarios if f.endswith(".py") and f not in names)
    mode = zipfile.ZipFile(wheel).getinfo("opslab_files/compose/arp/entrypoint.sh").external_attr >> 16
    assert mode & 0o111, "an entrypoint lost its executable bit"


def test_installed_it_lists_the_labs_and_passes_a_scenario_elsewhere(wheel: Path, tmp_path: Path) -> None:
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    bin_dir = env_dir / "bin"
    subprocess.run([bin_dir / "pip", "install", "-q", str(wheel)], check=True, timeout=900)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    listed = subprocess.run([bin_dir / "opslab", "list"], cwd=elsewhere, capture_output=True, text=True, timeout=120)
    assert listed.returncode == 0, listed.stderr
    labs = [line.split(":")[0] for line in listed.stdout.splitlines() if line and not line.startswith(" ")]
    assert labs == ["arp", "drbd", "mirror", "mysql", "openvpn"]
    assert listed.stdout.count("from opslab 0.1.0 (opslab.labs:") == 5
    ran = subprocess.run(
        [bin_dir / "opslab", "run", "arp/migrate_with_garp"], cwd=elsewhere, capture_output=True, text=True, timeout=600
    )
    assert ran.returncode == 0, ran.stdout[-3000:] + ran.stderr[-2000:]
    [report] = (elsewhere / "reports").iterdir()  # the report went to ./reports/<time>/ of the current folder
    results = json.loads((report / "results.json").read_text())
    assert [(s["id"], s["verdict"]) for s in results["scenarios"]] == [("arp/migrate_with_garp", "pass")]
    assert (
        "site-packages/opslab_files/compose/arp"
        in subprocess.run(
            [bin_dir / "python", "-c", "from lab.spec import get_spec; print(get_spec('arp').compose_dir)"],
            cwd=elsewhere,
            capture_output=True,
            text=True,
        ).stdout
    )
