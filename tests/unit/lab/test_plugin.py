"""The plugin refuses bad `--opslab-*` input the way the command line does: one usage error, no lab started."""

import subprocess
import sys
from pathlib import Path

import pytest

from lab.spec import ROOT

# pytest on the scenarios in a child process whose Lab.up fails loudly, so a lab that starts shows in the output
RUN = """
import sys, pytest, lab.lifecycle
def up(self, **kw): raise SystemExit("A LAB WAS STARTED")
lab.lifecycle.Lab.up = up
sys.exit(pytest.main(sys.argv[1:]))
"""


def pytest_on_scenarios(*options: str, select: str = "arp") -> subprocess.CompletedProcess[str]:
    quiet = ["-q", "-p", "no:cacheprovider", "-W", "ignore::pytest.PytestAssertRewriteWarning"]
    argv = [sys.executable, "-c", RUN, str(ROOT / "scenarios" / select), *quiet, *options]
    return subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize(
    ("options", "says"),
    [
        (["--opslab-param", "nosuch=1"], "lab arp has no parameter 'nosuch'"),
        (["--opslab-param", "delay_first_probe_s=abc"], "delay_first_probe_s='abc' is not a whole number"),
        (["--opslab-param", "novalue"], "is not KEY=VALUE"),
        (["--opslab-report", "/proc/x"], "cannot make the report folder /proc/x"),
        (["--opslab-procedure", "/nonexistent/x.sh"], "procedure file /nonexistent/x.sh does not exist"),
        (["--opslab-procedure", "nosuch=/dev/null"], "lab arp has no procedure 'nosuch' to replace"),
    ],
)
def test_bad_options_are_one_usage_error_and_start_no_lab(options: list[str], says: str) -> None:
    p = pytest_on_scenarios(*options)
    text = (p.stdout + p.stderr).strip()
    assert p.returncode == pytest.ExitCode.USAGE_ERROR, text
    assert "ERROR: opslab: " in text and says in text and "\nHint: " in text
    assert "A LAB WAS STARTED" not in text and "Traceback" not in text
    assert len(text.splitlines()) <= 5, text


def test_a_scenarios_own_params_are_checked_with_the_command_lines(tmp_path: Path) -> None:
    """`lab_params(delay_first_probe_s="20")` with --opslab-param retrans_ms=5: the merged set is refused."""
    p = pytest_on_scenarios("-k", "garp_lost", "--opslab-param", "retrans_ms=5")
    assert p.returncode == pytest.ExitCode.USAGE_ERROR and "retrans_ms=5 is below its least value 10" in p.stderr


def test_a_matrix_runs_each_scenario_once_per_value_under_an_id_that_carries_it() -> None:
    p = pytest_on_scenarios("--collect-only", "--opslab-matrix", "engine=mariadb-10.11,mariadb-11.8", select="mysql")
    ids = [line for line in p.stdout.splitlines() if "test_rebuild_from_master" in line]
    assert p.returncode == 0, p.stdout + p.stderr
    assert [i.split("::")[-1] for i in ids] == [
        "test_rebuild_from_master[engine=mariadb-10.11]",
        "test_rebuild_from_master[engine=mariadb-11.8]",
    ]


@pytest.mark.parametrize(
    ("options", "says"),
    [
        (["--opslab-matrix", "engine=mariadb-10.11,mysql8"], "engine=mysql8 is not available"),
        (["--opslab-matrix", "engine=mariadb-11.8", "--opslab-param", "engine=mariadb-11.8"], "both alone"),
    ],
)
def test_a_bad_matrix_is_one_usage_error_and_starts_no_lab(options: list[str], says: str) -> None:
    p = pytest_on_scenarios(*options, select="mysql")
    text = (p.stdout + p.stderr).strip()
    assert p.returncode == pytest.ExitCode.USAGE_ERROR and says in text and "A LAB WAS STARTED" not in text, text
