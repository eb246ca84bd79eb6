"""The command line's errors: one line and a Hint, a non-zero exit, never a traceback."""

import subprocess
import sys

import pytest

from lab.cli import main


def test_run_an_unknown_lab(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "nosuchlab"]) == 2
    err = capsys.readouterr().err
    assert "no lab or scenario named 'nosuchlab'" in err and "Hint: labs: arp" in err and "Traceback" not in err


def test_run_an_unknown_scenario(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "arp/nosuch"]) == 2
    assert "its scenarios: arp/migrate_without_garp" in capsys.readouterr().err


def test_a_bad_param_and_a_bad_procedure_file(capsys: pytest.CaptureFixture[str], tmp_path) -> None:  # type: ignore[no-untyped-def]
    assert main(["up", "arp", "--param", "novalue"]) == 2
    assert "is not KEY=VALUE" in capsys.readouterr().err
    assert main(["run", "arp", "--procedure", str(tmp_path / "nope.sh")]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_list_shows_labs_and_ids(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    assert "arp/migrate_with_garp" in out and "procedures:" in out


def test_rehearse_without_a_terminal_asks_for_yes() -> None:
    p = subprocess.run(
        [sys.executable, "-m", "lab", "rehearse", "arp", "migrate_with_garp"],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
    )
    assert p.returncode == 2 and "Hint:" in p.stderr and "--yes" in p.stderr and "Traceback" not in p.stderr


def test_run_refuses_a_malformed_param_before_any_lab_starts(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "arp", "--param", "novalue"]) == 2
    err = capsys.readouterr().err
    assert "is not KEY=VALUE" in err and "Hint:" in err


def test_run_refuses_an_unknown_resolver_mode_before_any_lab_starts(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPSLAB_RESOLVER", "blackhol")
    assert main(["run", "arp"]) == 2
    err = capsys.readouterr().err
    assert "unknown resolver mode 'blackhol'" in err and "Hint: use one of: machine, blackhole" in err
    assert "Traceback" not in err
