"""The command line's errors: a line or two and a Hint, a non-zero exit, never a traceback, and no lab started."""

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import NoReturn

import pytest

from lab import dockerapi
from lab.cli import main
from lab.lifecycle import Lab


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


# -- bad input of every kind is refused before any lab starts ---------------------------------------------------


@pytest.fixture
def nothing_may_start(monkeypatch: pytest.MonkeyPatch) -> None:
    """Bringing a lab up, running pytest or asking Docker fails the test: bad input is refused before all that."""

    def forbidden(what: str) -> Callable[..., NoReturn]:
        def fail(*args: object, **kwargs: object) -> NoReturn:
            raise AssertionError(f"{what} was called: the bad input was not refused first")

        return fail

    monkeypatch.setattr(Lab, "up", forbidden("Lab.up"))
    monkeypatch.setattr(pytest, "main", forbidden("pytest.main (a run)"))
    monkeypatch.setattr(dockerapi, "client", forbidden("the Docker engine"))


def refused(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    """Runs `opslab ARGV`; asserts a non-zero exit and a short message ending in a Hint, no traceback."""
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse's own refusals
        code = exc.code  # type: ignore[assignment]
    out, err = capsys.readouterr()
    text = (out + err).strip()
    assert code not in (0, None), text
    assert "Traceback" not in text
    assert len(text.splitlines()) <= 3, text
    assert text.splitlines()[-1].startswith("Hint: "), text
    return text


def write(path: Path, content: str | bytes, mode: int = 0o644) -> str:
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)
    path.chmod(mode)
    return str(path)


BAD_INPUT: list[tuple[str, list[str], str]] = [
    # (kind, argv, what the message says); `{tmp}` is a fresh folder
    ("parameter name", ["run", "arp", "--param", "nosuch=1"], "lab arp has no parameter 'nosuch'"),
    ("parameter malformed", ["run", "arp", "--param", "novalue"], "is not KEY=VALUE"),
    ("parameter type", ["run", "arp", "--param", "delay_first_probe_s=abc"], "'abc' is not a whole number"),
    ("parameter range", ["run", "arp", "--param", "delay_first_probe_s=-1"], "below its least value 0"),
    ("parameter value", ["run", "openvpn", "--param", "pi_tun_device=/dev/sda"], "is not one of its values"),
    ("parameters together", ["run", "drbd", "--param", "deadtime_s=0.3"], "heartbeat refuses a deadtime"),
    ("engine unknown", ["run", "mysql", "--param", "engine=nosuchengine"], "engine='nosuchengine' is not one"),
    ("engine not available", ["run", "mysql", "--param", "engine=mysql8"], "engine=mysql8 is not available"),
    ("report not creatable", ["run", "arp", "--report", "/proc/x"], "cannot make the report folder /proc/x"),
    ("report not writable", ["run", "arp", "--report", "/proc"], "cannot write in the report folder /proc"),
    ("report is a file", ["run", "arp", "--report", "{tmp}/file.txt"], "file.txt cannot be made: /"),
    ("report under a file", ["run", "arp", "--report", "{tmp}/file.txt/sub"], "/sub cannot be made: /"),
    ("procedure missing", ["run", "arp", "--procedure", "{tmp}/nope.sh"], "nope.sh does not exist"),
    ("procedure a folder", ["run", "arp", "--procedure", "{tmp}"], "is a folder"),
    ("procedure unreadable", ["run", "arp", "--procedure", "{tmp}/binary.steps"], "not UTF-8 text"),
    ("procedure not executable", ["run", "arp", "--procedure", "{tmp}/notes.txt"], "neither executable nor"),
    ("procedure interpreter", ["run", "arp", "--procedure", "{tmp}/nointerp"], "needs nosuchinterpreter"),
    ("runbook unknown host", ["run", "arp", "--procedure", "{tmp}/badhost.steps"], "no host 'nosuch' in this lab"),
    ("runbook bad line", ["run", "arp", "--procedure", "{tmp}/badline.steps"], "cannot read"),
    ("runbook empty", ["run", "arp", "--procedure", "{tmp}/empty.steps"], "has no steps"),
    ("procedure name", ["run", "arp", "--procedure", "nosuch={tmp}/ok.steps"], "no procedure 'nosuch' to replace"),
    ("target lab", ["run", "nosuchlab"], "no lab or scenario named 'nosuchlab'"),
    ("target scenario", ["run", "arp/nosuch"], "lab arp has no scenario 'arp/nosuch'"),
    ("target missing", ["run"], "the following arguments are required"),
    ("target params malformed", ["run", "mysql/gtid_trap[engine"], "is not LAB/SCENARIO[KEY=VALUE,...]"),
    ("target param not K=V", ["run", "mysql/gtid_trap[engine]"], "has 'engine', not KEY=VALUE"),
    ("target param value", ["run", "mysql/gtid_trap[engine=mysql8]"], "engine=mysql8 is not available"),
    (
        "target params disagree",
        ["run", "mysql/gtid_trap[engine=mariadb-11.8]", "--param", "engine=mariadb-10.11"],
        "sets engine=mariadb-11.8, but this run already has engine=mariadb-10.11",
    ),
    ("command unknown", ["nosuch"], "invalid choice: 'nosuch'"),
    ("shell host", ["shell", "arp", "nosuch"], "lab arp has no host 'nosuch'"),
    ("shell host of an instance", ["shell", "opslab-arp-0a1b2c", "nosuch"], "lab arp has no host 'nosuch'"),
    ("shell target", ["shell", "nosuch", "gateway"], "no lab or instance named 'nosuch'"),
    ("down target", ["down", "nosuch"], "no lab or instance named 'nosuch'"),
    ("rehearse lab", ["rehearse", "nosuch", "migrate_with_garp", "--yes"], "no lab named 'nosuch'"),
    ("rehearse procedure", ["rehearse", "arp", "nosuch", "--yes"], "lab arp has no procedure 'nosuch'"),
    ("rehearse parameter", ["rehearse", "arp", "migrate_with_garp", "--yes", "--param", "retrans_ms=x"], "not a whole"),
    ("up parameter", ["up", "mysql", "--param", "engine=mysql8"], "engine=mysql8 is not available"),
    ("up parameter name", ["up", "arp", "--param", "engine=mariadb"], "lab arp has no parameter 'engine'"),
    ("up lab", ["up", "nosuch"], "no lab named 'nosuch'"),
    ("images lab", ["images", "nosuch"], "no lab named 'nosuch'"),
    ("down a name and --all", ["down", "arp", "--all"], "takes a name or --all, not both"),
    ("jobs", ["run", "arp", "-j", "0"], "-j 0 is not a number of scenarios"),
    ("prefetch depth", ["run", "arp", "--prefetch", "2"], "--prefetch 2 is not 0 or 1"),
    ("shard beyond its count", ["run", "arp", "--shard", "3/2"], "--shard '3/2' is not K/N"),
    ("shard malformed", ["run", "arp", "--shard", "half"], "--shard 'half' is not K/N"),
    ("merge a folder without a report", ["report", "merge", "{tmp}", "--out", "{tmp}/m"], "cannot be read"),
    ("merge without --out", ["report", "merge", "{tmp}"], "the following arguments are required: --out"),
    ("durations of no report", ["report", "durations", "{tmp}"], "cannot read"),
    ("engines not URLs", ["run", "arp", "--engines", "build-2:2375"], "is not a Docker engine URL"),
    ("engines with a hole", ["run", "arp", "--engines", "unix:///a.sock,,tcp://b:2375"], "an empty engine"),
    ("engine silent", ["run", "arp", "--engines", "unix:///nonexistent/opslab.sock"], "does not answer"),
    ("doctor engines", ["doctor", "--engines", "http://example.org"], "is not a Docker engine URL"),
]


