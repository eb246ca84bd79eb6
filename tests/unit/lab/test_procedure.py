import os
from pathlib import Path

import pytest

from lab.errors import UsageError
from lab.procedure import Procedure, Step, load_user_procedure


def test_render_fills_facts_and_runbook_prints_every_step() -> None:
    p = Procedure(
        "move",
        "move it",
        (Step("new", "ip addr add {vip}/24 dev eth0", "add {vip}"), Step("new", "arping -D {vip}", expect_rc=1)),
    )
    r = p.render({"vip": "10.0.0.5"})
    assert r.steps[0].command == "ip addr add 10.0.0.5/24 dev eth0"
    text = r.runbook()
    assert "1. [new] add 10.0.0.5" in text and "(expect exit 1)" in text


def test_an_unknown_fact_is_a_clear_error() -> None:
    with pytest.raises(UsageError) as e:
        Step("new", "ping {nosuch}").render({"vip": "x"})
    assert "nosuch" in e.value.message and "vip" in (e.value.hint or "")


def test_judge_checks_exit_status_and_output() -> None:
    s = Step("h", "c", expect_rc=1, expect_output="Weird MAC")
    assert s.judge(1, "arping: Weird MAC addr 1.2.3.4") == (True, "")
    assert s.judge(0, "Weird MAC")[0] is False
    assert s.judge(1, "something else")[0] is False
    assert Step("h", "c", expect_rc=None).judge(7, "")[0] is True


def test_steps_file(tmp_path: Path) -> None:
    f = tmp_path / "mine.steps"
    f.write_text("# my runbook\nold: ip addr del 10.0.0.5/24 dev eth0\n\nnew: arping -D -c1 x  # expect rc=1\n")
    p = load_user_procedure(f, ["old", "new"])
    assert [(s.host, s.expect_rc) for s in p.steps] == [("old", 0), ("new", 1)]
    assert p.steps[1].command == "arping -D -c1 x"


def test_steps_file_errors_name_the_line(tmp_path: Path) -> None:
    f = tmp_path / "bad.steps"
    f.write_text("nosuchhost: true\n")
    with pytest.raises(UsageError, match="bad.steps:1: no host 'nosuchhost'"):
        load_user_procedure(f, ["old"])
    f.write_text("just words\n")
    with pytest.raises(UsageError, match="cannot read"):
        load_user_procedure(f, ["old"])


def test_script_becomes_one_local_step(tmp_path: Path) -> None:
    f = tmp_path / "move.sh"
    f.write_text("#!/bin/sh\necho hi\n")
    p = load_user_procedure(f, ["old"])
    assert len(p.steps) == 1 and p.steps[0].local and p.steps[0].command.startswith("sh ")
    os.chmod(f, 0o755)
    assert load_user_procedure(f, ["old"]).steps[0].command == str(f.resolve())


def test_missing_or_unusable_files_are_refused(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="does not exist"):
        load_user_procedure(tmp_path / "nope.sh", [])
    f = tmp_path / "notes.txt"
    f.write_text("x")
    with pytest.raises(UsageError, match="neither executable"):
        load_user_procedure(f, [])


def test_override_names_one_procedure_or_all() -> None:
    from lab.procedure import split_override

    assert split_override("migrate_with_garp=/tmp/a.steps") == ("migrate_with_garp", "/tmp/a.steps")
    assert split_override("/tmp/a.sh") == (None, "/tmp/a.sh")