@pytest.mark.parametrize(("kind", "argv", "says"), BAD_INPUT, ids=[k for k, _, _ in BAD_INPUT])
@pytest.mark.usefixtures("nothing_may_start")
def test_bad_input_is_refused_before_any_lab_starts(
    kind: str, argv: list[str], says: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(tmp_path / "file.txt", "not a folder")
    write(tmp_path / "binary.steps", b"\xff\xfeold: true\n")
    write(tmp_path / "notes.txt", "old: true\n")
    write(tmp_path / "nointerp", "#!/usr/bin/env nosuchinterpreter\nexit 0\n", 0o755)
    write(tmp_path / "badhost.steps", "old: true\nnosuch: true\n")
    write(tmp_path / "badline.steps", "this is not a step\n")
    write(tmp_path / "empty.steps", "# nothing\n")
    write(tmp_path / "ok.steps", "old: true\n")
    text = refused([a.replace("{tmp}", str(tmp_path)) for a in argv], capsys)
    assert says in text, f"{kind}: {text}"


def test_a_refused_report_folder_leaves_nothing_behind(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(pytest, "main", lambda argv: pytest.fail("ran"))
        refused(["run", "arp", "--report", str(tmp_path / "a" / "b"), "--param", "nosuch=1"], capsys)
    assert list(tmp_path.iterdir()) == []


def test_list_shows_each_parameters_type_default_and_values(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    assert "delay_first_probe_s (int 0..2147483; default 3)" in out
    assert "engine (str, one of: mariadb-10.11, mariadb-11.8 (not available yet: mysql8); default mariadb-10.11)" in out
    assert "keepalive (str, a heartbeat time" in out


def test_a_reader_that_leaves_early_gets_no_traceback() -> None:
    import subprocess
    import sys

    p = subprocess.run(
        f"{sys.executable} -m lab list | head -1", shell=True, capture_output=True, text=True, timeout=60
    )
    assert p.stdout.count("\n") == 1 and "Traceback" not in p.stderr


def test_run_refuses_an_unknown_resolver_mode_before_any_lab_starts(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPSLAB_RESOLVER", "blackhol")
    assert main(["run", "arp"]) == 2
    err = capsys.readouterr().err
    assert "unknown resolver mode 'blackhol'" in err and "Hint: use one of: machine, blackhole" in err
    assert "Traceback" not in err


def test_a_report_id_with_its_parameters_runs_as_it_ran() -> None:
    from lab.catalog import split_target_params

    targets, params = split_target_params(
        ["mysql/gtid_trap[engine=mariadb-11.8]", "mysql/purged_binlog[engine=mariadb-11.8]", "mysql"], []
    )
    assert targets == ["mysql/gtid_trap", "mysql/purged_binlog", "mysql"]
    assert params == ["engine=mariadb-11.8"]
    assert split_target_params(["arp"], ["retrans_ms=500"]) == (["arp"], ["retrans_ms=500"])
